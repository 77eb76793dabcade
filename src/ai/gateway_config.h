#pragma once
// The AI section of the config of record as the gateway uses it: an
// immutable snapshot, swapped atomically when a new revision lands, so a
// request sees one consistent config from start to end.
#include <boost/json/object.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ai/adapter.h"
#include "ai/budget_period.h"
#include "ai/metering.h"
#include "ai/upstream_health.h"
#include "common/result.h"

namespace spectra::ai {

struct ProviderConfig {
  std::string name, kind, base_url, api_key, region;
  std::vector<std::string> endpoints;  // vllm
  std::int64_t max_concurrency = 0;    // vllm; 0 = unlimited
  std::int64_t timeout_ms = 120000;        // to the response header (a stream's first byte)
  std::int64_t connect_timeout_ms = 5000;  // TCP connect, TLS handshake included
  std::string ca_file;  // https: PEM file of the CAs to trust instead of the system store
  // vllm: active health checks, GET health_path on each endpoint's origin;
  // empty: none (passive ejection only).
  std::string health_path;
  std::int64_t health_interval_ms = 5000, health_timeout_ms = 1000;
  // vllm: every turn of a chat conversation to the same replica
  // (replica_affinity: conversation), for the replica's prefix cache.
  bool conversation_affinity = false;
  // Model ids that name no model -> the model each runs (base_models).
  std::map<std::string, std::string> base_models;
  // bedrock: model id (or the base model it runs) -> the anthropic-beta
  // flags Claude there may be sent (anthropic_betas).
  std::map<std::string, std::vector<std::string>> anthropic_betas;
  // vllm: model id (or the base model it runs) -> the chat-template keyword
  // that turns its thinking on and off (thinking_kwargs).
  std::map<std::string, std::string> thinking_kwargs;
  // bedrock: the guardrail every chat call goes through (guardrail), and
  // what its text units cost: USD per 1,000 by policy (guardrail.prices;
  // policies not listed cost nothing).
  ModelTarget::Guardrail guardrail;
  std::vector<std::pair<std::string, double>> guardrail_prices;
  // What the guardrail's units in `u` cost at guardrail_prices; none when
  // the provider prices none of them.
  std::optional<double> guardrail_cost(const Usage& u) const;
  // The provider account's own limits for a model (its service quota,
  // quotas): model id (or the base model it runs) -> the limits, counted
  // in the bucket named `bucket` ("quota:<provider>/<model>").
  struct Quota {
    std::string bucket;
    std::int64_t rpm = 0, tpm = 0;
  };
  std::map<std::string, Quota> quotas;
  bool local() const { return kind == "vllm"; }
  // What an adapter needs to call `model` here, at `base_url` (one of the
  // endpoints, or the provider's base_url).
  ModelTarget target(const std::string& model, const std::string& base_url) const;
  // The model `model` runs: its base_models entry, or `model` itself.
  const std::string& base_model(const std::string& model) const;
  // What the provider's answers depend on besides the model and the
  // request, for cache keys: its name, and its guardrail when it has one
  // (an answer given without it is never served under it).
  std::string cache_scope() const;
  // Its thinking_kwargs entry (by id, else by base model), or null.
  const std::string* thinking_kwarg(const std::string& model) const;
  // Its quotas entry (by id, else by base model), or null.
  const Quota* quota(const std::string& model) const;
  // For OpenAI-compatible kinds: the first vLLM endpoint, or base_url, or
  // OpenAI's own; without a trailing slash.
  std::string openai_base_url() const;
};

struct OverflowConfig {
  std::string policy = "reject";  // queue | spill | reject
  std::int64_t max_queue = 64;
  std::int64_t max_wait_ms = 30000;
  std::string spill_to;  // provider/model
};

struct RouteConfig {
  std::string alias, target;
  std::vector<std::string> fallbacks;
  OverflowConfig overflow;
  // Targets sharing the route's load with `target` (of weight `weight`),
  // by weight: each request goes first to the one whose turn it is, then
  // to the others in the order listed, then to the fallbacks.
  struct Share {
    std::string target;
    std::int64_t weight = 1;
  };
  std::int64_t weight = 1;
  std::vector<Share> balance;
  // Every balanced target names the same model behind the same guardrail
  // (two accounts or regions of one model): their answers share the exact
  // and semantic caches, under `target`. Otherwise each target's answers
  // are its own.
  bool one_model = true;

