#include "ai/upstream_health.h"

#include <algorithm>

namespace spectra::ai {

void UpstreamHealth::set_options(const UpstreamHealthOptions& o) {
  std::lock_guard lock(mu_);
  opt_ = o;
}

bool UpstreamHealth::available(std::string_view provider, std::string_view endpoint) const {
  if (tracked_.load(std::memory_order_relaxed) == 0) return true;
  std::lock_guard lock(mu_);
  const std::string k = key(provider, endpoint);
  auto it = states_.find(k);
  return it == states_.end() || !held(k, it->second, clock_->steady_now());
}

void UpstreamHealth::set_checked(const std::vector<std::pair<std::string, std::string>>& provider_endpoints) {
  std::unordered_set<std::string> keys;
  for (const auto& [p, e] : provider_endpoints) keys.insert(key(p, e));
  std::lock_guard lock(mu_);
  checked_ = std::move(keys);
}

UpstreamHealth::CheckEffect UpstreamHealth::checked(std::string_view provider, std::string_view endpoint, bool passed,
                                                    std::string_view error) {
  if (passed && tracked_.load(std::memory_order_relaxed) == 0) return CheckEffect::kNone;
  std::lock_guard lock(mu_);
  if (!passed) return count_failure(key(provider, endpoint), /*check=*/true, error) ? CheckEffect::kEjected : CheckEffect::kNone;
  auto it = states_.find(key(provider, endpoint));
  if (it == states_.end() || clock_->steady_now() < it->second.until) return CheckEffect::kNone;
  State& s = it->second;
  if (s.ejections > 0) {  // cool-down over: the pass ends the ejection
    states_.erase(it);
    tracked_.store(states_.size(), std::memory_order_relaxed);
    return CheckEffect::kRestored;
  }
  // Checks in a row start again; failures of requests in a row still count
  // (an endpoint that answers its checks may still fail requests).
  s.check_failures = 0;
  if (s.failures == 0) {
    states_.erase(it);
    tracked_.store(states_.size(), std::memory_order_relaxed);
  }
  return CheckEffect::kNone;
}

void UpstreamHealth::success(std::string_view provider, std::string_view endpoint) {
  if (tracked_.load(std::memory_order_relaxed) == 0) return;  // the common case: nothing has failed
  std::lock_guard lock(mu_);
  states_.erase(key(provider, endpoint));
  tracked_.store(states_.size(), std::memory_order_relaxed);
}

bool UpstreamHealth::failure(std::string_view provider, std::string_view endpoint, std::string_view error) {
  std::lock_guard lock(mu_);
  return count_failure(key(provider, endpoint), /*check=*/false, error);
}

bool UpstreamHealth::count_failure(const std::string& k, bool check, std::string_view error) {
  if (opt_.max_failures <= 0) return false;
  const auto now = clock_->steady_now();
  State& s = states_[k];
  tracked_.store(states_.size(), std::memory_order_relaxed);
  s.last_error.assign(error.substr(0, 512));
  if (now < s.until) return false;  // a call that started before the ejection
  // After a cool-down one failure is enough: the endpoint has not answered
  // since it was ejected.
  const int needed = s.ejections > 0 ? 1 : opt_.max_failures;
  if (++(check ? s.check_failures : s.failures) < needed) return false;
  s.failures = 0;
  s.check_failures = 0;
  const int shift = std::min(s.ejections, 16);
  auto cool_down = opt_.ejection * (std::int64_t{1} << shift);
  s.until = now + std::min<std::chrono::milliseconds>(cool_down, std::max(opt_.max_ejection, opt_.ejection));
  ++s.ejections;
  ++ejections_total_;
  return true;
}

std::optional<UpstreamHealth::EndpointState> UpstreamHealth::state(std::string_view provider,
                                                                    std::string_view endpoint) const {
  std::lock_guard lock(mu_);
  auto it = states_.find(key(provider, endpoint));
  if (it == states_.end()) return std::nullopt;
  const State& s = it->second;
  EndpointState out;
  out.failures = std::max(s.failures, s.check_failures);
  out.ejections = s.ejections;
  const auto now = clock_->steady_now();
  if (now < s.until) out.ejected_for = std::chrono::ceil<std::chrono::milliseconds>(s.until - now);
  out.awaiting_check = now >= s.until && s.ejections > 0 && checked_.contains(it->first);
  out.last_error = s.last_error;
  return out;
}

std::size_t UpstreamHealth::ejected_now() const {
  std::lock_guard lock(mu_);
  const auto now = clock_->steady_now();
  return static_cast<std::size_t>(std::count_if(states_.begin(), states_.end(),
                                                [&](const auto& kv) { return held(kv.first, kv.second, now); }));
}

std::uint64_t UpstreamHealth::ejections() const {
  std::lock_guard lock(mu_);
  return ejections_total_;
}

}  // namespace spectra::ai
