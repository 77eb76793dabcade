#pragma once
// A raw TCP exchange with a server on loopback, for tests that must see the
// bytes on the wire (malformed requests, chunk framing, when the first event
// arrives): connect to 127.0.0.1:port, send `bytes`, read until the peer
// closes or `wait` passes without data.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace spectra::testing {

struct RawTcpOptions {
  std::chrono::milliseconds wait{5000};  // per read
  bool half_close = false;               // shut down our sending side after `bytes`
  // Called after each read with everything read so far.
  std::function<void(const std::string&)> on_read;
};

inline std::string raw_tcp_exchange(std::uint16_t port, std::string_view bytes, const RawTcpOptions& opt = {}) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  timeval tv{static_cast<time_t>(opt.wait.count() / 1000), static_cast<suseconds_t>((opt.wait.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (!bytes.empty()) ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  if (opt.half_close) ::shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (opt.on_read) opt.on_read(out);
  }
  ::close(fd);
  return out;
}

}  // namespace spectra::testing
