// The Asio TCP prober and loop against real sockets on the loopback interface.
#include "net/health_loop.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <thread>

#include "test_util.h"

namespace spectra::net {
namespace {

using std::chrono::milliseconds;

// A listening socket on 127.0.0.1 with a kernel-chosen port.
struct Listener {
  int fd = -1;
  std::uint16_t port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd, 64), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  ~Listener() { close(); }
};

struct Io {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work =
      boost::asio::make_work_guard(io);
  std::thread t{[this] { io.run(); }};
  ~Io() {
    work.reset();
    io.stop();
    t.join();
  }
};

TEST(AsioTcpProber, ConnectsAndReportsRefusal) {
  Io io;
  AsioTcpProber prober(io.io);
  Listener l;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<bool, std::string>> results;
  auto done = [&](bool ok, std::string d) {
    std::lock_guard lock(mu);
    results.emplace_back(ok, std::move(d));
    cv.notify_all();
  };
  prober.probe("127.0.0.1", l.port, milliseconds(500), done);
  std::uint16_t closed_port = l.port;
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, milliseconds(2000), [&] { return results.size() == 1; }));
  }
  l.close();
  prober.probe("127.0.0.1", closed_port, milliseconds(500), done);
  prober.probe("not-an-address", 80, milliseconds(500), done);
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, milliseconds(2000), [&] { return results.size() == 3; }));
  EXPECT_TRUE(results[0].first);
  EXPECT_FALSE(results[1].first);
  EXPECT_FALSE(results[2].first);
  prober.shutdown();
}

TEST(HealthLoop, TakesADeadBackendOutAndBack) {
  Io io;
  SteadyClock clock;
  AsioTcpProber prober(io.io);
  HealthChecker hc(clock, prober);
  auto l = std::make_unique<Listener>();
  std::uint16_t port = l->port;
  NetworkConfig c = testing::parsed_network(
      R"({"load_balancers": [{"name": "app", "listen_address": "198.18.0.10",
      "listen_port": 80, "backends": [{"address": "127.0.0.1", "port": )" +
      std::to_string(port) + R"(}],
      "health_check": {"interval_ms": 100, "timeout_ms": 50, "healthy_threshold": 1, "unhealthy_threshold": 1}}]})");
  std::mutex mu;
  std::condition_variable cv;
  int changes = 0;
  hc.set_on_change([&] {
    std::lock_guard lock(mu);
    ++changes;
    cv.notify_all();
  });
  hc.set_targets(probe_targets(c));
  HealthLoop loop(io.io, hc, milliseconds(20));
  loop.start();
  l.reset();  // the backend dies
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, milliseconds(2000), [&] { return changes == 1; }));
  }
  std::string key = "127.0.0.1:" + std::to_string(port);
  EXPECT_FALSE(hc.healthy("app", key));
  // It returns on the same port.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, milliseconds(2000), [&] { return changes == 2; }));
  }
  EXPECT_TRUE(hc.healthy("app", key));
  loop.stop();
  prober.shutdown();
  ::close(fd);
}

}  // namespace
}  // namespace spectra::net
