// What a call is admitted against and charged, and what it leaves
// behind: the key's limits and budget (this instance's and the fleet's),
// metering, the latency metrics and the audit record written when it ends.
#include <boost/json/serialize.hpp>

#include <algorithm>

#include "ai/gateway.h"
#include "ai/gateway_call.h"
#include "common/json_util.h"
#include "common/time_util.h"

namespace spectra::ai {

namespace {

// An end user's bucket among the fleet's counts (FleetLimits): key names
// have no line breaks, so it cannot be another key's user's.
std::string end_user_bucket(const Gateway::Call& c) { return "user:" + c.key->name + '\n' + c.end_user; }

}  // namespace

double Gateway::spent_of(const VirtualKey& k, FleetLimits* fleet) const {
  double spent = meter_.spent(k.name, k.budget_period);
  if (fleet) {
    if (auto f = fleet->spent(k.name, k.budget_period)) spent = std::max(spent, *f);
  }
  return spent;
}

metrics::Registry::Series Gateway::budget_series(bool spent) const {
  metrics::Registry::Series out;
  const auto cfg = snapshot();
  const auto fleet = spent ? fleet_limits() : nullptr;
  for (const auto& [hash, k] : cfg->keys_by_hash) {
    if (!(k.budget_usd > 0)) continue;
    out.push_back({{{"key", k.name}, {"period", std::string(to_string(k.budget_period))}},
                   spent ? spent_of(k, fleet.get()) : k.budget_usd});
  }
  return out;
}

metrics::Registry::Series Gateway::quota_series() const {
  metrics::Registry::Series out;
  const auto cfg = snapshot();
  if (!cfg->any_quotas) return out;
  const auto fleet = fleet_limits();
  for (const auto& [name, p] : cfg->providers) {
    for (const auto& [model, q] : p.quotas) {
      LimitVerdict left = quotas_.peek(q.bucket, q.rpm, q.tpm);
      if (fleet) {
        LimitVerdict across = fleet->peek(q.bucket, q.rpm, q.tpm);
        merge_headroom(across, left);
        left = std::move(across);
      }
      if (q.rpm > 0) out.push_back({{{"provider", name}, {"model", model}, {"limit", "rpm"}}, static_cast<double>(left.requests.remaining)});
      if (q.tpm > 0) out.push_back({{{"provider", name}, {"model", model}, {"limit", "tpm"}}, static_cast<double>(left.tokens.remaining)});
    }
  }
  return out;
}

bj::array Gateway::budget_status() const {
  const auto cfg = snapshot();
  const auto fleet = fleet_limits();
  const auto now = deps_.clock->system_now();
  bj::array out;
  for (const auto& [hash, k] : cfg->keys_by_hash) {
    if (!(k.budget_usd > 0)) continue;
    const double spent = spent_of(k, fleet.get());
    bj::object row{{"key", k.name},
                   {"period", to_string(k.budget_period)},
                   {"budget_usd", k.budget_usd},
                   {"spent_usd", spent},
                   {"remaining_usd", std::max(0.0, k.budget_usd - spent)},
                   {"scope", fleet ? "fleet" : "instance"}};
    if (k.budget_period != BudgetPeriod::kTotal) row["renews_at"] = rfc3339_utc(budget_period_at(k.budget_period, now).end);
    out.push_back(std::move(row));
  }
  std::sort(out.begin(), out.end(), [](const bj::value& a, const bj::value& b) {
    return a.at("key").get_string() < b.at("key").get_string();
  });
  return out;
}

// This instance's buckets first, then the fleet's counts (Redis backend).
// No I/O.
LimitVerdict Gateway::admit(Call& c) {
  const VirtualKey& k = *c.key;
  // The end user's own limits first (this instance's bucket, then the
  // fleet's count): a user over them must not take from the key's.
  const bool user_limited = (k.end_user_rpm > 0 || k.end_user_tpm > 0) && !c.end_user.empty();
  if (user_limited) {
    LimitVerdict user = end_users_.admit(k.name + '\n' + c.end_user, k.end_user_rpm, k.end_user_tpm, 0, 0);
    const bool by_fleet = user.allowed && c.fleet;
    if (by_fleet) user = c.fleet->check_rate(end_user_bucket(c), k.end_user_rpm, k.end_user_tpm, /*sparse=*/true);
    if (!user.allowed) {
      user.message = "rate limit reached: " + user.limit + " " +
                     std::to_string(user.limit == "rpm" ? k.end_user_rpm : k.end_user_tpm) + " for end user '" +
                     c.end_user + "' of key '" + k.name + "'" + (by_fleet ? " across the fleet" : "");
      user.limit = "end_user_" + user.limit;
      return user;
    }
  }
  const double spent = k.budget_usd > 0 ? meter_.spent(k.name, k.budget_period) : 0.0;
  LimitVerdict verdict = limiter_.admit(k.name, k.rpm, k.tpm, k.budget_usd, spent, k.budget_period);
  if (verdict.allowed && c.fleet) {
    LimitVerdict fleet = c.fleet->check(k.name, k.rpm, k.tpm, k.budget_usd, k.budget_period);
    merge_headroom(fleet, verdict);  // the tighter of this instance's and the fleet's
    verdict = std::move(fleet);
    if (verdict.allowed) c.fleet->add_request(k.name);
    if (verdict.allowed && user_limited) c.fleet->add_request(end_user_bucket(c));
  }
  // The key's headroom on whatever the answer is, as OpenAI sends it.
  for (auto& [name, value] : ratelimit_headers(verdict)) c.ex->add_header(std::move(name), std::move(value));
  return verdict;
}

// An upstream's usage: metered on the key, provider and model, and charged
// to the key's token rate and budget, here and across the fleet.
void Gateway::charge(Call& c, const std::string& provider, const std::string& model, const Usage& usage) {
  const Price* price = c.cfg->price(provider, model);
  double cost = price ? cost_of(usage, *price) : 0.0;
  bool priced = price != nullptr;
  // A Bedrock guardrail's text units, at the provider's prices for them.
  if (!usage.guardrail_policy_units.empty()) {
    if (auto pit = c.cfg->providers.find(provider); pit != c.cfg->providers.end()) {
      if (const std::optional<double> guarded = pit->second.guardrail_cost(usage)) {
        cost += *guarded;
        priced = true;
      }
    }
  }
  if (priced) c.cost_usd = c.cost_usd.value_or(0.0) + cost;
  const std::int64_t tokens = usage.prompt_tokens + usage.completion_tokens;
  meter_.record(c.key->name, provider, model, usage, cost);
  limiter_.charge_tokens(c.key->name, c.key->tpm, tokens);
  if (c.key->end_user_tpm > 0 && !c.end_user.empty()) {
    end_users_.charge_tokens(c.key->name + '\n' + c.end_user, c.key->end_user_tpm, tokens);
  }
  if (c.fleet) {
    c.fleet->add_tokens(c.key->name, tokens);
    c.fleet->add_spend(c.key->name, cost, c.key->budget_period);
    if (c.key->end_user_tpm > 0 && !c.end_user.empty()) c.fleet->add_tokens(end_user_bucket(c), tokens);
  }
  // And to the provider's quota for the model, if it has one.
  if (!c.cfg->any_quotas) return;
  if (auto pit = c.cfg->providers.find(provider); pit != c.cfg->providers.end()) {
    if (const ProviderConfig::Quota* q = pit->second.quota(model); q && q->tpm > 0) {
      quotas_.charge_tokens(q->bucket, q->tpm, tokens);
      if (c.fleet) c.fleet->add_tokens(q->bucket, tokens);
    }
  }
}

LimitVerdict Gateway::take_quota(Call& c, const ProviderConfig& p, const std::string& model) {
  const ProviderConfig::Quota* q = p.quota(model);
  if (!q) return {};
  LimitVerdict v = quotas_.admit(q->bucket, q->rpm, q->tpm, 0, 0);
  if (v.allowed && c.fleet) {
    v = c.fleet->check_rate(q->bucket, q->rpm, q->tpm);
    if (v.allowed) c.fleet->add_request(q->bucket);
  }
  if (!v.allowed) {
    v.message = p.name + "/" + model + ": the provider's quota is reached (" + v.limit + " " +
                std::to_string(v.limit == "rpm" ? q->rpm : q->tpm) + " a minute)";
    // How often a quota turns requests away (to the next target, or with a
    // 429): the signal to ask the provider for more. Rare: looked up each time.
    if (deps_.metrics) {
      deps_.metrics
          ->counter("spectra_ai_quota_reached_total",
                    "Requests a provider's quota turned away from it (passed to the route's next target or refused), by provider, model and limit",
                    {{"provider", p.name}, {"model", model}, {"limit", v.limit}})
          .inc();
    }
  }
  return v;
}

void Gateway::finish(Call& c) {
  if (c.finished) return;
  c.finished = true;
  c.lead.end();  // its followers have their answer (or go on their own) now
  release_slot(c);  // (given back as soon as the model was done; here whatever ended the call)
  const auto end = deps_.clock->steady_now();
  auto latency = std::chrono::duration<double, std::milli>(end - c.t0).count();
  // A stream's time to its first token, and the time per output token
  // after it: what the provider (through the gateway) gives its clients.
  std::optional<double> ttft;
  if (c.stream && c.first_token_at) ttft = std::chrono::duration<double>(*c.first_token_at - c.t0).count();
  if (deps_.metrics) {
    std::size_t i = c.cache_result == "hit" ? 0 : c.cache_result == "semantic-hit" ? 1 : c.cache_result == "miss" ? 2 : 3;
    latency_[i]->observe(latency / 1000.0);
    const bool upstream_answered = i >= 2 && c.status >= 200 && c.status < 300 && !c.provider.empty();
    if (ttft && upstream_answered) {
      const metrics::Labels labels{{"provider", c.provider}, {"model", c.model}};
      deps_.metrics
          ->histogram("spectra_ai_time_to_first_token_seconds",
                      "Streamed answers from the upstream: request arrival to the first token sent, by provider and model", labels)
          .observe(*ttft);
      if (c.usage.completion_tokens > 1) {
        const double after = std::chrono::duration<double>(end - *c.first_token_at).count();
        deps_.metrics
            ->histogram("spectra_ai_time_per_output_token_seconds",
                        "Streamed answers from the upstream: time from the first token to the end per further output token, "
                        "by provider and model",
                        labels)
            .observe(after / static_cast<double>(c.usage.completion_tokens - 1));
      }
    }
    // Answers a content filter (a Bedrock guardrail, the provider's own
    // filter) replaced or cut, as the upstream gave them (not again when
    // served from a cache): rare, looked up each time.
    if (c.finish_reason == "content_filter" && !c.cache_result.ends_with("hit")) {
      deps_.metrics
          ->counter("spectra_ai_content_filtered_total",
                    "Upstream answers a content filter (a Bedrock guardrail, the provider's own) replaced or cut, by provider and model",
                    {{"provider", c.provider}, {"model", c.model}})
          .inc();
    }
    // What Bedrock guardrails are billed: text units, by provider. Only
    // calls through a guardrail: looked up each time.
    if (c.usage.guardrail_units > 0) {
      deps_.metrics
          ->counter("spectra_ai_guardrail_text_units_total",
                    "Text units Bedrock guardrails assessed (what they are billed by), by provider", {{"provider", c.provider}})
          .inc(static_cast<std::uint64_t>(c.usage.guardrail_units));
    }
    // How often a route spills to its fallbacks (an overloaded provider, a
    // full local model): rare, so the series is looked up each time.
    if (!c.fallback.empty()) {
      deps_.metrics
          ->counter("spectra_ai_fallbacks_total", "Requests answered by a route's fallback, by route and the fallback that answered",
                    {{"route", c.route}, {"fallback", c.fallback}})
          .inc();
    }
  }
  if (!c.audit) return;
  // Written straight to text on this thread (no DOM): the writer thread
  // only chains and hashes it.
  auto now = deps_.clock->system_now();
  std::string rec;
  rec.reserve(384 + (c.cfg->audit_bodies ? c.stored.size() + 1024 : 0));
  json::ObjectWriter w(rec);
  w.num("time_ms", static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count()))
      .str("request_id", c.ex ? c.ex->info().request_id : "")
      .str("key", c.key ? c.key->name : "")
      .str("requested_model", c.requested_model)
      .str("resolved", c.provider.empty() ? std::string() : c.provider + "/" + c.model)
      .str("route", c.route);
  // A Messages or Responses request served through chat.
  if (c.dialect == Dialect::messages) w.str("api", "messages");
  if (c.dialect == Dialect::responses) w.str("api", "responses");
  if (c.fallback.empty()) w.null("fallback");
  else w.str("fallback", c.fallback);
  w.str("cache", c.cache_result)
      .boolean("stream", c.stream)
      .num("prompt_tokens", c.usage.prompt_tokens)
      .num("completion_tokens", c.usage.completion_tokens)
      .num("latency_ms", latency);
  if (ttft) w.num("ttft_ms", *ttft * 1000.0);
  // The provider's prompt cache, when it reported any; the cost at the
  // price table's prices.
  if (c.usage.cached_prompt_tokens > 0) w.num("cached_tokens", c.usage.cached_prompt_tokens);
  if (c.usage.cache_write_tokens > 0) w.num("cache_write_tokens", c.usage.cache_write_tokens);
  if (c.cost_usd) w.num("cost_usd", *c.cost_usd);
  if (c.saved_usd) w.num("saved_usd", *c.saved_usd);
  // A guardrail's verdict: which of its policies acted (never what they
  // matched) and the text units it was billed.
  if (c.usage.guardrail_traced) {
    bj::array acted;
    for (const auto& a : c.usage.guardrail_acted) acted.emplace_back(a);
    w.raw("guardrail", bj::serialize(bj::object{{"text_units", c.usage.guardrail_units}, {"acted", std::move(acted)}}));
  }
  if (!c.end_user.empty()) w.str("end_user", c.end_user);
  if (!c.metadata.empty()) w.raw("metadata", c.metadata);
  if (!c.finish_reason.empty()) w.str("finish_reason", c.finish_reason);
  w.num("status", static_cast<std::int64_t>(c.status)).str("egress", c.egress);
  if (!c.error.empty()) w.str("error", c.error);
  if (c.cfg->audit_bodies) {
    w.raw("request", bj::serialize(c.body));
    if (!c.stored.empty()) w.str("response", c.stored);
  }
  w.close();
  c.audit->append(std::move(rec));
}

}  // namespace spectra::ai
