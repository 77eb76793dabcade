#include "ai/gateway.h"

#include <boost/json/serialize.hpp>

#include <algorithm>

#include "ai/anthropic_replay.h"
#include "ai/call_labels.h"
#include "ai/endpoint_walk.h"
#include "ai/gateway_call.h"
#include "ai/messages_dialect.h"
#include "ai/responses_dialect.h"
#include "ai/responses_replay.h"
#include "ai/redis_cache_storage.h"
#include "common/crypto.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/reaper.h"
#include "common/time_util.h"

namespace spectra::ai {

namespace asio = boost::asio;
using http::Exchange;
using http::HttpStatus;

namespace {

http::Response openai_error(unsigned status, const std::string& type, const std::string& message,
                            const std::string& code, const std::string& param = {}) {
  UpstreamError e{status, type, message, code, false, param};
  http::Response r = http::json_response(static_cast<HttpStatus>(status), e.to_openai());
  return r;
}

// An error in the shape of the API the client speaks: OpenAI's, or
// Anthropic's on the Messages routes ({"type":"error","error":{type,
// message}}, the type following the status as Anthropic's does).
http::Response error_answer(bool anthropic, unsigned status, const std::string& type, const std::string& message,
                            const std::string& code, const std::string& param) {
  if (!anthropic) return openai_error(status, type, message, code, param);
  const char* t = status == 400   ? "invalid_request_error"
                  : status == 401 ? "authentication_error"
                  : status == 403 ? "permission_error"
                  : status == 404 ? "not_found_error"
                  : status == 413 ? "request_too_large"
                  : status == 429 ? "rate_limit_error"
                  : status == 529 ? "overloaded_error"
                  : status >= 500 ? "api_error"
                                  : "invalid_request_error";
  bj::object body{{"type", "error"}, {"error", bj::object{{"type", t}, {"message", message}}}};
  return http::json_response(static_cast<HttpStatus>(status), body);
}

}  // namespace

http::Response openai_http_error(http::HttpStatus status, std::string_view code, std::string_view message) {
  const unsigned s = static_cast<unsigned>(status);
  return openai_error(s, s >= 500 ? "server_error" : "invalid_request_error", std::string(message), std::string(code));
}

Gateway::Gateway(GatewayDeps deps)
    : deps_(std::move(deps)),
      cache_(reaped(new MemoryCacheStorage(256 << 20, deps_.clock))),
      cache_identity_("memory"),
      meter_(deps_.metrics, deps_.clock),
      limiter_(deps_.clock),
      quotas_(deps_.clock),
      end_users_(deps_.clock) {
  cfg_ = std::make_shared<GatewayConfig>();
  if (deps_.metrics) {
    deps_.metrics->callback_gauge("spectra_ai_upstream_endpoints_ejected",
                                  "Upstream endpoints skipped now after repeated failures (outlier ejection)",
                                  [this] { return static_cast<double>(health_.ejected_now()); });
    deps_.metrics->callback_gauge("spectra_ai_upstream_ejections",
                                  "Upstream endpoints ejected since start (a count)",
                                  [this] { return static_cast<double>(health_.ejections()); });
    deps_.metrics->callback_gauge("spectra_ai_upstream_health_checks", "Active health checks of upstream endpoints done (a count)",
                                  [this] { return static_cast<double>(health_checks().done); });
    deps_.metrics->callback_gauge("spectra_ai_upstream_health_checks_failed",
                                  "Active health checks of upstream endpoints that failed (a count)",
                                  [this] { return static_cast<double>(health_checks().failed); });
    // Each budgeted key's budget and what is spent of it in its current
    // period (the fleet's with fleet limits): what an alert on
    // spent / budget needs before the key is refused.
    deps_.metrics->callback_gauges("spectra_ai_budget_usd", "Each virtual key's spend budget for its period, by key and period",
                                   [this] { return budget_series(/*spent=*/false); });
    deps_.metrics->callback_gauges("spectra_ai_budget_spent_usd",
                                   "Spent of each virtual key's budget in its current period (the fleet's with fleet limits), by key and period",
                                   [this] { return budget_series(/*spent=*/true); });
    deps_.metrics->callback_gauges("spectra_ai_quota_remaining",
                                   "What is left of each provider quota now (requests or tokens; the tighter of this gateway's count "
                                   "and the fleet's), by provider, model and limit",
                                   [this] { return quota_series(); });
    deps_.metrics->callback_gauge("spectra_ai_response_owners",
                                  "Stored Responses API answers this gateway can route by id (who made each)",
                                  [this] { return static_cast<double>(owners_.size()); });
    deps_.metrics->callback_gauge("spectra_ai_kept_responses",
                                  "Responses API answers made in translation that this gateway keeps (store)",
                                  [this] { return static_cast<double>(kept_.size()); });
    deps_.metrics->callback_gauge("spectra_ai_kept_responses_bytes", "Bytes of the Responses API answers this gateway keeps",
                                  [this] { return static_cast<double>(kept_.bytes()); });
    deps_.metrics->callback_gauge("spectra_ai_cache_entries", "Entries in the exact response cache",
                                  [this] { return static_cast<double>(cache()->stats().entries); });
    deps_.metrics->callback_gauge("spectra_ai_cache_bytes", "Bytes held by the exact response cache",
                                  [this] { return static_cast<double>(cache()->stats().bytes); });
    deps_.metrics->callback_gauge("spectra_ai_cache_backend_errors",
                                  "Cache operations that failed or timed out at a remote backend (read as misses), current backend",
                                  [this] { return static_cast<double>(cache()->stats().errors); });
    deps_.metrics->callback_gauge("spectra_ai_audit_dropped_records",
                                  "Audit records dropped because the audit writer fell behind (current log)",
                                  [this] {
                                    AuditLog* a = audit();
                                    return a ? static_cast<double>(a->dropped()) : 0.0;
                                  });
    deps_.metrics->callback_gauge("spectra_ai_semantic_fleet_received",
                                  "Semantic cache entries other gateways published in Redis and this one indexed (current backend)",
                                  [this] {
                                    auto s = semantic_share();
                                    return s ? static_cast<double>(s->stats().received) : 0.0;
                                  });
    deps_.metrics->callback_gauge("spectra_ai_semantic_fleet_rejected",
                                  "Shared semantic cache records in Redis that did not decode and were skipped (current backend)",
                                  [this] {
                                    auto s = semantic_share();
                                    return s ? static_cast<double>(s->stats().rejected) : 0.0;
                                  });
    embed_failures_ = &deps_.metrics->counter("spectra_ai_semantic_embed_failures_total",
                                              "Semantic cache lookups skipped because the embedder failed");
    const char* results[] = {"hit", "semantic-hit", "miss", "bypass"};
    for (std::size_t i = 0; i < latency_.size(); ++i) {
      latency_[i] = &deps_.metrics->histogram("spectra_ai_request_seconds", "AI request latency (to the end of the answer)",
                                              {{"cache", results[i]}});
    }
  }
}

Gateway::~Gateway() {
  prober_.reset();  // its checks report to health_
  if (AuditLog* a = audit()) a->flush();
}

std::shared_ptr<const GatewayConfig> Gateway::snapshot() const {
  std::lock_guard lock(mu_);
  return cfg_;
}

void Gateway::begin(Call& c, http::Exchange& ex) {
  c.ex = &ex;
  c.t0 = deps_.clock->steady_now();
  std::lock_guard lock(mu_);
  c.cfg = cfg_;
  c.cache = cache_;
  c.fleet = fleet_;
  c.share = share_;
  if (cfg_->audit_enabled) c.audit = audit_;
}

void Gateway::configure(std::shared_ptr<const GatewayConfig> cfg) {
  if (cfg->audit_enabled && !cfg->audit_path.empty()) {
    std::string path = cfg->audit_path.front() == '/' ? cfg->audit_path : deps_.state_dir + "/" + cfg->audit_path;
    if (path != audit_path_) {
      auto log = std::make_unique<AuditLog>(AuditOptions{path, static_cast<std::uint64_t>(cfg->audit_max_file_bytes),
                                                         static_cast<int>(cfg->audit_keep_files)});
      if (Status s = log->open(); s.ok()) {
        std::shared_ptr<AuditLog> old;
        {
          std::lock_guard lock(mu_);
          old = std::exchange(audit_, reaped(std::move(log)));
        }
        if (old) old->flush();  // requests still holding it finish with it
        audit_path_ = path;
      } else {
        log::error("cannot open the AI audit log; keeping the previous one", {{"error", s.to_string()}});
      }
    }
  }
  configure_cache(*cfg);
  kept_.set_max_bytes(static_cast<std::uint64_t>(std::max<std::int64_t>(0, cfg->kept_responses_max_bytes)));
  health_.set_options(cfg->upstream_health);
  configure_health_checks(*cfg);
  std::lock_guard lock(mu_);
  cfg_ = std::move(cfg);
}

// The prober's thread starts with the first provider that asks for health
// checks and then stays (idle without targets).
void Gateway::configure_health_checks(const GatewayConfig& cfg) {
  std::vector<HealthCheckTarget> targets;
  std::vector<std::pair<std::string, std::string>> checked;
  for (const auto& [name, p] : cfg.providers) {
    if (p.health_path.empty()) continue;
    for (const auto& e : p.endpoints) {
      targets.push_back({name, e, origin_url(e, p.health_path), p.ca_file,
                         std::chrono::milliseconds(p.health_interval_ms), std::chrono::milliseconds(p.health_timeout_ms)});
      checked.emplace_back(name, e);
    }
  }
  health_.set_checked(checked);
  std::lock_guard lock(mu_);
  if (!prober_ && targets.empty()) return;
  if (!prober_) prober_ = std::make_unique<HealthProber>(health_);
  prober_->set_targets(std::move(targets));
}

// A new storage only when the backend settings change: a budget change
// applies to the memory cache in place, keeping its entries.
void Gateway::configure_cache(const GatewayConfig& cfg) {
  std::string identity = cfg.cache_backend;
  if (cfg.cache_backend == "redis") {
    identity += '\n' + cfg.redis_url + '\n' + cfg.redis_username + '\n' +
                crypto::sha256_hex(cfg.redis_password) + '\n' + std::to_string(cfg.redis_timeout_ms);
  }
  std::shared_ptr<CacheStorage> storage = cache();
  // The syncers below run on the storage's connection: while it stays, so
  // do they (and the fleet counts they hold).
  const bool same_storage = identity == cache_identity_;
  if (!same_storage) {
    if (cfg.cache_backend == "redis") {
      RedisCacheOptions o;
      o.url = cfg.redis_url;
      o.username = cfg.redis_username;
      o.password = cfg.redis_password;
      o.timeout = std::chrono::milliseconds(cfg.redis_timeout_ms);
      auto made = make_redis_cache_storage(std::move(o));
      if (!made.ok()) {
        log::error("cannot use the Redis cache backend; keeping the current cache",
                   {{"error", made.status().to_string()}, {"backend", storage->backend()}});
        return;
      }
      storage = reaped(std::move(*made));
    } else {
      storage = reaped(new MemoryCacheStorage(256 << 20, deps_.clock));
    }
    log::info("AI cache backend", {{"backend", storage->backend()}});
    cache_identity_ = identity;
  }
  storage->set_max_bytes(static_cast<std::uint64_t>(std::max<std::int64_t>(0, cfg.cache_max_bytes)));
  // Limits count across the fleet when the fleet shares a Redis (unless
  // turned off); the counter keeps the storage (its connection) alive.
  std::shared_ptr<FleetLimits> fleet;
  if (cfg.cache_backend == "redis" && cfg.redis_fleet_limits && redis_commands(*storage)) {
    if (same_storage) {
      std::lock_guard lock(mu_);
      fleet = fleet_;
    }
    if (!fleet) fleet = reaped(new FleetLimits(storage, deps_.clock));
  }
  // With a shared Redis the fleet shares its semantic index too (an entry
  // points at an answer every instance can read).
  std::shared_ptr<SemanticShare> share;
  if (cfg.cache_backend == "redis" && cfg.semantic_cache && redis_commands(*storage)) {
    if (same_storage) {
      std::lock_guard lock(mu_);
      share = share_;
    }
    if (!share) share = reaped(new SemanticShare(storage, index_, SemanticShare::Options{}));
  }
  std::lock_guard lock(mu_);
  fleet_ = std::move(fleet);
  share_ = std::move(share);
  cache_ = std::move(storage);
}

void Gateway::register_routes(http::Router& r) {
  r.set_error_format(&openai_http_error);
  r.add(http::Verb::post, "/v1/chat/completions",
        [this](Exchange& ex, const http::Params&) -> asio::awaitable<void> { co_await chat(ex); });
  r.add(http::Verb::get, "/v1/models",
        [this](Exchange& ex, const http::Params&) -> asio::awaitable<void> { co_await models(ex, nullptr); });
  // A provider/model id arrives encoded ("openai%2Fgpt-4o", as the SDKs
  // send it) or as two segments.
  r.add(http::Verb::get, "/v1/models/{id}", [this](Exchange& ex, const http::Params& p) -> asio::awaitable<void> {
    const std::string id = p.at("id");
    co_await models(ex, &id);
  });
  r.add(http::Verb::get, "/v1/models/{provider}/{model}",
        [this](Exchange& ex, const http::Params& p) -> asio::awaitable<void> {
          const std::string id = p.at("provider") + "/" + p.at("model");
          co_await models(ex, &id);
        });
  r.add(http::Verb::post, "/v1/completions", [this](Exchange& ex, const http::Params&) -> asio::awaitable<void> {
    co_await passthrough(ex, "/completions");
  });
  r.add(http::Verb::post, "/v1/responses", [this](Exchange& ex, const http::Params&) -> asio::awaitable<void> {
    co_await passthrough(ex, "/responses");
  });
  // Its tools name a model, so they route as the call itself does.
  for (const char* tool : {"/responses/input_tokens", "/responses/compact"}) {
    r.add(http::Verb::post, std::string("/v1") + tool,
          [this, tool](Exchange& ex, const http::Params&) -> asio::awaitable<void> { co_await passthrough(ex, tool); });
  }
  // A stored Responses API answer, by id: where it was made, for its key.
  for (const auto verb : {http::Verb::get, http::Verb::delete_}) {
    r.add(verb, "/v1/responses/{id}", [this](Exchange& ex, const http::Params& p) -> asio::awaitable<void> {
      const std::string id = p.at("id");
      co_await response_by_id(ex, id, "");
    });
  }
  r.add(http::Verb::get, "/v1/responses/{id}/input_items",
        [this](Exchange& ex, const http::Params& p) -> asio::awaitable<void> {
          const std::string id = p.at("id");
          co_await response_by_id(ex, id, "/input_items");
        });
  r.add(http::Verb::post, "/v1/responses/{id}/cancel", [this](Exchange& ex, const http::Params& p) -> asio::awaitable<void> {
    const std::string id = p.at("id");
    co_await response_by_id(ex, id, "/cancel");
  });
  // Anthropic's Messages API, for clients on Anthropic's SDKs, to Anthropic providers.
  for (const char* path : {"/messages", "/messages/count_tokens"}) {
    r.add(http::Verb::post, std::string("/v1") + path,
          [this, path](Exchange& ex, const http::Params&) -> asio::awaitable<void> { co_await messages(ex, path); });
  }
  r.add(http::Verb::post, "/v1/embeddings", [this](Exchange& ex, const http::Params&) -> asio::awaitable<void> {
    co_await passthrough(ex, "/embeddings");
  });
  r.add(http::Verb::get, "/healthz", [](Exchange& ex, const http::Params&) -> asio::awaitable<void> {
    http::Response res = http::text_response(HttpStatus::ok, "ok\n");
    co_await ex.respond(std::move(res));
  });
}

asio::awaitable<void> Gateway::fail(Call& c, unsigned status, const std::string& type, const std::string& message,
                                    const std::string& code) {
  c.status = status;
  c.error = message;
  http::Response res = error_answer(c.anthropic_api, status, type, message, code, c.error_param);
  if (status == 429 || status == 503) res.set(http::bhttp::field::retry_after, "1");
  co_await c.ex->respond(std::move(res));
  finish(c);
}

const VirtualKey* Gateway::authenticate(const GatewayConfig& cfg, Exchange& ex, std::string* refusal) const {
  // OpenAI's SDKs send the key as a bearer token, Anthropic's as x-api-key.
  std::string token = bearer_token(ex.request()[http::bhttp::field::authorization]);
  if (token.empty()) token = std::string(ex.request()["x-api-key"]);
  auto it = token.empty() ? cfg.keys_by_hash.end() : cfg.keys_by_hash.find(crypto::sha256_hex(token));
  if (it == cfg.keys_by_hash.end()) {
    *refusal = "missing or unknown API key; send Authorization: Bearer <virtual key> (or x-api-key)";
    return nullptr;
  }
  const VirtualKey& k = it->second;
  if (k.expires_at && deps_.clock->system_now() >= *k.expires_at) {
    *refusal = "the API key '" + k.name + "' expired at " + rfc3339_utc(*k.expires_at);
    return nullptr;
  }
  return &k;
}

// The model list and one model (OpenAI's GET /v1/models[/{id}]): the
// aliases the key may use, and for one model also a provider/model the key
// may address directly.
asio::awaitable<void> Gateway::models(Exchange& ex, const std::string* id) {
  auto cfg = snapshot();
  // Anthropic's SDKs (they always send anthropic-version) get Anthropic's
  // shape (/v1/messages serves every model: Anthropic's as they are, the
  // others in translation).
  const bool anthropic = !ex.request()["anthropic-version"].empty();
  std::string refusal;
  const VirtualKey* key = authenticate(*cfg, ex, &refusal);
  if (!key) {
    http::Response res = error_answer(anthropic, 401, "invalid_request_error", refusal, "invalid_api_key", "");
    co_await ex.respond(std::move(res));
    co_return;
  }
  // A local-only key sees what it can be served: a route with an in-account
  // target (or fallback), an in-account provider/model.
  auto allowed = [&](const std::string& m) {
    if (!key->allows(m)) return false;
    return !key->local_only || cfg->served_in_account(m);
  };
  auto model_object = [anthropic](const std::string& name, const std::string& target) {
    if (anthropic) {
      return bj::object{{"type", "model"}, {"id", name}, {"display_name", name}, {"created_at", "1970-01-01T00:00:00Z"}};
    }
    return bj::object{{"id", name}, {"object", "model"}, {"created", 0}, {"owned_by", target.substr(0, target.find('/'))}};
  };
  if (!id) {
    bj::array data;
    for (const auto& [alias, r] : cfg->routes) {
      if (allowed(alias)) data.push_back(model_object(alias, r.target));
    }
    bj::object list{{"object", "list"}, {"data", data}};
    if (anthropic) {
      list = bj::object{{"data", data},
                        {"has_more", false},
                        {"first_id", data.empty() ? bj::value(nullptr) : data.front().at("id")},
                        {"last_id", data.empty() ? bj::value(nullptr) : data.back().at("id")}};
    }
    http::Response res = http::json_response(HttpStatus::ok, list);
    co_await ex.respond(std::move(res));
    co_return;
  }
  std::optional<bj::object> found;
  if (auto r = cfg->routes.find(*id); r != cfg->routes.end()) {
    if (allowed(*id)) found = model_object(*id, r->second.target);
  } else if (cfg->resolve(*id).ok() && allowed(*id)) {
    found = model_object(*id, *id);
  }
  if (!found) {
    http::Response res = error_answer(anthropic, 404, "invalid_request_error",
                                      "The model '" + *id + "' does not exist or this key may not use it", "model_not_found", "");
    co_await ex.respond(std::move(res));
    co_return;
  }
  http::Response res = http::json_response(HttpStatus::ok, std::move(*found));
  co_await ex.respond(std::move(res));
}

asio::awaitable<bool> Gateway::authenticated(Call& c) {
  if (!c.cfg->enabled) {
    co_await fail(c, 503, "api_error", "the AI gateway is disabled in the config (ai.enabled)", "gateway_disabled");
    co_return false;
  }
  std::string refusal;
  c.key = authenticate(*c.cfg, *c.ex, &refusal);
  if (!c.key) {
    co_await fail(c, 401, "invalid_request_error", refusal, "invalid_api_key");
    co_return false;
  }
  auto metadata = metadata_of_header(c.ex->request()["x-spectra-metadata"]);
  if (!metadata.ok()) {
    c.error_param = "x-spectra-metadata";
    co_await fail(c, 400, "invalid_request_error", metadata.status().message(), "invalid_metadata");
    co_return false;
  }
  c.metadata = std::move(*metadata);
  co_return true;
}

asio::awaitable<void> Gateway::chat(Exchange& ex) {
  Call c;
  begin(c, ex);
  // 1. auth
  if (!co_await authenticated(c)) co_return;
  // 2. request
  RequestError rerr;
  auto req = parse_chat_request(ex.request().body(), &rerr);
  if (!req.ok()) {
    c.error_param = rerr.param;
    co_await fail(c, 400, "invalid_request_error", rerr.message, rerr.code);
    co_return;
  }
  c.body = std::move(req->body);
  c.requested_model = std::move(req->model);
  c.stream = req->stream;
  c.include_usage = req->include_usage;
  c.end_user = end_user_of(c.body);
  co_await serve_chat(c);
}

// Stages 2b-7 of a chat request whose body is parsed (chat, or a Messages
// request translated into one).
asio::awaitable<void> Gateway::serve_chat(Call& c) {
  const GatewayConfig& cfg = *c.cfg;
  http::Exchange& ex = *c.ex;
  if (!c.key->allows(c.requested_model)) {
    co_await fail(c, 403, "permission_error", "model '" + c.requested_model + "' is not allowed for key '" + c.key->name + "'", "model_not_allowed");
    co_return;
  }
  // 3. limits (once: a Messages call failing over here was admitted)
  if (!c.primary_failed) {
    if (!co_await admitted(c)) co_return;
  }
  // 4. route (unless the Messages API's relay chose the targets already)
  const RouteConfig* route = nullptr;
  if (auto rit = cfg.routes.find(c.requested_model); rit != cfg.routes.end()) {
    route = &rit->second;
    c.route = rit->first;
    if (c.targets.empty() && !c.primary_failed) c.targets = route->next_targets();
  } else {
    c.route = "direct";
    c.targets.push_back(c.requested_model);
  }
  if (c.key->local_only) {
    // Remote targets are not tried for this key (fallbacks included); one
    // that resolves to nothing stays, for its 404.
    std::erase_if(c.targets, [&](const std::string& t) {
      auto r = cfg.resolve(t);
      return r.ok() && !r->first->local();
    });
    if (c.targets.empty()) {
      co_await refuse_remote(c);
      co_return;
    }
  }
  auto primary = cfg.resolve(c.targets.front());
  if (!primary.ok()) {
    co_await fail(c, 404, "invalid_request_error", "model '" + c.requested_model + "': " + primary.status().message(), "model_not_found");
    co_return;
  }
  c.provider = primary->first->name;
  c.model = primary->second;
  // The answers of a route balanced over one model (accounts, regions) are
  // cached as the route's target's, whichever target gave them; a
  // provider's guardrail is part of what they were given under.
  std::string cache_provider = primary->first->cache_scope(), cache_model = c.model;
  if (route && !route->balance.empty() && route->one_model) {
    if (auto shared = cfg.resolve(route->target); shared.ok()) {
      cache_provider = shared->first->cache_scope();
      cache_model = shared->second;
    }
  }
  // 5. exact cache
  std::string cc(ex.request()[http::bhttp::field::cache_control]);
  bool no_store = cc.find("no-store") != std::string::npos;
  bool no_cache = cc.find("no-cache") != std::string::npos;
  if (cfg.exact_cache && !no_store) {
    c.cache_key = exact_cache_key(c.key->cache_namespace, cache_provider, cache_model, c.body);
    c.cache_read = !no_cache;
    c.cache_write = true;
    c.cache_result = no_cache ? "bypass" : "miss";
  }
  if (c.cache_read) {
    std::optional<std::string> hit = co_await c.cache->get(c.cache_key);
    if (hit) {
      bool answered = co_await answer_from_cache(c, *hit, "hit");
      if (answered) co_return;
    }
  }
  // 5b. semantic cache: same partition, close enough meaning
  // (A local-only key's prompt does not go to a remote embedder.)
  if (c.cache_read && cfg.semantic_cache && (!c.key->local_only || cfg.embedder_in_account())) {
    std::string text = last_user_text(c.body);
    if (!text.empty()) {
      auto emb = co_await embed_for_cache(c, text);
      if (emb.ok()) {
        c.partition = cfg.embedder + '\n' + semantic_partition_key(c.key->cache_namespace, cache_provider, cache_model, c.body);
        c.embedding = std::move(*emb);
        auto near = index_->nearest(c.partition, c.embedding);
        if (near && near->second >= cfg.semantic_threshold) {
          std::optional<std::string> hit = co_await c.cache->get(near->first);
          if (hit) {
            bool answered = co_await answer_from_cache(c, *hit, "semantic-hit");
            if (answered) co_return;
          }
        }
      } else {
        if (embed_failures_) embed_failures_->inc();
        // At most one line per 10 s: a down embedder must not flood the log
        // (the counter has every failure).
        const auto now = std::chrono::duration_cast<std::chrono::seconds>(deps_.clock->steady_now().time_since_epoch()).count();
        std::int64_t last = embed_logged_at_.load(std::memory_order_relaxed);
        if (now - last >= 10 && embed_logged_at_.compare_exchange_strong(last, now)) {
          log::warn("semantic cache skipped: the embedder failed",
                    {{"embedder", cfg.embedder}, {"error", emb.status().to_string()}, {"request_id", ex.info().request_id}});
        }
      }
    }
  }
  // 6. coalesce identical in-flight misses
  std::shared_ptr<Coalescer::Flight> flight;
  if (c.cache_read) {
    auto [f, leader] = coalescer_.join(c.cache_key);
    if (!leader) {
      std::optional<std::string> shared = co_await Coalescer::wait(*f);
      if (shared) {
        // (No co_await inside a short-circuit condition: see http/server.h on GCC 12.)
        bool answered = co_await answer_from_cache(c, *shared, "hit");
        if (answered) co_return;
      }
      // The leader failed: this request tries on its own.
    } else {
      flight = f;
    }
  }
  // 7. upstream
  bool ok = co_await upstream(c);
  if (flight) coalescer_.complete(c.cache_key, flight, ok && !c.cached.empty() ? std::optional<std::string>(c.cached) : std::nullopt);
  finish(c);
}

// A local-only key asked for a model that is not served in the account.
asio::awaitable<void> Gateway::refuse_remote(Call& c) {
  co_await fail(c, 403, "permission_error",
                "key '" + c.key->name + "' is local-only: model '" + c.requested_model + "' is not served in the account",
                "model_not_allowed");
}

// A refusal is a 429 naming the limit, with Retry-After.
asio::awaitable<bool> Gateway::admitted(Call& c) {
  const LimitVerdict verdict = admit(c);
  if (verdict.allowed) co_return true;
  co_await rate_limited(c, verdict, verdict.limit + "_exceeded");
  co_return false;
}

asio::awaitable<void> Gateway::rate_limited(Call& c, const LimitVerdict& verdict, const std::string& code) {
  c.status = 429;
  c.error = verdict.message;
  http::Response res = error_answer(c.anthropic_api, 429, "rate_limit_error", verdict.message, code, "");
  res.set(http::bhttp::field::retry_after, std::to_string(std::max<std::int64_t>(1, verdict.retry_after_seconds)));
  co_await c.ex->respond(std::move(res));
  finish(c);
}

void Gateway::remember(Call& c) {
  if (c.cache_write && !c.stored.empty()) {
    c.cached = encode_cached_answer(c.usage, c.stored, c.finish_reason);
    c.cache->put(c.cache_key, c.cached, std::chrono::seconds(c.cfg->cache_ttl_seconds));
    if (!c.embedding.empty()) {
      index_->add(c.partition, c.embedding, c.cache_key);
      if (c.share) c.share->publish(c.partition, c.embedding, c.cache_key, std::chrono::seconds(c.cfg->cache_ttl_seconds));
    }
  }
}

EmbedBatcher* Gateway::batcher() {
  std::lock_guard lock(embed_mu_);
  if (batcher_ || embed_failed_ || !deps_.load_embedder) return batcher_.get();
  auto model = deps_.load_embedder();
  if (!model.ok()) {
    embed_failed_ = true;
    log::error("the built-in embedding model is not available; semantic cache off",
               {{"error", model.status().to_string()}});
    return nullptr;
  }
  batcher_ = std::make_unique<EmbedBatcher>(std::move(*model));
  return batcher_.get();
}

asio::awaitable<bool> Gateway::answer_from_cache(Call& c, const std::string& cached, const char* how) {
  auto answer = decode_cached_answer(cached);
  if (!answer) {
    log::warn("undecodable cache entry; treating it as a miss", {{"request_id", c.ex->info().request_id}});
    co_return false;
  }
  // The answer in the client's API: the stored bytes as they were first
  // sent, or rebuilt from them once (a stream of any API, or the whole
  // answer in the API of a translated call).
  std::string body;
  if (!c.stream && c.dialect == Dialect::chat) {
    body.reserve(answer->json.size() + 1);
    body.append(answer->json).push_back('\n');
  } else {
    auto v = json::parse(answer->json, {.max_bytes = 64 << 20, .max_depth = 64});
    const bj::object completion = v.ok() && v->is_object() ? std::move(v->get_object()) : bj::object();
    body = c.stream ? replayed_stream(c, completion, answer->usage) : dialect_answer(c, completion);
    // (An Anthropic message with a block that cannot stream again, say
    // citations, is served whole only: a miss for a stream.)
    if (body.empty()) co_return false;
    keep_response(c, completion);
  }
  c.cache_result = how;
  c.status = 200;
  c.finish_reason = answer->finish_reason;
  const Price* p = c.cfg->price(c.provider, c.model);
  if (p) c.saved_usd = cost_of(answer->usage, *p);
  meter_.record_hit(c.key->name, c.provider, c.model, std::string_view(how) == "semantic-hit", answer->usage,
                    c.saved_usd.value_or(0.0));
  if (!c.stream) {
    http::Response res = http::text_response(HttpStatus::ok, std::move(body), "application/json");
    res.set("x-spectra-cache", how);
    res.set("x-spectra-provider", c.provider);
    co_await c.ex->respond(std::move(res));
    finish(c);
    co_return true;
  }
  http::bhttp::response<http::bhttp::empty_body> head{HttpStatus::ok, 11};
  head.set(http::bhttp::field::content_type, "text/event-stream");
  head.set(http::bhttp::field::cache_control, "no-cache");
  head.set("x-spectra-cache", how);
  head.set("x-spectra-provider", c.provider);
  c.first_token_at = deps_.clock->steady_now();
  if (co_await c.ex->begin_stream(std::move(head), /*send_now=*/false)) co_await c.ex->finish(body);
  finish(c);
  co_return true;
}

// A cached answer as the stream of the API the client called: the
// Responses API's typed events, Anthropic's events (from an Anthropic
// message as stored, or from a chat answer for a Messages client of the
// chat pipeline), or chat chunks. "" when it cannot be replayed.
std::string Gateway::replayed_stream(const Call& c, const bj::object& answer, const Usage& usage) const {
  if (c.responses_api) return responses_events(answer);
  if (c.anthropic_api && c.dialect == Dialect::chat) return anthropic::message_events(answer);
  std::string out;
  if (auto events = dialect_stream(c)) {
    for (const auto& chunk : completion_to_chunks(answer, false)) out += events->chunk(chunk);
    out += events->end(usage);
    return out;
  }
  for (const auto& chunk : completion_to_chunks(answer, c.include_usage)) out += sse_data(chunk);
  out += "data: [DONE]\n\n";
  return out;
}

responses::Identity Gateway::response_identity(const Call& c) const {
  return {c.ex->info().request_id, c.created_at};
}

std::string Gateway::dialect_answer(const Call& c, const bj::object& completion) const {
  if (c.dialect == Dialect::messages) return bj::serialize(messages::to_message(completion, c.message_id(), c.requested_model));
  return bj::serialize(responses::to_response(completion, c.echo, response_identity(c)));
}

std::unique_ptr<DialectStream> Gateway::dialect_stream(const Call& c) const {
  if (c.dialect == Dialect::messages) return std::make_unique<messages::EventWriter>(c.message_id(), c.requested_model);
  if (c.dialect == Dialect::responses) return std::make_unique<responses::EventWriter>(c.echo, response_identity(c));
  return nullptr;
}

}  // namespace spectra::ai
