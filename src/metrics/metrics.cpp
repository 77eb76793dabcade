#include "metrics/metrics.h"

#include <cassert>
#include <cmath>
#include <cstdio>

namespace spectra::metrics {
namespace {

std::string format_double(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

// Joins a label set already rendered as `{a="b"}` with one more label.
std::string with_label(const std::string& rendered, const std::string& extra) {
  if (rendered.empty()) return "{" + extra + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}

}  // namespace

void Gauge::add(double d) {
  double cur = v_.load(std::memory_order_relaxed);
  while (!v_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) {
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

std::vector<std::uint64_t> Histogram::bucket_counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) out[i] = buckets_[i].load();
  return out;
}

std::vector<double> default_latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string render_labels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i) out.push_back(',');
    out += labels[i].first + "=\"" + escape_label(labels[i].second) + "\"";
  }
  out.push_back('}');
  return out;
}

Registry::Family& Registry::family(const std::string& name, const std::string& help,
                                   const char* type) {
  auto& f = families_[name];
  if (f.type.empty()) {
    f.help = help;
    f.type = type;
  }
  assert(f.type == type && "one metric name, one type");
  return f;
}

Counter& Registry::counter(const std::string& name, const std::string& help,
                           const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = family(name, help, "counter").counters[render_labels(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = family(name, help, "gauge").gauges[render_labels(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               const Labels& labels, std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  auto& slot = family(name, help, "histogram").histograms[render_labels(labels)];
  if (!slot) slot = std::make_unique<Histogram>(std::move(bounds));
  return *slot;
}

void Registry::callback_gauge(const std::string& name, const std::string& help,
                              std::function<double()> fn) {
  std::lock_guard lock(mu_);
  family(name, help, "gauge").callback = std::move(fn);
}

void Registry::callback_gauges(const std::string& name, const std::string& help, std::function<Series()> fn) {
  std::lock_guard lock(mu_);
  series_callbacks_[name] = std::make_shared<const SeriesCallback>(SeriesCallback{help, std::move(fn)});
}

void Registry::callback_counter(const std::string& name, const std::string& help,
                                std::function<double()> fn) {
  std::lock_guard lock(mu_);
  family(name, help, "counter").callback = std::move(fn);
}

std::string Registry::render() const {
  // The families computed per label set first, outside the lock (their
  // callbacks take locks of their own).
  std::vector<std::pair<std::string, std::shared_ptr<const SeriesCallback>>> computed;
  {
    std::lock_guard lock(mu_);
    computed.assign(series_callbacks_.begin(), series_callbacks_.end());
  }
  std::string tail;
  for (const auto& [name, cb] : computed) {
    tail += "# HELP " + name + " " + cb->help + "\n";
    tail += "# TYPE " + name + " gauge\n";
    for (const auto& [labels, value] : cb->fn()) tail += name + render_labels(labels) + " " + format_double(value) + "\n";
  }
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + " " + f.type + "\n";
    for (const auto& [labels, c] : f.counters) {
      out += name + labels + " " + std::to_string(c->value()) + "\n";
    }
    for (const auto& [labels, g] : f.gauges) {
      out += name + labels + " " + format_double(g->value()) + "\n";
    }
    if (f.callback) out += name + " " + format_double(f.callback()) + "\n";
    for (const auto& [labels, h] : f.histograms) {
      auto counts = h->bucket_counts();
      std::uint64_t cum = 0;
      for (std::size_t i = 0; i < counts.size(); ++i) {
        cum += counts[i];
        std::string le = i < h->bounds().size() ? format_double(h->bounds()[i]) : "+Inf";
        out += name + "_bucket" + with_label(labels, "le=\"" + le + "\"") + " " +
               std::to_string(cum) + "\n";
      }
      out += name + "_sum" + labels + " " + format_double(h->sum()) + "\n";
      out += name + "_count" + labels + " " + std::to_string(h->count()) + "\n";
    }
  }
  return out + tail;
}

}  // namespace spectra::metrics
