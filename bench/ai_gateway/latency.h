#pragma once
// Exact latency percentiles: every sample is kept (a run is bounded in
// count, a few MB at most) and sorted once at the end, so there is no
// histogram bucketing error to reason about.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace spectra::bench {

class LatencyRecorder {
 public:
  void reserve(std::size_t n) { ns_.reserve(n); }
  void add(std::int64_t ns) { ns_.push_back(ns < 0 ? 0 : ns); }
  std::size_t count() const { return ns_.size(); }
  void merge(const LatencyRecorder& o) { ns_.insert(ns_.end(), o.ns_.begin(), o.ns_.end()); }

  // Call once after the last add(); then quantiles are O(1).
  void finish() {
    std::sort(ns_.begin(), ns_.end());
    sorted_ = true;
  }
  // The q-quantile (0 < q <= 1) in milliseconds, nearest-rank; -1 if empty.
  double quantile_ms(double q) const {
    if (ns_.empty() || !sorted_) return -1;
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(ns_.size())));
    rank = std::clamp<std::size_t>(rank, 1, ns_.size());
    return static_cast<double>(ns_[rank - 1]) / 1e6;
  }
  double max_ms() const { return ns_.empty() ? -1 : static_cast<double>(ns_.back()) / 1e6; }

 private:
  std::vector<std::int64_t> ns_;
  bool sorted_ = false;
};

}  // namespace spectra::bench
