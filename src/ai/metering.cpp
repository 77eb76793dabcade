#include "ai/metering.h"

#include <boost/json/object.hpp>

#include <algorithm>

namespace spectra::ai {

namespace bj = boost::json;

double cost_of(const Usage& u, const Price& p) {
  const std::int64_t cached = std::clamp<std::int64_t>(u.cached_prompt_tokens, 0, u.prompt_tokens);
  const std::int64_t written = std::clamp<std::int64_t>(u.cache_write_tokens, 0, u.prompt_tokens - cached);
  const std::int64_t plain = u.prompt_tokens - cached - written;
  return (static_cast<double>(plain) * p.input_per_mtok + static_cast<double>(cached) * p.cached_input_per_mtok +
          static_cast<double>(written) * p.cache_write_per_mtok +
          static_cast<double>(u.completion_tokens) * p.output_per_mtok) /
         1e6;
}

const Meter::Series* Meter::series(const Key& k, Row& row, Kind kind) {
  if (!registry_) return nullptr;
  Series& s = row.series[kind];
  if (s.requests) return &s;
  static constexpr const char* kResult[] = {"upstream", "exact_hit", "semantic_hit"};
  metrics::Labels l{{"key", std::get<0>(k)}, {"provider", std::get<1>(k)}, {"model", std::get<2>(k)}, {"result", kResult[kind]}};
  s.prompt = &registry_->counter("spectra_ai_prompt_tokens_total", "Prompt tokens (upstream-reported; for hits: tokens saved)", l);
  s.completion = &registry_->counter("spectra_ai_completion_tokens_total", "Completion tokens (upstream-reported; for hits: tokens saved)", l);
  s.cached = &registry_->counter("spectra_ai_cached_prompt_tokens_total", "Prompt tokens the provider served from its own cache", l);
  s.cache_write = &registry_->counter("spectra_ai_cache_write_prompt_tokens_total",
                                      "Prompt tokens the provider wrote to its own cache (billed above input)", l);
  s.cost = &registry_->gauge("spectra_ai_cost_usd_total", "Estimated cost (upstream calls) or savings (cache hits) in USD", l);
  s.requests = &registry_->counter("spectra_ai_requests_total", "AI requests by key, provider, model and result", l);
  return &s;
}

void Meter::export_metrics(const Series* s, const Usage& u, double cost) {
  if (!s) return;
  s->requests->inc();
  if (u.prompt_tokens > 0) s->prompt->inc(static_cast<std::uint64_t>(u.prompt_tokens));
  if (u.completion_tokens > 0) s->completion->inc(static_cast<std::uint64_t>(u.completion_tokens));
  if (u.cached_prompt_tokens > 0) s->cached->inc(static_cast<std::uint64_t>(u.cached_prompt_tokens));
  if (u.cache_write_tokens > 0) s->cache_write->inc(static_cast<std::uint64_t>(u.cache_write_tokens));
  if (cost > 0) s->cost->add(cost);
}

void Meter::record(const std::string& key, const std::string& provider, const std::string& model,
                   const Usage& u, double cost) {
  Key k{key, provider, model};
  const Series* s;
  {
    std::lock_guard lock(mu_);
    Row& r = rows_[k];
    MeterTotals& t = r.totals;
    ++t.requests;
    t.prompt_tokens += u.prompt_tokens;
    t.completion_tokens += u.completion_tokens;
    t.cached_prompt_tokens += u.cached_prompt_tokens;
    t.cache_write_tokens += u.cache_write_tokens;
    t.cost_usd += cost;
    spent_[key] += cost;
    if (cost > 0) {
      auto& by_period = period_spent_[key];
      const auto& now = current_periods();
      std::erase_if(by_period, [&](const auto& kv) { return kv.first != now[0] && kv.first != now[1] && kv.first != now[2]; });
      for (const auto& id : now) by_period[id] += cost;
    }
    s = series(k, r, kUpstream);
  }
  export_metrics(s, u, cost);
}

void Meter::record_hit(const std::string& key, const std::string& provider, const std::string& model,
                       bool semantic, const Usage& u, double saved) {
  Key k{key, provider, model};
  const Series* s;
  {
    std::lock_guard lock(mu_);
    Row& r = rows_[k];
    MeterTotals& t = r.totals;
    ++t.requests;
    (semantic ? t.semantic_hits : t.exact_hits) += 1;
    t.saved_tokens += u.prompt_tokens + u.completion_tokens;
    t.saved_usd += saved;
    s = series(k, r, semantic ? kSemanticHit : kExactHit);
  }
  export_metrics(s, u, saved);
}

const std::array<std::string, 3>& Meter::current_periods() const {
  const auto t = clock_->system_now();
  const std::int64_t day = std::chrono::floor<std::chrono::days>(t).time_since_epoch().count();
  if (day != periods_day_) {
    periods_day_ = day;
    current_periods_ = {budget_period_at(BudgetPeriod::kDaily, t).id, budget_period_at(BudgetPeriod::kWeekly, t).id,
                        budget_period_at(BudgetPeriod::kMonthly, t).id};
  }
  return current_periods_;
}

double Meter::spent(const std::string& key, BudgetPeriod period) const {
  std::lock_guard lock(mu_);
  if (period == BudgetPeriod::kTotal) {
    auto it = spent_.find(key);
    return it == spent_.end() ? 0.0 : it->second;
  }
  auto it = period_spent_.find(key);
  if (it == period_spent_.end()) return 0.0;
  const auto& now = current_periods();
  const std::string& id = now[period == BudgetPeriod::kDaily ? 0 : period == BudgetPeriod::kWeekly ? 1 : 2];
  auto p = it->second.find(id);
  return p == it->second.end() ? 0.0 : p->second;
}

MeterTotals Meter::totals(const std::string& key, const std::string& provider, const std::string& model) const {
  std::lock_guard lock(mu_);
  auto it = rows_.find(Key{key, provider, model});
  return it == rows_.end() ? MeterTotals{} : it->second.totals;
}

bj::array Meter::snapshot() const {
  std::lock_guard lock(mu_);
  bj::array out;
  for (const auto& [k, r] : rows_) {
    const MeterTotals& t = r.totals;
    out.push_back(bj::object{{"key", std::get<0>(k)}, {"provider", std::get<1>(k)}, {"model", std::get<2>(k)},
                             {"requests", t.requests}, {"prompt_tokens", t.prompt_tokens},
                             {"completion_tokens", t.completion_tokens}, {"cached_prompt_tokens", t.cached_prompt_tokens},
                             {"cache_write_tokens", t.cache_write_tokens}, {"exact_hits", t.exact_hits}, {"semantic_hits", t.semantic_hits},
                             {"saved_tokens", t.saved_tokens}, {"cost_usd", t.cost_usd}, {"saved_usd", t.saved_usd}});
  }
  return out;
}

bj::object Meter::state() const {
  bj::array periods;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, by_period] : period_spent_) {
      for (const auto& [id, usd] : by_period) periods.push_back(bj::object{{"key", key}, {"period", id}, {"spent_usd", usd}});
    }
  }
  return bj::object{{"usage", snapshot()}, {"period_spend", std::move(periods)}};
}

