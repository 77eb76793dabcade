#pragma once
// Active health checks of in-account endpoints (vLLM replicas with a
// provider `health_check`). Each endpoint gets `GET <path>` every interval;
// a 2xx within the timeout passes, anything else fails. Failures count
// towards the endpoint's ejection like failed requests (UpstreamHealth);
// once ejected, the endpoint is checked again when its cool-down ends and
// only a pass puts it back in rotation, so no client request is spent
// finding out whether a replica is back.
//
// Checks go only to the endpoints a provider lists (only local providers
// can have them), without the provider's credentials; one thread of its
// own, checks of different endpoints run concurrently.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ai/upstream_health.h"

namespace spectra::ai {

struct HealthCheckTarget {
  std::string provider, endpoint;  // as UpstreamHealth knows it
  std::string url;                 // what is asked
  std::string ca_file;             // https: the provider's trust store
  std::chrono::milliseconds interval{5'000};
  std::chrono::milliseconds timeout{1'000};
};

class HealthProber {
 public:
  explicit HealthProber(UpstreamHealth& health);
  ~HealthProber();  // stops and joins; checks in flight are abandoned
  HealthProber(const HealthProber&) = delete;
  HealthProber& operator=(const HealthProber&) = delete;

  // Replaces what is checked; an empty list idles the thread.
  void set_targets(std::vector<HealthCheckTarget> targets);

  std::uint64_t checks() const { return checks_.load(std::memory_order_relaxed); }
  std::uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<std::uint64_t> checks_{0}, failed_{0};
};

}  // namespace spectra::ai
