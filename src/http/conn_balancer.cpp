#include "http/conn_balancer.h"

#include <algorithm>
#include <limits>

namespace spectra::http {

namespace {
constexpr std::uint64_t kPermilleMask = 0xffff;
}

ConnBalancer::ConnBalancer(std::span<const ThreadLoad> loads, Tuning tuning)
    : loads_(loads), tuning_(tuning), threads_(std::make_unique<PerThread[]>(loads.size())) {}

void ConnBalancer::roll(std::size_t t) {
  PerThread& th = threads_[t];
  const std::uint64_t w = loads_[t].window.load(std::memory_order_acquire);
  if (w == th.window) return;
  const bool next = w == th.window + 1;  // else windows passed without a request
  th.prev = next ? th.count : 0;
  th.out_prev = next ? th.out_cur : 0;
  th.count = 0;
  th.out_cur = 0;
  th.window = w;
}

void ConnBalancer::roll(const PerThread& th, ConnShare& c) const {
  if (c.window == th.window) return;
  c.prev = c.window + 1 == th.window ? c.count : 0;
  c.count = 0;
  c.window = th.window;
}

void ConnBalancer::count_request(std::size_t t, ConnShare& c) {
  roll(t);
  PerThread& th = threads_[t];
  roll(th, c);
  ++th.count;
  ++c.count;
}

std::uint32_t ConnBalancer::incoming(std::size_t j) const {
  const std::uint64_t w = loads_[j].window.load(std::memory_order_relaxed);
  std::uint32_t sum = 0;
  for (const auto& slot : threads_[j].incoming) {
    const std::uint64_t v = slot.load(std::memory_order_relaxed);
    const std::uint64_t vw = v >> 16;
    if (vw == w || vw + 1 == w) sum += static_cast<std::uint32_t>(v & kPermilleMask);
  }
  return sum;
}

void ConnBalancer::add_incoming(std::size_t j, std::uint32_t permille) {
  const std::uint64_t w = loads_[j].window.load(std::memory_order_relaxed);
  auto& slot = threads_[j].incoming[w & 1];
  std::uint64_t old = slot.load(std::memory_order_relaxed);
  for (;;) {
    const std::uint64_t base = (old >> 16) == w ? (old & kPermilleMask) : 0;
    const std::uint64_t sum = std::min<std::uint64_t>(base + permille, kPermilleMask);
    if (slot.compare_exchange_weak(old, (w << 16) | sum, std::memory_order_relaxed)) return;
  }
}

std::size_t ConnBalancer::move_target(std::size_t t, ConnShare& c) {
  if (!enabled()) return kStay;
  roll(t);
  PerThread& th = threads_[t];
  roll(th, c);
  if (c.prev == 0 || th.prev == 0) return kStay;  // nothing known to move
  const std::int64_t load = loads_[t].permille.load(std::memory_order_relaxed);
  if (load < tuning_.min_load_permille) return kStay;
  std::size_t best = kStay;
  std::int64_t best_load = std::numeric_limits<std::int64_t>::max();
  for (std::size_t j = 0; j < loads_.size(); ++j) {
    if (j == t) continue;
    const std::int64_t l = loads_[j].permille.load(std::memory_order_relaxed) + incoming(j);
    if (l < best_load) {
      best_load = l;
      best = j;
    }
  }
  const std::int64_t mine = load - th.out_cur - th.out_prev;
  const std::int64_t gap = mine - best_load;
  // This connection's part of the thread's load, by its part of the requests.
  const std::int64_t share = std::max<std::int64_t>(1, load * c.prev / th.prev);
  if (gap < tuning_.min_gap_permille || share >= gap) return kStay;
  th.out_cur += static_cast<std::uint32_t>(share);
  add_incoming(best, static_cast<std::uint32_t>(share));
  c = ConnShare{};
  return best;
}

}  // namespace spectra::http
