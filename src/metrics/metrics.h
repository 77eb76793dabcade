#pragma once
// A small Prometheus-text metrics registry. Counters and gauges are atomics;
// series are created once (under a lock) and then updated lock-free, so the
// hot path costs one relaxed atomic add.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace spectra::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(std::uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class Gauge {
 public:
  void set(double v) { v_.store(v, std::memory_order_relaxed); }
  void add(double d);
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Fixed-bucket histogram (seconds). Buckets are cumulative on render.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  std::vector<std::uint64_t> bucket_counts() const;
  const std::vector<double>& bounds() const { return bounds_; }
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

std::vector<double> default_latency_buckets();

class Registry {
 public:
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, const Labels& labels = {},
                       std::vector<double> bounds = default_latency_buckets());
  // A gauge computed at scrape time (e.g. uptime, store size).
  void callback_gauge(const std::string& name, const std::string& help,
                      std::function<double()> fn);
  // A family of gauges computed at scrape time, one series per label set
  // the callback returns (say, one per virtual key). The callback runs
  // without the registry's lock, so it may take locks of its own (and
  // those locks' holders may create series meanwhile).
  using Series = std::vector<std::pair<Labels, double>>;
  void callback_gauges(const std::string& name, const std::string& help, std::function<Series()> fn);
  // A counter kept elsewhere, read at scrape time (it must only grow).
  void callback_counter(const std::string& name, const std::string& help,
                        std::function<double()> fn);

  // Prometheus text exposition format 0.0.4.
  std::string render() const;

 private:
  struct Family {
    std::string help;
    std::string type;
    std::map<std::string, std::unique_ptr<Counter>> counters;  // by rendered label set
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
    std::function<double()> callback;
  };
  Family& family(const std::string& name, const std::string& help, const char* type);

  struct SeriesCallback {
    std::string help;
    std::function<Series()> fn;
  };

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;  // guarded by mu_
  std::map<std::string, std::shared_ptr<const SeriesCallback>> series_callbacks_;  // guarded by mu_
};

std::string render_labels(const Labels& labels);

}  // namespace spectra::metrics
