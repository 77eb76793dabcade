#pragma once
// Runs a HealthChecker on a Boost.Asio io_context: a timer that sleeps until
// the next probe is due, and TCP connect probes with a deadline. Sockets are
// opened on the io_context's threads, so they live in those threads' network
// namespace.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>

#include "net/health_checker.h"

namespace spectra::net {

class AsioTcpProber : public Prober {
 public:
  explicit AsioTcpProber(boost::asio::io_context& io);
  ~AsioTcpProber() override;
  void probe(const std::string& address, std::uint16_t port, std::chrono::milliseconds timeout,
             std::function<void(bool ok, std::string detail)> done) override;
  // After shutdown() no `done` callback runs any more (probes in flight are
  // dropped). Call it before the HealthChecker goes away.
  void shutdown();

 private:
  struct Shared;
  boost::asio::io_context& io_;
  std::shared_ptr<Shared> shared_;
};

class HealthLoop {
 public:
  // max_sleep bounds how long a new target waits for its first probe when
  // wake() is not called.
  HealthLoop(boost::asio::io_context& io, HealthChecker& checker,
             std::chrono::milliseconds max_sleep = std::chrono::milliseconds(200));
  ~HealthLoop();
  void start();
  void stop();  // synchronous: after return poll() is not called again
  void wake();  // poll soon (e.g. after set_targets)

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace spectra::net
