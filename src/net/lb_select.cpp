#include "net/lb_select.h"

#include <algorithm>
#include <numeric>

namespace spectra::net {

SelectedBackends select_backends(const LoadBalancer& lb, const BackendFacts& facts) {
  const std::vector<Backend>* source = &lb.backends;
  static const std::vector<Backend> kNone;
  if (lb.external_backends) {
    auto it = facts.external.find(lb.name);
    source = it == facts.external.end() ? &kNone : &it->second;
  }
  std::vector<Backend> merged;
  for (const Backend& b : *source) {
    auto same = std::find_if(merged.begin(), merged.end(),
                             [&](const Backend& m) { return m.key() == b.key(); });
    if (same != merged.end()) {
      same->weight = std::min<std::uint32_t>(same->weight + b.weight, 1000);
    } else {
      merged.push_back(b);
    }
  }
  SelectedBackends out;
  out.all = merged;
  auto bad = facts.unhealthy.find(lb.name);
  if (!lb.health_check.enabled || bad == facts.unhealthy.end() || bad->second.empty()) {
    out.backends = std::move(merged);
    return out;
  }
  for (const Backend& b : merged) {
    if (!bad->second.count(b.key())) out.backends.push_back(b);
  }
  if (out.backends.empty() && !merged.empty()) {
    out.backends = std::move(merged);
    out.fail_open = true;
  }
  return out;
}

std::vector<std::size_t> weighted_slots(const std::vector<std::uint32_t>& weights, bool interleave,
                                        std::size_t max_slots) {
  std::vector<std::uint64_t> w(weights.begin(), weights.end());
  if (w.empty()) return {};
  std::uint64_t g = 0;
  for (auto x : w) g = std::gcd(g, std::max<std::uint64_t>(x, 1));
  std::uint64_t sum = 0;
  for (auto& x : w) {
    x = std::max<std::uint64_t>(x, 1) / g;
    sum += x;
  }
  if (max_slots < w.size()) max_slots = w.size();
  if (sum > max_slots) {
    std::uint64_t scaled = 0;
    for (auto& x : w) {
      x = std::max<std::uint64_t>(1, (x * max_slots) / sum);
      scaled += x;
    }
    sum = scaled;
  }
  std::vector<std::size_t> slots;
  slots.reserve(sum);
  if (!interleave) {
    for (std::size_t i = 0; i < w.size(); ++i) slots.insert(slots.end(), w[i], i);
    return slots;
  }
  // Smooth weighted round robin: each step every backend gains its weight, the
  // richest is picked and pays the total. Deterministic; ties go to the first.
  std::vector<std::int64_t> current(w.size(), 0);
  for (std::uint64_t n = 0; n < sum; ++n) {
    std::size_t best = 0;
    for (std::size_t i = 0; i < w.size(); ++i) {
      current[i] += static_cast<std::int64_t>(w[i]);
      if (current[i] > current[best]) best = i;
    }
    current[best] -= static_cast<std::int64_t>(sum);
    slots.push_back(best);
  }
  return slots;
}

}  // namespace spectra::net
