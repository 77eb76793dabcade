#pragma once
// Passive health of upstream endpoints (outlier ejection, as Envoy's
// consecutive gateway failures or LiteLLM's cool-downs). An endpoint that
// failed `max_failures` times in a row (no connection, a timeout, a 5xx or
// 429, a broken answer) is ejected for a cool-down; while it lasts, requests
// go to the provider's other endpoints or to the route's next target
// instead of paying the failure (a blackholed host costs the whole connect
// timeout) before failing over. Cool-downs double with each ejection in a
// row, up to `max_ejection`. When one ends the endpoint is tried again: a
// success restores it, one more failure ejects it again for longer.
//
// An endpoint with an active health check (HealthProber) is not given a
// client request to find out whether it is back: when its cool-down ends
// it waits for its next check, and only a passing check restores it.
//
// An ejected endpoint is still used when nothing else is left (the
// caller's decision; see Gateway::upstream): ejection reorders, it never
// refuses a request that could have been tried.
//
// Endpoints are keyed by provider name and base URL. Thread-safe; while
// nothing has failed (the usual state) every call is one atomic load.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/clock.h"

namespace spectra::ai {

struct UpstreamHealthOptions {
  int max_failures = 3;  // in a row; 0 turns ejection off
  std::chrono::milliseconds ejection{5'000};
  std::chrono::milliseconds max_ejection{60'000};
};

class UpstreamHealth {
 public:
  explicit UpstreamHealth(const Clock* clock) : clock_(clock) {}

  // Takes effect for later failures; endpoints ejected now stay so.
  void set_options(const UpstreamHealthOptions& o);

  // False while the endpoint is ejected.
  bool available(std::string_view provider, std::string_view endpoint) const;
  // The outcome of a call to the endpoint.
  void success(std::string_view provider, std::string_view endpoint);
  // True when this failure ejected the endpoint. `error` is kept for
  // state() (the last one).
  bool failure(std::string_view provider, std::string_view endpoint, std::string_view error = {});

  // The endpoints with an active health check (replaces the previous set).
  void set_checked(const std::vector<std::pair<std::string, std::string>>& provider_endpoints);
  // The outcome of a health check. `max_failures` failed checks in a row
  // eject, as failed requests do (the two are counted apart: a passing
  // check does not clear failures of requests, since an endpoint that
  // answers its checks may still fail requests). A pass restores an
  // ejected endpoint whose cool-down is over; an ejection stands for its
  // whole cool-down.
  enum class CheckEffect { kNone, kEjected, kRestored };
  CheckEffect checked(std::string_view provider, std::string_view endpoint, bool passed, std::string_view error = {});

  // What is known of an endpoint that failed since its last success;
  // nullopt for a healthy one.
  struct EndpointState {
    int failures = 0;   // in a row (of requests or of checks, the larger), since the last ejection
    int ejections = 0;  // in a row
    std::chrono::milliseconds ejected_for{0};  // left of the cool-down; 0 when not ejected
    bool awaiting_check = false;  // cool-down over; out of rotation until a health check passes
    std::string last_error;
  };
  std::optional<EndpointState> state(std::string_view provider, std::string_view endpoint) const;

  std::size_t ejected_now() const;
  std::uint64_t ejections() const;

 private:
  struct State {
    int failures = 0;        // of requests, in a row
    int check_failures = 0;  // of health checks, in a row
    int ejections = 0;  // in a row, for the back-off
    std::chrono::steady_clock::time_point until{};
    std::string last_error;
  };
  static std::string key(std::string_view provider, std::string_view endpoint) {
    std::string k;
    k.reserve(provider.size() + 1 + endpoint.size());
    return k.append(provider).append(1, ' ').append(endpoint);
  }
  // Counts a failure of a request or a check; true when it ejects. mu_ held.
  bool count_failure(const std::string& k, bool check, std::string_view error);
  // Out of rotation: cooling down, or (actively checked) waiting for a pass.
  bool held(const std::string& k, const State& s, std::chrono::steady_clock::time_point now) const {
    return now < s.until || (s.ejections > 0 && checked_.contains(k));
  }
  const Clock* clock_;
  std::atomic<std::size_t> tracked_{0};  // states_.size(): the lock-free "all healthy"
  mutable std::mutex mu_;
  UpstreamHealthOptions opt_;                      // guarded by mu_
  std::unordered_map<std::string, State> states_;  // guarded by mu_; only endpoints that failed
  std::uint64_t ejections_total_ = 0;              // guarded by mu_
  std::unordered_set<std::string> checked_;        // guarded by mu_; keys with an active health check
};

}  // namespace spectra::ai