  // The targets of the route's next request in the order they are tried:
  // the balanced ones as above (just `target` without balance), then the
  // fallbacks. Thread-safe.
  std::vector<std::string> next_targets() const;
  // Set up the smooth weighted round-robin over target and balance.
  void plan_turns();

 private:
  std::vector<std::uint16_t> turns_;  // one period: indexes into [target, balance...]
  std::shared_ptr<std::atomic<std::uint64_t>> next_turn_ = std::make_shared<std::atomic<std::uint64_t>>(0);
};

struct VirtualKey {
  std::string name, key_hash;  // sha256 of the key
  // The model names (aliases, provider/model) the key may ask for; an
  // entry ending in '*' allows every name starting with the rest
  // ("aws/anthropic.*"). Empty: all.
  std::set<std::string> allowed_models;
  std::vector<std::string> allowed_prefixes;  // the '*' entries, without it
  bool allows(const std::string& model) const;
  std::int64_t rpm = 0, tpm = 0;
  double budget_usd = 0;
  std::string cache_namespace;
  BudgetPeriod budget_period = BudgetPeriod::kTotal;  // what budget_usd covers
  // After this the key no longer authenticates (a contractor's or a CI
  // job's key); none: it does not expire.
  std::optional<std::chrono::system_clock::time_point> expires_at;
  // The key's prompts stay in the account: only in-account (vllm) models,
  // no spill or fallback to a remote one, no remote embedder.
  bool local_only = false;
  // Limits for each end user its requests name (ai/call_labels.h), so that
  // one user of an application cannot use up the key for all; 0: none.
  std::int64_t end_user_rpm = 0, end_user_tpm = 0;
};

struct GatewayConfig {
  bool enabled = false;
  std::map<std::string, ProviderConfig> providers;
  bool any_quotas = false;  // some provider has quotas (else charging skips their lookup)
  std::map<std::string, RouteConfig> routes;        // by alias
  std::map<std::string, VirtualKey> keys_by_hash;
  bool exact_cache = true;
  bool semantic_cache = false;
  double semantic_threshold = 0.998;
  std::int64_t cache_ttl_seconds = 3600;
  std::int64_t cache_max_bytes = 256 << 20;
  // Memory for the Responses answers the gateway keeps itself (made in
  // translation with store): ai.responses.kept_max_bytes.
  std::int64_t kept_responses_max_bytes = 64 << 20;
  // The semantic cache's embedder: "builtin", or provider/model of a
  // configured provider's embeddings model.
  std::string embedder = "builtin";
  std::string cache_backend = "memory";  // memory | redis
  std::string redis_url, redis_username, redis_password;
  std::int64_t redis_timeout_ms = 50;
  bool redis_fleet_limits = true;  // RPM/TPM/budget counted across the fleet in that Redis
  bool audit_enabled = true;
  std::string audit_path;
  std::int64_t audit_max_file_bytes = 100 << 20;
  std::int64_t audit_keep_files = 10;
  bool audit_bodies = false;
  std::map<std::string, Price> prices;  // by "provider/model" or "model"
  UpstreamHealthOptions upstream_health;

  // Resolves a client's model name to (provider, model): a route alias, or
  // "<provider name>/<model>", or "<kind>/<model>" when exactly one provider
  // has that kind ("local" means vllm).
  Result<std::pair<const ProviderConfig*, std::string>> resolve(const std::string& target) const;
  const Price* price(const std::string& provider, const std::string& model) const;
  // Whether a provider/model target is served in the account (a vllm
  // provider); false for remote and unresolvable ones.
  bool in_account(const std::string& target) const;
  // Whether a model a client names (a route alias or provider/model) can be
  // served in the account: the alias's target or one of its fallbacks is.
  bool served_in_account(const std::string& model) const;
  // Whether the semantic cache's embedder keeps prompts in the account.
  bool embedder_in_account() const { return embedder == "builtin" || in_account(embedder); }
};

// From the normalised `ai` section (secrets in plain text: daemon-internal).
std::shared_ptr<const GatewayConfig> make_gateway_config(const boost::json::object& ai);

}  // namespace spectra::ai