void Meter::restore(const bj::value& saved) {
  static const bj::array kNone;
  const bj::array* rows = saved.is_array() ? &saved.get_array() : &kNone;
  const bj::array* periods = &kNone;
  if (saved.is_object()) {
    const auto& o = saved.get_object();
    if (const auto* u = o.if_contains("usage"); u && u->is_array()) rows = &u->get_array();
    if (const auto* p = o.if_contains("period_spend"); p && p->is_array()) periods = &p->get_array();
  }
  std::lock_guard lock(mu_);
  for (const auto& r : *periods) {
    const auto* o = r.if_object();
    if (!o) continue;
    const auto* key = o->if_contains("key");
    const auto* id = o->if_contains("period");
    const auto* usd = o->if_contains("spent_usd");
    if (!key || !key->is_string() || !id || !id->is_string() || !usd || !usd->is_number()) continue;
    period_spent_[std::string(key->get_string())][std::string(id->get_string())] = usd->to_number<double>();
  }
  for (const auto& r : *rows) {
    if (!r.is_object()) continue;
    const auto& o = r.get_object();
    auto str = [&](const char* f) { return o.contains(f) && o.at(f).is_string() ? std::string(o.at(f).get_string()) : std::string(); };
    auto num = [&](const char* f) { return o.contains(f) && o.at(f).is_number() ? o.at(f).to_number<double>() : 0.0; };
    Key k{str("key"), str("provider"), str("model")};
    MeterTotals& t = rows_[k].totals;
    t.requests = static_cast<std::int64_t>(num("requests"));
    t.prompt_tokens = static_cast<std::int64_t>(num("prompt_tokens"));
    t.completion_tokens = static_cast<std::int64_t>(num("completion_tokens"));
    t.cached_prompt_tokens = static_cast<std::int64_t>(num("cached_prompt_tokens"));
    t.cache_write_tokens = static_cast<std::int64_t>(num("cache_write_tokens"));
    t.exact_hits = static_cast<std::int64_t>(num("exact_hits"));
    t.semantic_hits = static_cast<std::int64_t>(num("semantic_hits"));
    t.saved_tokens = static_cast<std::int64_t>(num("saved_tokens"));
    t.cost_usd = num("cost_usd");
    t.saved_usd = num("saved_usd");
    spent_[std::get<0>(k)] += t.cost_usd;
  }
}

}  // namespace spectra::ai
