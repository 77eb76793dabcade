#pragma once
// The AI Gateway: an OpenAI-compatible endpoint (port 8090) in front of
// OpenAI, Anthropic, Bedrock and in-account vLLM.
//
// Each chat request runs a fixed pipeline (Envoy-filter style, no plugins):
//   auth (virtual key) -> limits (RPM/TPM/budget) -> route (alias ->
//   provider/model, fallbacks, overflow) -> exact cache -> coalesce identical
//   in-flight misses -> upstream (adapter translates; failover only before the
//   first token reaches the client) -> meter -> audit.
#include <boost/asio/awaitable.hpp>

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "ai/adapter.h"
#include "ai/audit_log.h"
#include "ai/cache_storage.h"
#include "ai/endpoint_walk.h"
#include "ai/fleet_limits.h"
#include "ai/semantic_share.h"
#include "ai/capacity.h"
#include "ai/exact_cache.h"
#include "ai/gateway_config.h"
#include "ai/health_prober.h"
#include "ai/kept_responses.h"
#include "ai/limits.h"
#include "ai/response_owners.h"
#include "ai/responses_dialect.h"
#include "ai/metering.h"
#include "ai/semantic_cache.h"
#include "common/clock.h"
#include "http/router.h"
#include "metrics/metrics.h"

namespace spectra::ai {

struct GatewayDeps {
  metrics::Registry* metrics = nullptr;
  const Clock* clock = &SystemClock::instance();
  // Adapters by provider kind: openai, vllm, anthropic, bedrock.
  std::map<std::string, std::shared_ptr<const ProviderAdapter>> adapters;
  // Adds credentials to an upstream request (bearer, x-api-key, SigV4).
  std::function<Status(const ProviderConfig&, UpstreamRequest&)> authorize;
  std::string state_dir = ".";  // relative audit paths resolve here
  // Loads the built-in embedding model on first use (semantic cache, or
  // the built-in model on /v1/embeddings). Null: not available.
  std::function<Result<std::shared_ptr<const embed::Embedder>>()> load_embedder;
};

// The name under which the built-in embedding model is served.
inline constexpr const char* kBuiltinEmbeddingModel = "local/all-minilm-l6-v2";
// The built-in model as it is metered and audited (provider "builtin").
inline constexpr const char* kBuiltinModelName = "all-minilm-l6-v2";

class UpstreamCall;

// The errors the HTTP layer answers by itself on the AI port (unknown path,
// wrong method, header or body over its limit, malformed HTTP) in OpenAI's
// shape, {"error": {"message", "type", "param", "code"}}, so that SDKs read
// them as they read the gateway's own. For ServerOptions::error_format;
// register_routes() sets it on the router.
http::Response openai_http_error(http::HttpStatus status, std::string_view code, std::string_view message);

class Gateway {
 public:
  explicit Gateway(GatewayDeps deps);
  ~Gateway();

  // Swaps in a new config snapshot (from a committed revision).
  void configure(std::shared_ptr<const GatewayConfig> cfg);
  // Also makes the router answer 404/405 in OpenAI's shape.
  void register_routes(http::Router& router);

  Meter& meter() { return meter_; }
  const UpstreamHealth& upstream_health() const { return health_; }
  // Active health checks done since start, and how many failed.
  struct HealthCheckCounts {
    std::uint64_t done = 0, failed = 0;
  };
  HealthCheckCounts health_checks() const {
    std::lock_guard lock(mu_);
    return prober_ ? HealthCheckCounts{prober_->checks(), prober_->failed()} : HealthCheckCounts{};
  }
  // Every configured upstream endpoint (a provider's endpoints, or its base
  // URL) with its health, for the config API: state healthy | failing |
  // ejected | checking (cool-down over, waiting for a passing health check),
  // failures and ejections in a row, cool-down left, last error.
  boost::json::array upstream_status() const;
  // Every virtual key with a budget: its period, what it spent in it (the
  // larger of this gateway's meter and, with fleet limits, the fleet's
  // total: what admission compares), what is left and when it renews.
  boost::json::array budget_status() const;
  // Each budgeted key's budget, or (`spent`) what it spent in the current
  // period as budget_status() says it, as gauge series by key and period.
  metrics::Registry::Series budget_series(bool spent) const;
  // What is left of each provider quota now (by provider, model and limit:
  // rpm, tpm): the tighter of this instance's buckets and, with fleet
  // limits, the fleet's window, for /metrics.
  metrics::Registry::Series quota_series() const;
  // The cache storage in force (requests keep the one they started with).
  std::shared_ptr<CacheStorage> cache() const {
    std::lock_guard lock(mu_);
    return cache_;
  }
  // The fleet's limit counters in force; null when limits are per instance.
  std::shared_ptr<FleetLimits> fleet_limits() const {
    std::lock_guard lock(mu_);
    return fleet_;
  }
  // The fleet's shared semantic index; null unless the Redis backend and
  // the semantic cache are both on.
  std::shared_ptr<SemanticShare> semantic_share() const {
    std::lock_guard lock(mu_);
    return share_;
  }
  AuditLog* audit() {
    std::lock_guard lock(mu_);
    return audit_.get();
  }
  std::size_t in_flight_coalesced() const { return coalescer_.in_flight(); }
  std::size_t response_owner_count() const { return owners_.size(); }
  // Keeps who made each stored Responses answer in a journal at `path`
  // (see ResponseOwners::open_journal), so that a restart keeps them.
  Status open_response_journal(const std::string& path) { return owners_.open_journal(path); }
  // And the translated Responses answers it keeps (KeptResponses::open_journal).
  Status open_kept_responses_journal(const std::string& path) { return kept_.open_journal(path); }

