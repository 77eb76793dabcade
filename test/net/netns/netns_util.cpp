#include "netns/netns_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace spectra::net::testing {
namespace {

std::atomic<int> g_lab_counter{0};

sockaddr_in endpoint(const std::string& address, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, address.c_str(), &a.sin_addr);
  return a;
}

int run(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string lab_script() { return std::string(SPECTRA_SOURCE_DIR) + "/scripts/lab"; }

// Reads until '\n' or the deadline.
Result<std::string> read_line(int fd, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out;
  char buf[256];
  while (out.find('\n') == std::string::npos) {
    auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status(Code::kDeadlineExceeded, "timeout");
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) return unavailable("closed");
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return unavailable(errno == ECONNREFUSED ? "refused" : std::strerror(errno));
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out.substr(0, out.find('\n'));
}

// Socket in `ns`, connected (non-blocking connect bounded by timeout).
Result<int> connect_in(const std::string& ns, const std::string& address, std::uint16_t port,
                       const ConnectOptions& opt) {
  int fd;
  {
    NetnsScope scope(ns);
    if (!scope.ok()) return io_error("setns " + ns);
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  }
  if (fd < 0) return io_error(std::string("socket: ") + std::strerror(errno));
  if (!opt.bind_address.empty()) {
    sockaddr_in b = endpoint(opt.bind_address, 0);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&b), sizeof b) != 0) {
      ::close(fd);
      return io_error(std::string("bind: ") + std::strerror(errno));
    }
  }
  sockaddr_in a = endpoint(address, port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
    int e = errno;
    ::close(fd);
    return e == ECONNREFUSED ? unavailable("refused") : io_error(std::strerror(e));
  }
  pollfd p{fd, POLLOUT, 0};
  int r;
  do {
    r = ::poll(&p, 1, static_cast<int>(opt.timeout.count()));
  } while (r < 0 && errno == EINTR);
  if (r == 0) {
    ::close(fd);
    return Status(Code::kDeadlineExceeded, "timeout");
  }
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    ::close(fd);
    return err == ECONNREFUSED ? unavailable("refused") : io_error(std::strerror(err));
  }
  return fd;
}

}  // namespace

bool running_as_root() { return ::geteuid() == 0; }

NetnsScope::NetnsScope(const std::string& name) {
  saved_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int target = ::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  if (saved_ >= 0 && target >= 0) ok_ = ::setns(target, CLONE_NEWNET) == 0;
  if (target >= 0) ::close(target);
}

NetnsScope::~NetnsScope() {
  if (saved_ >= 0) {
    if (ok_ && ::setns(saved_, CLONE_NEWNET) != 0)
      std::abort();  // never leave a thread in a test namespace
    ::close(saved_);
  }
}

Lab::Lab() {
  prefix_ = "sgt" + std::to_string(::getpid()) + "x" + std::to_string(g_lab_counter++) + "-";
}

Lab::~Lab() { down(); }

Status Lab::up() {
  int rc = run(lab_script() + " up --bare --prefix " + prefix_ + " >/dev/null");
  if (rc != 0) return io_error("scripts/lab up failed with " + std::to_string(rc));
  is_up_ = true;
  return {};
}

void Lab::down() {
  // Always attempted: a half-made lab is cleaned up too.
  run(lab_script() + " down --prefix " + prefix_ + " >/dev/null 2>&1");
  is_up_ = false;
}

void Lab::collect_garbage() { run(lab_script() + " gc >/dev/null 2>&1"); }

TcpServer::TcpServer(std::string ns, std::string address, std::uint16_t port, std::string id,
                     Mode mode)
    : ns_(std::move(ns)),
      address_(std::move(address)),
      id_(std::move(id)),
      port_(port),
      mode_(mode) {}

TcpServer::~TcpServer() { stop(); }

Status TcpServer::start() {
  stop();
  {
    NetnsScope scope(ns_);
    if (!scope.ok()) return io_error("setns " + ns_);
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  }
  if (fd_ < 0) return io_error("socket");
  int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = endpoint(address_, port_);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 512) != 0) {
    int e = errno;
    ::close(fd_);
    fd_ = -1;
    return io_error("bind/listen " + address_ + ":" + std::to_string(port_) + ": " +
                    std::strerror(e));
  }
  stop_ = false;
  thread_ = std::thread([this] { loop(); });
  return {};
}

void TcpServer::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  std::vector<std::thread> echoes;
  {
    std::lock_guard lock(mu_);
    echoes.swap(echo_threads_);
  }
  for (auto& t : echoes) t.join();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void TcpServer::loop() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    int c = ::accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
    if (c < 0) continue;
    ++accepted_;
    char ip[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
    if (mode_ == Mode::kHello) {
      std::string line = id_ + " " + ip + "\n";
      (void)!::send(c, line.data(), line.size(), MSG_NOSIGNAL);
      ::close(c);
      continue;
    }
    std::lock_guard lock(mu_);
    if (echo_threads_.size() >= 16) {  // bounded
      ::close(c);
      continue;
    }
    echo_threads_.emplace_back([this, c] {
      char buf[512];
      while (!stop_) {
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 20) <= 0) continue;
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        (void)!::send(c, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL);
      }
      ::close(c);
    });
  }
}

Result<std::string> tcp_hello(const std::string& ns, const std::string& address, std::uint16_t port,
                              const ConnectOptions& opt) {
  auto fd = connect_in(ns, address, port, opt);
  if (!fd.ok()) return fd.status();
  auto line = read_line(*fd, opt.timeout);
  ::close(*fd);
  return line;
}

Result<std::unique_ptr<TcpConn>> TcpConn::open(const std::string& ns, const std::string& address,
                                               std::uint16_t port, milliseconds timeout) {
  auto fd = connect_in(ns, address, port, ConnectOptions{"", timeout});
  if (!fd.ok()) return fd.status();
  return std::unique_ptr<TcpConn>(new TcpConn(*fd));
}

TcpConn::~TcpConn() { ::close(fd_); }

Result<std::string> TcpConn::round_trip(const std::string& line, milliseconds timeout) {
  std::string msg = line + "\n";
  if (::send(fd_, msg.data(), msg.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size())) {
    return unavailable(std::string("send: ") + std::strerror(errno));
  }
  return read_line(fd_, timeout);
}

}  // namespace spectra::net::testing
