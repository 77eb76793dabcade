#include "net/health_checker.h"

#include <boost/json/object.hpp>

#include "common/log.h"

namespace spectra::net {

std::vector<ProbeTarget> probe_targets(
    const NetworkConfig& config, const std::map<std::string, std::vector<Backend>>& external) {
  std::vector<ProbeTarget> out;
  std::set<std::string> seen;
  for (const LoadBalancer& lb : config.load_balancers) {
    if (!lb.health_check.enabled) continue;
    const std::vector<Backend>* bs = &lb.backends;
    if (lb.external_backends) {
      auto it = external.find(lb.name);
      if (it == external.end()) continue;
      bs = &it->second;
    }
    for (const Backend& b : *bs) {
      ProbeTarget t{lb.name, b, lb.health_check};
      if (seen.insert(t.key()).second) out.push_back(std::move(t));
    }
  }
  return out;
}

HealthChecker::HealthChecker(Clock& clock, Prober& prober) : clock_(clock), prober_(prober) {}

void HealthChecker::set_on_change(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  on_change_ = std::move(fn);
}

void HealthChecker::set_targets(std::vector<ProbeTarget> targets) {
  std::lock_guard lock(mu_);
  std::map<std::string, State> next;
  auto now = clock_.now();
  for (auto& t : targets) {
    std::string key = t.key();
    auto it = states_.find(key);
    if (it != states_.end()) {
      State s = std::move(it->second);
      bool timing_changed =
          s.target.check.interval != t.check.interval || s.target.probe_port() != t.probe_port();
      s.target = std::move(t);
      if (timing_changed) s.next_due = now;
      next.emplace(key, std::move(s));
    } else {
      State s;
      s.target = std::move(t);
      s.generation = next_generation_++;
      s.next_due = now;
      s.changed_at = now;
      next.emplace(key, std::move(s));
    }
  }
  states_ = std::move(next);
}

std::optional<Clock::time_point> HealthChecker::poll() {
  struct Start {
    std::string key;
    std::uint64_t generation;
    std::string address;
    std::uint16_t port;
    std::chrono::milliseconds timeout;
  };
  std::vector<Start> starts;
  std::optional<Clock::time_point> next;
  {
    std::lock_guard lock(mu_);
    auto now = clock_.now();
    for (auto& [key, s] : states_) {
      if (s.next_due <= now && !s.in_flight) {
        s.in_flight = true;
        // Keep the cadence even if poll() runs late, without bursts of catch-up probes.
        s.next_due += s.target.check.interval;
        if (s.next_due <= now) s.next_due = now + s.target.check.interval;
        starts.push_back({key, s.generation, s.target.backend.address, s.target.probe_port(),
                          s.target.check.timeout});
      }
      if (!next || s.next_due < *next) next = s.next_due;
    }
  }
  // Outside the lock: a fake prober may answer synchronously.
  for (auto& st : starts) {
    prober_.probe(st.address, st.port, st.timeout,
                  [this, key = st.key, gen = st.generation](bool ok, std::string detail) {
                    on_result(key, gen, ok, std::move(detail));
                  });
  }
  return next;
}

void HealthChecker::on_result(const std::string& key, std::uint64_t generation, bool ok,
                              std::string detail) {
  std::function<void()> notify;
  {
    std::lock_guard lock(mu_);
    auto it = states_.find(key);
    if (it == states_.end() || it->second.generation != generation) return;  // target gone
    State& s = it->second;
    s.in_flight = false;
    ++s.checks;
    s.last_detail = std::move(detail);
    bool was = s.healthy;
    if (ok) {
      s.fail_streak = 0;
      if (++s.ok_streak >= s.target.check.healthy_threshold) s.healthy = true;
    } else {
      ++s.failures;
      s.ok_streak = 0;
      if (++s.fail_streak >= s.target.check.unhealthy_threshold) s.healthy = false;
    }
    if (was != s.healthy) {
      s.changed_at = clock_.now();
      log::info("load balancer backend health changed", {{"lb", s.target.lb},
                                                         {"backend", s.target.backend.key()},
                                                         {"healthy", s.healthy},
                                                         {"detail", s.last_detail}});
      notify = on_change_;
    }
  }
  if (notify) notify();
}

std::map<std::string, std::set<std::string>> HealthChecker::unhealthy() const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::set<std::string>> out;
  for (const auto& [key, s] : states_) {
    if (!s.healthy) out[s.target.lb].insert(s.target.backend.key());
  }
  return out;
}

bool HealthChecker::healthy(const std::string& lb, const std::string& backend_key) const {
  std::lock_guard lock(mu_);
  auto it = states_.find(lb + "/" + backend_key);
  return it == states_.end() || it->second.healthy;
}

boost::json::array HealthChecker::status() const {
  std::lock_guard lock(mu_);
  boost::json::array a;
  auto now = clock_.now();
  for (const auto& [key, s] : states_) {
    a.push_back(boost::json::object{
        {"lb", s.target.lb},
        {"backend", s.target.backend.key()},
        {"healthy", s.healthy},
        {"checks", s.checks},
        {"failures", s.failures},
        {"last_detail", s.last_detail},
        {"since_change_ms",
         std::chrono::duration_cast<std::chrono::milliseconds>(now - s.changed_at).count()}});
  }
  return a;
}

}  // namespace spectra::net