  // Everything a request carries through the pipeline (defined in the .cpp).
  struct Call;

 private:
  std::shared_ptr<const GatewayConfig> snapshot() const;
  void configure_cache(const GatewayConfig& cfg);  // the storage the config asks for
  void configure_health_checks(const GatewayConfig& cfg);
  void begin(Call& c, http::Exchange& ex);  // request start: clock, config and audit log snapshot
  // The request's virtual key; null with *refusal set when the bearer token
  // is missing or unknown, or the key has expired.
  const VirtualKey* authenticate(const GatewayConfig& cfg, http::Exchange& ex, std::string* refusal) const;
  // authenticate() for a begun call: false when it was answered (503 with
  // the gateway disabled, 401 without a valid key).
  boost::asio::awaitable<bool> authenticated(Call& c);
  boost::asio::awaitable<void> chat(http::Exchange& ex);
  // GET /v1/models (id null) or /v1/models/{id}.
  boost::asio::awaitable<void> models(http::Exchange& ex, const std::string* id);
  boost::asio::awaitable<void> passthrough(http::Exchange& ex, const char* path);
  // The JSON body of a request that names its model (pass-through routes):
  // c.requested_model set; nullopt when refused and answered (400 without a
  // model, 403 for a model the key may not use).
  boost::asio::awaitable<std::optional<bj::value>> body_with_model(Call& c);
  // POST /v1/messages[/count_tokens] (`path`), Anthropic's protocol as it
  // is, to the Anthropic provider of its model (gateway_messages.cpp).
  boost::asio::awaitable<void> messages(http::Exchange& ex, const char* path);
  boost::asio::awaitable<void> serve_chat(Call& c);
  boost::asio::awaitable<void> messages_via_chat(Call& c, const bj::object& request);
  // A Responses request for a model that does not speak the Responses API,
  // translated and served by the chat pipeline (gateway_responses.cpp).
  boost::asio::awaitable<void> responses_via_chat(Call& c, const bj::object& request);
  boost::asio::awaitable<std::optional<bj::object>> translated(Call& c, const bj::object& request);
  boost::asio::awaitable<std::string> first_stream_error(Call& c, UpstreamCall& call);
  boost::asio::awaitable<void> count_tokens_on_vllm(Call& c, const ProviderConfig& p, const std::string& model,
                                                    const bj::object& request);
  boost::asio::awaitable<void> count_tokens_on_bedrock(Call& c, const ProviderConfig& p, const std::string& model,
                                                       const bj::object& request);
  boost::asio::awaitable<std::optional<bj::object>> counted_as_chat(Call& c, const bj::object& request);
  // GET/DELETE /v1/responses/{id}, GET .../input_items, POST .../cancel
  // (`suffix`): to the endpoint that made the answer, for the key that made it.
  boost::asio::awaitable<void> response_by_id(http::Exchange& ex, const std::string& id, const char* suffix);
  // Records who made a Responses API answer, from the answer or a stream
  // event carrying it (before the client can learn its id).
  void note_response(Call& c, const bj::value& answer_or_event);
  // A Responses API call that continues another (previous_response_id) goes
  // to the provider and endpoint holding that state — the one of
  // `providers` (the call's targets' providers, in order) that made it —
  // and only for the key that made it: sets c.endpoint. Which of
  // `providers` is called (the first for a call that continues none);
  // nullopt when the call was refused (answered).
  boost::asio::awaitable<std::optional<std::size_t>> pin_previous_response(Call& c, const bj::object& body,
                                                                           const std::vector<std::string>& providers);
  // Answers a pass-through call (Responses, Messages) from the exact cache
  // (true), or sets up its store after the upstream answers (false).
  boost::asio::awaitable<bool> passthrough_from_cache(Call& c, const bj::object& body);
  boost::asio::awaitable<bool> upstream(Call& c);
  // Whether a route's target is tried now, passed over for the next one
  // (ejected, or at its provider's quota, while a later target remains;
  // c.error says why), or the call was refused (the last target at its
  // quota: the 429 is answered). Chat's and the pass-through routes'.
  enum class TargetTurn { kTry, kPass, kRefused, kSpill };
  boost::asio::awaitable<TargetTurn> turn_of(Call& c, const ProviderConfig& p, const std::string& model,
                                             const EndpointWalk& walk, bool last);
  // A local model's capacity (max_concurrency) for a target about to be
  // tried, and the route's overflow policy when it is exhausted: the call
  // holds a slot (kTry; c.slot), goes on to the next target (kPass), is
  // spilled to the policy's spill_to (kSpill: only on the last target and
  // when `may_spill`, the caller adds it), or is refused with 429
  // (kRefused, answered). Chat's and the pass-through routes'.
  boost::asio::awaitable<TargetTurn> hold_capacity(Call& c, const ProviderConfig& p, const std::string& model,
                                                   const RouteConfig* route, bool last, bool may_spill);
  // Gives back the capacity slot the call holds (c.slot), if any: as soon
  // as the upstream has answered, before the client has the last byte.
  void release_slot(Call& c);
  // One try of `model` at provider `p`, through `endpoint` (its base URL).
  boost::asio::awaitable<bool> attempt(Call& c, const ProviderConfig& p, const std::string& model,
                                       const std::string& endpoint, bool& retry);
  boost::asio::awaitable<void> fail(Call& c, unsigned status, const std::string& type,
                                    const std::string& message, const std::string& code);
  // Answers from an encoded cache entry; false (nothing sent) if it cannot be decoded.
  boost::asio::awaitable<bool> answer_from_cache(Call& c, const std::string& cached, const char* how);
  std::string replayed_stream(const Call& c, const bj::object& answer, const Usage& usage) const;
  // A chat answer in the API of a translated call (c.dialect not chat),
  // whole or as a stream writer (null for chat).
  std::string dialect_answer(const Call& c, const bj::object& completion) const;
  std::unique_ptr<DialectStream> dialect_stream(const Call& c) const;
  responses::Identity response_identity(const Call& c) const;
  // Translated Responses answers made with store (gateway_responses.cpp):
  // each is kept with the conversation it ends, so that it can be read,
  // listed, deleted and continued by id — in this gateway's own store
  // (kept_) and, with the Redis backend, in the fleet's.
  void keep_response(Call& c, const bj::object& completion);
  boost::asio::awaitable<std::optional<bj::object>> kept_record(Call& c, const std::string& id);
  // The conversation a translated call's previous_response_id continues:
  // false when refused (answered).
  boost::asio::awaitable<bool> previous_conversation(Call& c, const std::string& id, bj::array& history);
  boost::asio::awaitable<void> kept_response_by_id(Call& c, const ResponseOwner& owner, const std::string& id,
                                                   const char* suffix);
  boost::asio::awaitable<void> replay_kept_response(Call& c, const ResponseOwner& owner, const bj::value& response,
                                                    std::int64_t starting_after);
  boost::asio::awaitable<void> input_tokens_via_chat(Call& c, const bj::object& request);
  // (`chat` is changed: its model becomes `model`.)
  boost::asio::awaitable<void> count_tokens_with(Call& c, const ProviderConfig& p, const std::string& model,
                                                 bj::object& chat, Dialect dialect);
  boost::asio::awaitable<std::optional<responses::Translation>> translated_responses(Call& c, const bj::object& request);
  // (`chat` is moved from.)
  boost::asio::awaitable<void> serve_translated(Call& c, bj::object& chat, Dialect dialect);
  void finish(Call& c);
  // The end user's limits, then the key's (this instance's, then the
  // fleet's); counts the request when it is admitted. admitted() answers a refusal (429): false then.
  LimitVerdict admit(Call& c);
  boost::asio::awaitable<bool> admitted(Call& c);
  // A 429 for a refusal of the key's limits or a provider's quota, with
  // Retry-After; `code` is the error's code.
  boost::asio::awaitable<void> rate_limited(Call& c, const LimitVerdict& verdict, const std::string& code);
  // Room in provider p's quota for `model` for one more request (this
  // instance's count, then the fleet's), taken when there is; a refusal
  // names the quota. Allowed when the model has no quota.
  LimitVerdict take_quota(Call& c, const ProviderConfig& p, const std::string& model);
  // What key k spent in its budget's current period: this gateway's meter
  // or, with `fleet`, the larger of it and the fleet's total (what
  // admission compares with the budget).
  double spent_of(const VirtualKey& k, FleetLimits* fleet) const;
  boost::asio::awaitable<void> refuse_remote(Call& c);  // 403 for a local-only key
  void charge(Call& c, const std::string& provider, const std::string& model, const Usage& usage);
  void remember(Call& c);  // caches the answer before its last byte goes out
  EmbedBatcher* batcher();  // loads the model on first use; null if unavailable
  // The last user turn's embedding for the semantic cache, from the
  // configured embedder (built-in, or a provider's embeddings model).
  boost::asio::awaitable<Result<std::vector<float>>> embed_for_cache(Call& c, const std::string& text);
  boost::asio::awaitable<void> builtin_embeddings(Call& c);
  boost::asio::awaitable<void> relay_stream(Call& c, UpstreamCall& call);
  // A pass-through answer to the client: a 2xx stream relayed as it
  // arrives, anything else read whole and sent with its status and type;
  // the usage either carries is metered (unless !c.meter_usage).
  boost::asio::awaitable<void> relay_answer(Call& c, UpstreamCall& call, Status st, const std::string& provider,
                                            const std::string& model);
  // Signs, notes the egress and sends `req` on `call` (through the response header).
  boost::asio::awaitable<Status> open_call(Call& c, const ProviderConfig& p, UpstreamRequest& req, UpstreamCall& call);
  // open_call for each request in turn, each answer read whole.
  boost::asio::awaitable<Status> call_each(Call& c, const ProviderConfig& p, std::vector<UpstreamRequest>& requests,
                                           std::size_t limit, std::vector<std::pair<unsigned, std::string>>& answers);
  // Embeddings from a provider that does not speak OpenAI's (Titan on
  // Bedrock), through `walk`'s endpoint. True when answered; false (nothing
  // sent, c.error set) when it failed in a way that may fail over and it is
  // not the `last` target.
  boost::asio::awaitable<bool> translated_embeddings(Call& c, const ProviderConfig& p, const std::string& model,
                                                     EndpointWalk& walk, bool last);
  void keep_passthrough(Call& c, const std::string& answer);  // a pass-through answer into the exact cache

