#pragma once
// Token metering per (virtual key, provider, model): prompt, completion and
// cached tokens, requests, estimated cost, and what each cache saved.
// Exposed as Prometheus metrics and a JSON snapshot; persisted by the
// daemon through state()/restore(). Also what each key spent in its life
// and in the current UTC day, week and month, for budgets (budget_period.h).
#include <boost/json/array.hpp>

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "ai/adapter.h"
#include "ai/budget_period.h"
#include "common/clock.h"
#include "metrics/metrics.h"

namespace spectra::ai {

struct MeterTotals {
  std::int64_t requests = 0, prompt_tokens = 0, completion_tokens = 0, cached_prompt_tokens = 0, cache_write_tokens = 0;
  std::int64_t exact_hits = 0, semantic_hits = 0, saved_tokens = 0;
  double cost_usd = 0, saved_usd = 0;
};

class Meter {
 public:
  explicit Meter(metrics::Registry* registry, const Clock* clock = &SystemClock::instance())
      : registry_(registry), clock_(clock) {}
  // An upstream call's usage and cost.
  void record(const std::string& key, const std::string& provider, const std::string& model,
              const Usage& usage, double cost_usd);
  // A cache hit: the tokens (and cost) that were not spent.
  void record_hit(const std::string& key, const std::string& provider, const std::string& model,
                  bool semantic, const Usage& usage, double saved_usd);
  // What the key spent in its life, or in the current day, week or month.
  double spent(const std::string& key, BudgetPeriod period = BudgetPeriod::kTotal) const;
  MeterTotals totals(const std::string& key, const std::string& provider, const std::string& model) const;

  // The usage rows (key, provider, model, totals), as the config API shows them.
  boost::json::array snapshot() const;
  // Everything to persist: {"usage": snapshot(), "period_spend": [{key, period, spent_usd}]}.
  boost::json::object state() const;
  // From state(), or from a bare usage array (what earlier versions persisted).
  void restore(const boost::json::value& saved);

 private:
  using Key = std::tuple<std::string, std::string, std::string>;
  enum Kind { kUpstream, kExactHit, kSemanticHit, kKinds };
  // The Prometheus series of one (key, provider, model, result), resolved
  // once; the registry never frees a series, so the pointers stay valid.
  struct Series {
    metrics::Counter* requests = nullptr;
    metrics::Counter* prompt = nullptr;
    metrics::Counter* completion = nullptr;
    metrics::Counter* cached = nullptr;
    metrics::Counter* cache_write = nullptr;
    metrics::Gauge* cost = nullptr;
  };
  struct Row {
    MeterTotals totals;
    std::array<Series, kKinds> series;
  };
  // The row's series for `kind` (resolved on first use); requires mu_.
  const Series* series(const Key& k, Row& row, Kind kind);
  static void export_metrics(const Series* s, const Usage& u, double cost);

  // The ids of the current day, week and month; requires mu_.
  const std::array<std::string, 3>& current_periods() const;

  metrics::Registry* registry_;
  const Clock* clock_;
  mutable std::mutex mu_;
  std::map<Key, Row> rows_;                  // guarded by mu_
  std::map<std::string, double> spent_;      // by key; guarded by mu_
  // By key, then period id; only current periods are kept. Guarded by mu_.
  std::map<std::string, std::map<std::string, double>> period_spent_;
  mutable std::int64_t periods_day_ = -1;               // the day current_periods_ is for; guarded by mu_
  mutable std::array<std::string, 3> current_periods_;  // guarded by mu_
};

// USD per million tokens. Provider prompt caches bill their reads and
// writes apart from other input (Anthropic and Bedrock: reads 0.1x, writes
// 1.25x; OpenAI: reads 0.5x or less); unset, they cost what input costs.
struct Price {
  double input_per_mtok = 0, output_per_mtok = 0;
  double cached_input_per_mtok = 0, cache_write_per_mtok = 0;
};

// The cost of `u` at `p`: prompt tokens not served from or written to the
// provider's cache at the input price, cache reads and writes at theirs,
// completion tokens at the output price.
double cost_of(const Usage& u, const Price& p);

}  // namespace spectra::ai
