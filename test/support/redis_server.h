#pragma once
// A real redis-server for tests: started on a free loopback port, with no
// persistence, and stopped (SIGTERM, then SIGKILL) when the object goes,
// also when the test fails. If the test process itself dies, the kernel
// kills the server (PR_SET_PDEATHSIG). redis-server comes from
// scripts/install-deps; when it is missing, start() fails the test with a
// message that says so.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace spectra::testing {

// A loopback port nobody listens on right now (bound to port 0, then
// released): callers must cope with losing a race for it.
inline std::uint16_t pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

// Connects to 127.0.0.1:port within `wait`; -1 when it cannot.
inline int connect_loopback(std::uint16_t port, std::chrono::milliseconds wait) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t elen = sizeof err;
    if (errno != EINPROGRESS || ::poll(&p, 1, static_cast<int>(wait.count())) != 1 ||
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
      ::close(fd);
      return -1;
    }
  }
  ::fcntl(fd, F_SETFL, 0);  // blocking again; reads use poll() for their bound
  return fd;
}

class RedisServer {
 public:
  struct Options {
    std::vector<std::string> extra_args;  // e.g. {"--requirepass", "secret"}
    // Serve TLS only: the port goes to --tls-port and --port is 0; the
    // certificate arguments come in extra_args. Readiness is then "accepts
    // TCP", as a plain PING cannot be sent.
    bool tls = false;
    std::string password;  // for command(): AUTH first
  };

  RedisServer() : RedisServer(Options{}) {}
  explicit RedisServer(Options options) : options_(std::move(options)) {
    dir_ = std::filesystem::temp_directory_path() /
           ("spectra-redis-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(dir_);
  }
  ~RedisServer() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts on a free port (retrying on a lost race for it), or on the port
  // it had before, after stop(). Waits (bounded) until it answers.
  [[nodiscard]] bool start() {
    const std::string binary = find_binary();
    if (binary.empty()) {
      ADD_FAILURE() << "redis-server is not installed (PATH="
                    << (std::getenv("PATH") ? std::getenv("PATH") : "")
                    << "): run scripts/install-deps";
      return false;
    }
    const bool fixed_port = port_ != 0;
    for (int attempt = 0; attempt < (fixed_port ? 1 : 5); ++attempt) {
      if (!fixed_port) port_ = pick_free_port();
      if (port_ == 0) continue;
      if (launch(binary) && wait_ready()) return true;
      stop();
    }
    ADD_FAILURE() << "redis-server did not start on port " << port_ << "; its log:\n" << log();
    return false;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    if (!reap(std::chrono::seconds(3))) {
      ::kill(pid_, SIGKILL);
      reap(std::chrono::seconds(5));
    }
    pid_ = -1;
  }

  bool running() const { return pid_ > 0; }
  std::uint16_t port() const { return port_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::string url(int db = 0) const {
    return std::string(options_.tls ? "rediss" : "redis") +
           "://127.0.0.1:" + std::to_string(port_) + (db ? "/" + std::to_string(db) : "");
  }

  std::string log() const {
    std::ifstream f(dir_ / "redis.log");
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }

  // Sends commands on one plain connection (AUTH first when the server has
  // a password) and returns each raw reply, e.g. "$5\r\nvalue\r\n". For
  // setting up and checking what the code under test stored. Bounded: an
  // empty vector after 5 s without an answer.
  std::vector<std::string> commands(const std::vector<std::vector<std::string>>& cmds) const {
    std::vector<std::vector<std::string>> all;
    if (!options_.password.empty()) all.push_back({"AUTH", options_.password});
    all.insert(all.end(), cmds.begin(), cmds.end());
    std::string wire;
    for (const auto& c : all) {
      wire += "*" + std::to_string(c.size()) + "\r\n";
      for (const auto& a : c) wire += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
    }
    int fd = connect_loopback(port_, std::chrono::seconds(2));
    if (fd < 0) return {};
    ::send(fd, wire.data(), wire.size(), MSG_NOSIGNAL);
    std::string in;
    std::vector<std::string> replies;
    std::size_t pos = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (replies.size() < all.size()) {
      std::size_t end = pos;
      if (complete_reply(in, end)) {
        replies.push_back(in.substr(pos, end - pos));
        pos = end;
        continue;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) break;
      char buf[65536];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    if (replies.size() < all.size()) return {};
    if (!options_.password.empty()) replies.erase(replies.begin());
    return replies;
  }
  std::string command(const std::vector<std::string>& cmd) const {
    auto r = commands({cmd});
    return r.empty() ? std::string() : r.front();
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }

  static std::string find_binary() {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
    std::string d;
    while (std::getline(dirs, d, ':')) {
      const std::string p = (d.empty() ? "." : d) + "/redis-server";
      if (::access(p.c_str(), X_OK) == 0) return p;
    }
    return {};
  }

  // A reply from `pos` is complete in `in`; moves `pos` past it.
  static bool complete_reply(const std::string& in, std::size_t& pos) {
    const std::size_t eol = in.find("\r\n", pos);
    if (eol == std::string::npos) return false;
    const char type = in[pos];
    const long long n = (type == '$' || type == '*') ? std::atoll(in.c_str() + pos + 1) : 0;
    std::size_t p = eol + 2;
    if (type == '$' && n >= 0) {
      if (in.size() < p + static_cast<std::size_t>(n) + 2) return false;
      p += static_cast<std::size_t>(n) + 2;
    } else if (type == '*') {
      for (long long i = 0; i < n; ++i) {
        if (!complete_reply(in, p)) return false;
      }
    }
    pos = p;
    return true;
  }

  bool launch(const std::string& binary) {
    std::vector<std::string> args = {
        binary,      "--save",      "",   "--appendonly", "no",          "--bind",
        "127.0.0.1", "--daemonize", "no", "--dir",        dir_.string(), "--logfile",
        "",          "--databases", "16"};
    if (options_.tls) {
      args.insert(args.end(), {"--port", "0", "--tls-port", std::to_string(port_)});
    } else {
      args.insert(args.end(), {"--port", std::to_string(port_)});
    }
    args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log_path = (dir_ / "redis.log").string();
    const pid_t parent = ::getpid();
    // Only async-signal-safe calls between fork and exec: the test process
    // has threads.
    pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(126);
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    pid_ = pid;
    return true;
  }

  // Until it answers PING (TLS: accepts TCP), or exits, or 10 s pass.
  bool wait_ready() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;  // exited: the port was taken, or bad arguments
        return false;
      }
      if (options_.tls) {
        int fd = connect_loopback(port_, std::chrono::milliseconds(200));
        if (fd >= 0) {
          ::close(fd);
          return true;
        }
      } else {
        const std::string pong = command({"PING"});
        if (pong == "+PONG\r\n") return true;
      }
      std::this_thread::sleep_for(
          std::chrono::milliseconds(10));  // polling a process we cannot be told about
    }
    return false;
  }

  bool reap(std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || r < 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  Options options_;
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace spectra::testing