  GatewayDeps deps_;
  mutable std::mutex mu_;
  std::shared_ptr<const GatewayConfig> cfg_;  // guarded by mu_
  std::shared_ptr<CacheStorage> cache_;  // guarded by mu_; calls keep theirs alive
  std::string cache_identity_;           // the settings cache_ was made from
  std::shared_ptr<FleetLimits> fleet_;   // guarded by mu_; null: limits per instance only
  std::shared_ptr<SemanticShare> share_;  // guarded by mu_; null: the semantic index is this instance's
  std::shared_ptr<AuditLog> audit_;  // guarded by mu_; calls keep theirs alive
  std::string audit_path_;
  // spectra_ai_request_seconds by cache result: hit, semantic-hit, miss, bypass.
  std::array<metrics::Histogram*, 4> latency_{};
  Meter meter_;
  Limiter limiter_;
  Limiter quotas_;  // providers' own limits per model (ProviderConfig::quotas), by bucket
  Limiter end_users_;  // keys' limits per end user, by "<key>\n<end user>"
  Coalescer coalescer_;
  std::mutex embed_mu_;
  std::unique_ptr<EmbedBatcher> batcher_;  // guarded by embed_mu_ until set
  // Partitions are keyed by embedder too: vectors of different models never
  // meet. Shared with share_, which adds the fleet's entries.
  std::shared_ptr<SemanticIndex> index_ = std::make_shared<SemanticIndex>();
  metrics::Counter* embed_failures_ = nullptr;
  std::atomic<std::int64_t> embed_logged_at_{-1'000'000};  // steady seconds of the last embedder warning
  bool embed_failed_ = false;              // guarded by embed_mu_
  Capacity capacity_{deps_.metrics};  // concurrency limits and the overflow queue
  UpstreamHealth health_{deps_.clock};  // outlier ejection, by provider and endpoint
  std::unique_ptr<HealthProber> prober_;  // guarded by mu_; made when a provider first asks for health checks
  RoundRobin rr_;  // where each provider's endpoint rotation stands
  ResponseOwners owners_{deps_.clock};  // who made each Responses API answer
  KeptResponses kept_{deps_.clock};  // translated Responses answers (store)
};

}  // namespace spectra::ai
