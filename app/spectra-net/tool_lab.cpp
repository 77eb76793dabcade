// The lab's demo TCP server and client, and the benchmark's connection-rate
// client. Plain blocking sockets; every wait has a timeout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>
#include <vector>

#include "tool.h"

namespace spectra::net::tool {
namespace {

bool endpoint(const std::string& addr, const std::string& port, sockaddr_in* out) {
  *out = sockaddr_in{};
  out->sin_family = AF_INET;
  int p = std::atoi(port.c_str());
  if (p <= 0 || p > 65535) return false;
  out->sin_port = htons(static_cast<std::uint16_t>(p));
  return inet_pton(AF_INET, addr.c_str(), &out->sin_addr) == 1;
}

// One connection: connect, read the server's line, close.
bool hello(const sockaddr_in& a, std::string* line) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  if (ok) {
    char buf[256];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    ok = n > 0;
    if (ok && line) {
      line->assign(buf, static_cast<std::size_t>(n));
      while (!line->empty() && line->back() == '\n') line->pop_back();
    }
  }
  // Close with a reset, not a FIN: no TIME_WAIT on either side, so a
  // connection-rate run is not throttled by ports still held from earlier ones.
  linger lg{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  ::close(fd);
  return ok;
}

}  // namespace

int cmd_serve(const Args& a) {
  sockaddr_in addr;
  if (!endpoint(a[0], a[1], &addr)) {
    std::cerr << "serve: bad address or port\n";
    return 2;
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 4096) != 0) {
    std::cerr << "serve: " << std::strerror(errno) << "\n";
    return 1;
  }
  for (;;) {
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    int c = ::accept4(fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
    if (c < 0) continue;
    char ip[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
    std::string reply = a[2] + " " + ip + "\n";
    (void)!::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
    ::close(c);
  }
}

int cmd_connect(const Args& a) {
  sockaddr_in addr;
  if (!endpoint(a[0], a[1], &addr)) return 2;
  std::string line;
  if (!hello(addr, &line)) {
    std::cerr << "connect: no answer from " << a[0] << ":" << a[1] << "\n";
    return 1;
  }
  std::cout << line << "\n";
  return 0;
}

// New connections per second: PARALLEL workers open, read and close
// connections back to back for SECONDS (at most 60).
int cmd_connrate(const Args& a) {
  sockaddr_in addr;
  if (!endpoint(a[0], a[1], &addr)) return 2;
  double seconds = std::min(60.0, std::max(0.5, std::atof(a[2].c_str())));
  int parallel = std::min(64, std::max(1, std::atoi(a[3].c_str())));
  std::atomic<std::uint64_t> ok{0}, failed{0};
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + std::chrono::duration<double>(seconds);
  std::vector<std::thread> workers;
  for (int i = 0; i < parallel; ++i) {
    workers.emplace_back([&] {
      while (std::chrono::steady_clock::now() < deadline) {
        if (hello(addr, nullptr))
          ++ok;
        else
          ++failed;
      }
    });
  }
  for (auto& w : workers) w.join();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "{\"connections\": " << ok.load() << ", \"failures\": " << failed.load()
            << ", \"seconds\": " << elapsed
            << ", \"per_second\": " << static_cast<double>(ok.load()) / elapsed << "}\n";
  return failed.load() > ok.load() / 100 ? 1 : 0;
}

}  // namespace spectra::net::tool
