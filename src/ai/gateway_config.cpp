#include "ai/gateway_config.h"

#include <algorithm>

#include "common/crypto.h"
#include "common/json_util.h"
#include "common/time_util.h"

namespace spectra::ai {
namespace {

namespace bj = boost::json;

std::string s(const bj::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}
std::int64_t i(const bj::object& o, const char* k, std::int64_t def = 0) {
  const auto* v = o.if_contains(k);
  return v && v->is_number() ? json::to_int(*v) : def;
}
double d(const bj::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  return v && v->is_number() ? v->to_number<double>() : 0.0;
}
bool b(const bj::object& o, const char* k, bool def = false) {
  const auto* v = o.if_contains(k);
  return v && v->is_bool() ? v->get_bool() : def;
}
const bj::array& arr(const bj::object& o, const char* k) {
  static const bj::array kEmpty;
  const auto* v = o.if_contains(k);
  return v && v->is_array() ? v->get_array() : kEmpty;
}
// The model of a provider/model target.
std::string_view model_of(std::string_view target) {
  const auto slash = target.find('/');
  return slash == std::string_view::npos ? target : target.substr(slash + 1);
}
// The guardrail a target's provider puts its answers under ("id:version").
std::string guardrail_of(const GatewayConfig& g, const std::string& target) {
  auto r = g.resolve(target);
  return r.ok() ? r->first->guardrail.id + ":" + r->first->guardrail.version : std::string();
}
const bj::object& obj(const bj::object& o, const char* k) {
  static const bj::object kEmpty;
  const auto* v = o.if_contains(k);
  return v && v->is_object() ? v->get_object() : kEmpty;
}

}  // namespace

std::shared_ptr<const GatewayConfig> make_gateway_config(const bj::object& ai) {
  auto g = std::make_shared<GatewayConfig>();
  g->enabled = b(ai, "enabled");
  for (const auto& pv : arr(ai, "providers")) {
    const auto& p = pv.as_object();
    ProviderConfig pc{s(p, "name"), s(p, "kind"), s(p, "base_url"), s(p, "api_key"), s(p, "region"), {},
                      i(p, "max_concurrency"), i(p, "timeout_ms", 120000)};
    pc.ca_file = s(p, "ca_file");
    pc.connect_timeout_ms = i(p, "connect_timeout_ms", 5000);
    const auto& hc = obj(p, "health_check");
    pc.health_path = s(hc, "path");
    pc.health_interval_ms = i(hc, "interval_ms", 5000);
    pc.health_timeout_ms = i(hc, "timeout_ms", 1000);
    pc.conversation_affinity = s(p, "replica_affinity") == "conversation";
    for (const auto& e : arr(p, "endpoints")) pc.endpoints.emplace_back(e.as_string());
    for (const auto& bv : arr(p, "base_models")) {
      const auto& bm = bv.as_object();
      pc.base_models[s(bm, "model")] = s(bm, "base_model");
    }
    const auto& guard = obj(p, "guardrail");
    pc.guardrail = {s(guard, "id"), s(guard, "version"), s(guard, "stream_mode")};
    if (pc.guardrail.stream_mode.empty()) pc.guardrail.stream_mode = "sync";
    for (const auto& gp : arr(guard, "prices")) pc.guardrail_prices.emplace_back(s(gp.as_object(), "policy"), d(gp.as_object(), "per_1k_units_usd"));
    for (const auto& qv : arr(p, "quotas")) {
      const std::string model = s(qv.as_object(), "model");
      pc.quotas[model] = {"quota:" + pc.name + "/" + model, i(qv.as_object(), "rpm"), i(qv.as_object(), "tpm")};
    }
    for (const auto& tv : arr(p, "thinking_kwargs")) {
      pc.thinking_kwargs[s(tv.as_object(), "model")] = s(tv.as_object(), "kwarg");
    }
    for (const auto& bv : arr(p, "anthropic_betas")) {
      auto& flags = pc.anthropic_betas[s(bv.as_object(), "model")];
      for (const auto& f : arr(bv.as_object(), "betas")) flags.emplace_back(f.as_string());
    }
    if (pc.base_url.empty() && !pc.endpoints.empty()) pc.base_url = pc.endpoints.front();
    g->any_quotas = g->any_quotas || !pc.quotas.empty();
    g->providers[pc.name] = std::move(pc);
  }
  for (const auto& rv : arr(ai, "routes")) {
    const auto& r = rv.as_object();
    RouteConfig rc;
    rc.alias = s(r, "alias");
    rc.target = s(r, "target");
    rc.weight = i(r, "weight", 1);
    for (const auto& bv : arr(r, "balance")) {
      const auto& b = bv.as_object();
      rc.balance.push_back({s(b, "target"), i(b, "weight", 1)});
    }
    rc.plan_turns();
    // One model behind one guardrail: otherwise each target's answers are its own.
    for (const auto& share : rc.balance) {
      rc.one_model = rc.one_model && model_of(share.target) == model_of(rc.target) &&
                     guardrail_of(*g, share.target) == guardrail_of(*g, rc.target);
    }
    for (const auto& f : arr(r, "fallbacks")) rc.fallbacks.emplace_back(f.as_string());
    const auto& ov = obj(r, "overflow");
    rc.overflow = {s(ov, "policy"), i(ov, "max_queue", 64), i(ov, "max_wait_ms", 30000), s(ov, "spill_to")};
    if (rc.overflow.policy.empty()) rc.overflow.policy = "reject";
    g->routes[rc.alias] = std::move(rc);
  }
  for (const auto& kv : arr(ai, "virtual_keys")) {
    const auto& k = kv.as_object();
    std::string key = s(k, "key");
    if (key.empty()) continue;  // a key without a secret cannot authenticate anyone
    VirtualKey vk{s(k, "name"), crypto::sha256_hex(key), {}, {}, i(k, "rpm"), i(k, "tpm"), d(k, "budget_usd"),
                  s(k, "cache_namespace")};
    for (const auto& m : arr(k, "allowed_models")) {
      const std::string_view name = m.as_string();
      if (name.ends_with('*')) vk.allowed_prefixes.emplace_back(name.substr(0, name.size() - 1));
      else vk.allowed_models.emplace(name);
    }
    if (vk.cache_namespace.empty()) vk.cache_namespace = vk.name;
    vk.budget_period = parse_budget_period(s(k, "budget_period")).value_or(BudgetPeriod::kTotal);
    vk.expires_at = parse_rfc3339(s(k, "expires_at"));
    vk.local_only = b(k, "local_only");
    vk.end_user_rpm = i(k, "end_user_rpm");
    vk.end_user_tpm = i(k, "end_user_tpm");
    g->keys_by_hash[vk.key_hash] = std::move(vk);
  }
  const auto& cache = obj(ai, "cache");
  g->exact_cache = b(cache, "exact_enabled", true);
  g->semantic_cache = b(cache, "semantic_enabled", false);
  if (const auto* t = cache.if_contains("semantic_threshold"); t && t->is_number()) g->semantic_threshold = t->to_number<double>();
  g->cache_ttl_seconds = i(cache, "ttl_seconds", 3600);
  g->cache_max_bytes = i(cache, "max_bytes", 256 << 20);
  if (std::string e = s(cache, "embedder"); !e.empty()) g->embedder = e;
  if (std::string be = s(cache, "backend"); !be.empty()) g->cache_backend = be;
  g->redis_url = s(cache, "redis_url");
  g->redis_username = s(cache, "redis_username");
  g->redis_password = s(cache, "redis_password");
  g->redis_timeout_ms = i(cache, "redis_timeout_ms", 50);
  g->redis_fleet_limits = b(cache, "redis_fleet_limits", true);
  g->kept_responses_max_bytes = i(obj(ai, "responses"), "kept_max_bytes", 64 << 20);
  const auto& audit = obj(ai, "audit");
  g->audit_enabled = b(audit, "enabled", true);
  g->audit_path = s(audit, "path");
  g->audit_max_file_bytes = i(audit, "max_file_bytes", 100 << 20);
  g->audit_keep_files = i(audit, "keep_files", 10);
  g->audit_bodies = b(audit, "log_bodies");
  for (const auto& pv : arr(ai, "prices")) {
    const auto& p = pv.as_object();
    const double in = d(p, "input_per_mtok_usd");
    g->prices[s(p, "model")] = {in, d(p, "output_per_mtok_usd"),
                                p.contains("cached_input_per_mtok_usd") ? d(p, "cached_input_per_mtok_usd") : in,
                                p.contains("cache_write_per_mtok_usd") ? d(p, "cache_write_per_mtok_usd") : in};
  }
  // A profile or deployment without a price of its own is priced as the
  // model it runs: settled here, once, rather than looked up per request.
  for (const auto& [name, p] : g->providers) {
    for (const auto& [model, base] : p.base_models) {
      if (g->price(name, model)) continue;
      if (const Price* of_base = g->price(name, base)) g->prices[name + "/" + model] = *of_base;
    }
  }
  const auto& health = obj(ai, "upstream_health");
  g->upstream_health.max_failures = static_cast<int>(i(health, "max_failures", 3));
  g->upstream_health.ejection = std::chrono::milliseconds(i(health, "ejection_ms", 5000));
  g->upstream_health.max_ejection = std::chrono::milliseconds(i(health, "max_ejection_ms", 60000));
  return g;
}

ModelTarget ProviderConfig::target(const std::string& model, const std::string& url) const {
  ModelTarget t{name, kind, model, url, region, {}};
  const std::string& base = base_model(model);
  if (base != model) t.base_model = base;
  if (!guardrail.id.empty()) t.guardrail = guardrail;
  if (!anthropic_betas.empty()) {  // the id's own list, else its base model's
    auto it = anthropic_betas.find(model);
    if (it == anthropic_betas.end()) it = anthropic_betas.find(base);
    if (it != anthropic_betas.end()) t.anthropic_betas = it->second;
  }
  return t;
}

const std::string& ProviderConfig::base_model(const std::string& model) const {
  auto it = base_models.find(model);
  return it == base_models.end() ? model : it->second;
}

std::optional<double> ProviderConfig::guardrail_cost(const Usage& u) const {
  std::optional<double> cost;
  for (const auto& [policy, units] : u.guardrail_policy_units) {
    for (const auto& [priced, per_1k] : guardrail_prices) {
      if (priced == policy) cost = cost.value_or(0.0) + static_cast<double>(units) * per_1k / 1000.0;
    }
  }
  return cost;
}

std::string ProviderConfig::cache_scope() const {
  if (guardrail.id.empty()) return name;
  return name + "+guardrail:" + guardrail.id + ":" + guardrail.version;
}

const std::string* ProviderConfig::thinking_kwarg(const std::string& model) const {
  if (thinking_kwargs.empty()) return nullptr;
  auto it = thinking_kwargs.find(model);
  if (it == thinking_kwargs.end()) it = thinking_kwargs.find(base_model(model));
  return it == thinking_kwargs.end() ? nullptr : &it->second;
}

const ProviderConfig::Quota* ProviderConfig::quota(const std::string& model) const {
  if (quotas.empty()) return nullptr;
  auto it = quotas.find(model);
  if (it == quotas.end()) it = quotas.find(base_model(model));
  return it == quotas.end() ? nullptr : &it->second;
}

std::string ProviderConfig::openai_base_url() const {
  std::string base = !endpoints.empty() ? endpoints.front() : base_url.empty() ? "https://api.openai.com/v1" : base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

bool VirtualKey::allows(const std::string& model) const {
  if (allowed_models.empty() && allowed_prefixes.empty()) return true;
  if (allowed_models.count(model)) return true;
  return std::any_of(allowed_prefixes.begin(), allowed_prefixes.end(),
                     [&](const std::string& prefix) { return model.starts_with(prefix); });
}

void RouteConfig::plan_turns() {
  // Smooth weighted round-robin (as nginx's): each turn every target gains
  // its weight, the one with the most goes and gives back the total; over
  // one period each goes `weight` times, spread out rather than in runs.
  turns_.clear();
  if (balance.empty()) return;
  std::vector<std::int64_t> weights{std::max<std::int64_t>(1, weight)};
  for (const auto& b : balance) weights.push_back(std::max<std::int64_t>(1, b.weight));
  std::int64_t total = 0;
  for (auto w : weights) total += w;
  std::vector<std::int64_t> current(weights.size(), 0);
  for (std::int64_t t = 0; t < total; ++t) {
    std::size_t best = 0;
    for (std::size_t k = 0; k < weights.size(); ++k) {
      current[k] += weights[k];
      if (current[k] > current[best]) best = k;
    }
    current[best] -= total;
    turns_.push_back(static_cast<std::uint16_t>(best));
  }
}

std::vector<std::string> RouteConfig::next_targets() const {
  std::vector<std::string> out;
  out.reserve(1 + balance.size() + fallbacks.size());
  if (turns_.empty()) {
    out.push_back(target);
  } else {
    const std::size_t first = turns_[next_turn_->fetch_add(1, std::memory_order_relaxed) % turns_.size()];
    out.push_back(first == 0 ? target : balance[first - 1].target);
    if (first != 0) out.push_back(target);
    for (std::size_t k = 0; k < balance.size(); ++k) {
      if (k + 1 != first) out.push_back(balance[k].target);
    }
  }
  out.insert(out.end(), fallbacks.begin(), fallbacks.end());
  return out;
}

bool GatewayConfig::in_account(const std::string& target) const {
  auto r = resolve(target);
  return r.ok() && r->first->local();
}

bool GatewayConfig::served_in_account(const std::string& model) const {
  auto r = routes.find(model);
  if (r == routes.end()) return in_account(model);
  return in_account(r->second.target) ||
         std::any_of(r->second.balance.begin(), r->second.balance.end(),
                     [&](const RouteConfig::Share& b) { return in_account(b.target); }) ||
         std::any_of(r->second.fallbacks.begin(), r->second.fallbacks.end(),
                     [&](const std::string& f) { return in_account(f); });
}

Result<std::pair<const ProviderConfig*, std::string>> GatewayConfig::resolve(const std::string& target) const {
  auto slash = target.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == target.size()) {
    return not_found("model '" + target + "' is not a configured alias and not provider/model");
  }
  std::string prov = target.substr(0, slash), model = target.substr(slash + 1);
  if (auto it = providers.find(prov); it != providers.end()) return std::make_pair(&it->second, model);
  std::string kind = prov == "local" ? "vllm" : prov;
  const ProviderConfig* found = nullptr;
  for (const auto& [n, p] : providers) {
    if (p.kind != kind) continue;
    if (found) return not_found("several providers have kind '" + kind + "'; name one: <provider>/" + model);
    found = &p;
  }
  if (!found) return not_found("no provider '" + prov + "' is configured");
  return std::make_pair(found, model);
}

const Price* GatewayConfig::price(const std::string& provider, const std::string& model) const {
  if (auto it = prices.find(provider + "/" + model); it != prices.end()) return &it->second;
  if (auto it = prices.find(model); it != prices.end()) return &it->second;
  return nullptr;
}

}  // namespace spectra::ai
