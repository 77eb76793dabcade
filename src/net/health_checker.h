#pragma once
// Active TCP health checks of load-balancer backends. The checker is a state
// machine driven by poll(); the clock and the probe are interfaces, so unit
// tests step time by hand and never sleep. health_loop.h runs it on Asio.
//
// Thresholds: a healthy backend turns unhealthy after `unhealthy_threshold`
// failed probes in a row, and back after `healthy_threshold` good ones. New
// backends start healthy (traffic flows at once; the first failing probe
// series takes them out). Probes start every `interval`; one is in flight per
// backend at most (the schema keeps timeout < interval).
#include <boost/json/array.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "net/network_config.h"

namespace spectra::net {

class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual time_point now() const = 0;
};

class SteadyClock : public Clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
};

class Prober {
 public:
  virtual ~Prober() = default;
  // Starts one TCP connect check; `done` runs exactly once, on any thread.
  virtual void probe(const std::string& address, std::uint16_t port,
                     std::chrono::milliseconds timeout,
                     std::function<void(bool ok, std::string detail)> done) = 0;
};

struct ProbeTarget {
  std::string lb;
  Backend backend;
  HealthCheck check;
  std::string key() const { return lb + "/" + backend.key(); }
  std::uint16_t probe_port() const { return check.port ? check.port : backend.port; }
};

// The targets to probe for a config (load balancers with checks enabled) and
// the backend sets an external source supplied.
std::vector<ProbeTarget> probe_targets(
    const NetworkConfig& config, const std::map<std::string, std::vector<Backend>>& external = {});

class HealthChecker {
 public:
  HealthChecker(Clock& clock, Prober& prober);

  // Called (outside the lock, on the thread that delivered the probe result)
  // whenever a backend changes between healthy and unhealthy.
  void set_on_change(std::function<void()> fn);

  // Replaces the target set; backends already known keep their state.
  void set_targets(std::vector<ProbeTarget> targets);

  // Starts every probe that is due now; returns when the next one is due.
  std::optional<Clock::time_point> poll();

  // Unhealthy backend keys ("addr:port") by load balancer name.
  std::map<std::string, std::set<std::string>> unhealthy() const;
  bool healthy(const std::string& lb, const std::string& backend_key) const;

  // [{lb, backend, healthy, checks, failures, last_detail, changed_at_ms}]
  boost::json::array status() const;

 private:
  struct State {
    ProbeTarget target;
    bool healthy = true;
    int ok_streak = 0;
    int fail_streak = 0;
    bool in_flight = false;
    std::uint64_t generation = 0;  // bumps when the target is replaced
    Clock::time_point next_due{};
    Clock::time_point changed_at{};
    std::uint64_t checks = 0;
    std::uint64_t failures = 0;
    std::string last_detail;
  };
  void on_result(const std::string& key, std::uint64_t generation, bool ok, std::string detail);

  Clock& clock_;
  Prober& prober_;
  mutable std::mutex mu_;
  std::map<std::string, State> states_;  // guarded by mu_
  std::uint64_t next_generation_ = 1;    // guarded by mu_
  std::function<void()> on_change_;      // guarded by mu_
};

}  // namespace spectra::net
