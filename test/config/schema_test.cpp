#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "config/model_schema.h"

namespace spectra::config {
namespace {

Errors check(const std::string& section, const std::string& json) {
  bj::value v = bj::parse(json);
  Errors errs;
  validate_and_normalize(section_schema(section), v, "/" + section, errs);
  return errs;
}

bool has(const Errors& e, const std::string& path, const std::string& reason_part = "") {
  for (const auto& x : e) {
    if (x.path == path && x.reason.find(reason_part) != std::string::npos) return true;
  }
  return false;
}

TEST(Schema, DefaultsValidateAndCoverEverySection) {
  bj::object d = default_config();
  for (const auto& s : section_names()) EXPECT_TRUE(d.contains(s)) << s;
  EXPECT_EQ(d.at("ai").at("listen_port").as_int64(), 8090);
  EXPECT_EQ(d.at("network").at("l4_backend").as_string(), "auto");
}

TEST(Schema, ReportsEveryErrorWithPath) {
  auto e = check("network", R"({
    "snat": {"enabled": true, "mode": "snat"},
    "port_forwards": [{"name": "Web", "listen_port": 0, "target_address": "10.0.0.300", "target_port": 80, "extra": 1}],
    "firewall": {"rules": [{"name": "r", "action": "maybe", "protocol": "icmp", "ports": ["80"]}]},
    "bogus": true
  })");
  EXPECT_TRUE(has(e, "/network/bogus", "unknown field"));
  EXPECT_TRUE(has(e, "/network/port_forwards/0/name", "lower-case"));
  EXPECT_TRUE(has(e, "/network/port_forwards/0/listen_port", "between 1 and 65535"));
  EXPECT_TRUE(has(e, "/network/port_forwards/0/target_address", "IPv4"));
  EXPECT_TRUE(has(e, "/network/port_forwards/0/extra", "unknown field"));
  EXPECT_TRUE(has(e, "/network/firewall/rules/0/action", "one of"));
  // Cross-field checks run where the object itself is well-typed.
  EXPECT_TRUE(has(e, "/network/snat/to_address", "required when mode is snat"));
  EXPECT_TRUE(has(e, "/network/snat/source_cidrs"));
  EXPECT_GE(e.size(), 8u);
}

TEST(Schema, WrongTypesNamed) {
  auto e = check("proxy", R"({"forward_proxy": {"enabled": "yes", "listen_port": 3128.5}, "filtering": []})");
  EXPECT_TRUE(has(e, "/proxy/forward_proxy/enabled", "expected true or false, got a string"));
  EXPECT_TRUE(has(e, "/proxy/forward_proxy/listen_port", "expected an integer"));
  EXPECT_TRUE(has(e, "/proxy/filtering", "expected an object, got an array"));
}

TEST(Schema, UniqueNamesAndCollisions) {
  auto e = check("network", R"({"port_forwards": [
    {"name": "a", "listen_port": 80, "target_address": "10.0.0.1", "target_port": 80},
    {"name": "a", "listen_port": 80, "target_address": "10.0.0.2", "target_port": 80}]})");
  EXPECT_TRUE(has(e, "/network/port_forwards/1/name", "unique"));
  auto c = check("network", R"({"port_forwards": [
    {"name": "a", "listen_port": 80, "target_address": "10.0.0.1", "target_port": 80},
    {"name": "b", "listen_port": 80, "target_address": "10.0.0.2", "target_port": 80}]})");
  EXPECT_TRUE(has(c, "/network/port_forwards/1/listen_port", "collides"));
}

TEST(Schema, AiRoutesMustNameConfiguredProviders) {
  auto e = check("ai", R"({"providers": [{"name": "oa", "kind": "openai"}, {"name": "br", "kind": "bedrock"}, {"name": "lv", "kind": "vllm"}],
    "routes": [{"alias": "x", "target": "nope/gpt"}, {"alias": "y", "target": "oa"},
               {"alias": "z", "target": "lv/m", "overflow": {"policy": "spill"}}]})");
  EXPECT_TRUE(has(e, "/ai/routes/0/target", "not configured"));
  EXPECT_TRUE(has(e, "/ai/routes/1/target", "provider/model"));
  EXPECT_TRUE(has(e, "/ai/routes/2/overflow/spill_to", "required"));
  EXPECT_TRUE(has(e, "/ai/providers/1/region", "required"));
  EXPECT_TRUE(has(e, "/ai/providers/2/endpoints"));
}

TEST(Schema, AiProviderCaFileIsAbsoluteAndForHttpsOnly) {
  auto e = check("ai", R"({"providers": [
    {"name": "a", "kind": "vllm", "endpoints": ["https://vllm.internal/v1", "http://10.0.3.10:8000/v1"], "ca_file": "/etc/ca.pem"},
    {"name": "b", "kind": "openai", "base_url": "https://llm.internal/v1", "ca_file": "certs/ca.pem"}]})");
  EXPECT_TRUE(has(e, "/ai/providers/0/ca_file", "http://10.0.3.10:8000/v1 is not one"));
  EXPECT_TRUE(has(e, "/ai/providers/1/ca_file", "absolute path"));
  // The default URL of a kind is https: a CA of a TLS-inspecting egress proxy.
  auto ok = check("ai", R"({"providers": [
    {"name": "a", "kind": "vllm", "endpoints": ["https://vllm.internal/v1"], "ca_file": "/etc/ca.pem"},
    {"name": "b", "kind": "openai", "ca_file": "/etc/corp-ca.pem"}]})");
  EXPECT_TRUE(ok.empty()) << (ok.empty() ? "" : ok.front().path + ": " + ok.front().reason);
}

TEST(Schema, AiBaseModelsNameEachModelOnceAndBoth) {
  auto ok = check("ai", R"({"providers": [{"name": "aws", "kind": "bedrock", "region": "us-east-1", "base_models": [
    {"model": "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1", "base_model": "anthropic.claude-opus-4-7-v1:0"}]}]})");
  EXPECT_TRUE(ok.empty()) << (ok.empty() ? "" : ok.front().path + ": " + ok.front().reason);
  auto e = check("ai", R"({"providers": [{"name": "aws", "kind": "bedrock", "region": "us-east-1", "base_models": [
    {"model": "p1", "base_model": "a"}, {"model": "p1", "base_model": "b"}]}]})");
  EXPECT_TRUE(has(e, "/ai/providers/0/base_models/1/model", "duplicate")) << "p1 twice";
  e = check("ai", R"({"providers": [{"name": "aws", "kind": "bedrock", "region": "us-east-1", "base_models": [
    {"model": "p2"}]}]})");
  EXPECT_TRUE(has(e, "/ai/providers/0/base_models/0/base_model"));
}

TEST(Schema, AiAnthropicBetasAreFlagsPerBedrockModel) {
  auto ok = check("ai", R"({"providers": [{"name": "aws", "kind": "bedrock", "region": "us-east-1", "anthropic_betas": [
    {"model": "anthropic.claude-sonnet-4-5-20250929-v1:0", "betas": ["context-1m-2025-08-07", "interleaved-thinking-2025-05-14"]}]}]})");
  EXPECT_TRUE(ok.empty()) << (ok.empty() ? "" : ok.front().path + ": " + ok.front().reason);
  auto e = check("ai", R"({"providers": [{"name": "aws", "kind": "bedrock", "region": "us-east-1", "anthropic_betas": [
    {"model": "m", "betas": ["a"]}, {"model": "m", "betas": ["b"]}]}]})");
  EXPECT_TRUE(has(e, "/ai/providers/0/anthropic_betas/1/model", "duplicate")) << "m twice";
  e = check("ai", R"({"providers": [{"name": "aws", "kind": "bedrock", "region": "us-east-1", "anthropic_betas": [
    {"model": "m", "betas": ["a"]}, {"model": "n", "betas": ["Bad Flag"]}, {"model": "o"}]}]})");
  EXPECT_TRUE(has(e, "/ai/providers/0/anthropic_betas/1/betas/0")) << "not a flag";
  EXPECT_TRUE(has(e, "/ai/providers/0/anthropic_betas/2/betas", "required"));
  e = check("ai", R"({"providers": [{"name": "a", "kind": "anthropic", "anthropic_betas": [{"model": "m", "betas": ["a"]}]}]})");
  EXPECT_TRUE(has(e, "/ai/providers/0/anthropic_betas", "kind bedrock"));
}

TEST(Schema, AiThinkingKwargsAreForVllmModels) {
  auto ok = check("ai", R"({"providers": [{"name": "local", "kind": "vllm", "endpoints": ["http://10.0.3.10:8000/v1"],
    "thinking_kwargs": [{"model": "Qwen/Qwen3-32B", "kwarg": "enable_thinking"}]}]})");
  EXPECT_TRUE(ok.empty()) << (ok.empty() ? "" : ok.front().path + ": " + ok.front().reason);
  auto e = check("ai", R"({"providers": [{"name": "local", "kind": "vllm", "endpoints": ["http://10.0.3.10:8000/v1"],
    "thinking_kwargs": [{"model": "m", "kwarg": "a"}, {"model": "m", "kwarg": "b"}]}]})");
  EXPECT_TRUE(has(e, "/ai/providers/0/thinking_kwargs/1/model", "duplicate"));
  e = check("ai", R"({"providers": [{"name": "local", "kind": "vllm", "endpoints": ["http://10.0.3.10:8000/v1"],
    "thinking_kwargs": [{"model": "m", "kwarg": "enable thinking"}, {"model": "n"}]}]})");
  EXPECT_TRUE(has(e, "/ai/providers/0/thinking_kwargs/0/kwarg"));
  EXPECT_TRUE(has(e, "/ai/providers/0/thinking_kwargs/1/kwarg", "required"));
  e = check("ai", R"({"providers": [{"name": "o", "kind": "openai", "thinking_kwargs": [{"model": "m", "kwarg": "a"}]}]})");
  EXPECT_TRUE(has(e, "/ai/providers/0/thinking_kwargs", "kind vllm"));
}

TEST(Schema, AiQuotasAreRequestsAndTokensAMinutePerModel) {
  auto ok = check("ai", R"({"providers": [{"name": "aws", "kind": "bedrock", "region": "us-east-1", "quotas": [
    {"model": "anthropic.claude-sonnet-4-5-20250929-v1:0", "rpm": 200, "tpm": 2000000}, {"model": "amazon.titan-embed-text-v2:0", "rpm": 6000}]}]})");
  EXPECT_TRUE(ok.empty()) << (ok.empty() ? "" : ok.front().path + ": " + ok.front().reason);
  auto e = check("ai", R"({"providers": [{"name": "o", "kind": "openai", "quotas": [
    {"model": "m", "rpm": 1}, {"model": "m", "tpm": 5}]}]})");
  EXPECT_TRUE(has(e, "/ai/providers/0/quotas/1/model", "duplicate"));
  e = check("ai", R"({"providers": [{"name": "o", "kind": "openai", "quotas": [{"model": "m", "rpm": 1}, {"model": "n"}]}]})");
  EXPECT_TRUE(has(e, "/ai/providers/0/quotas/1", "neither rpm nor tpm"));
  e = check("ai", R"({"providers": [{"name": "o", "kind": "openai", "quotas": [{"model": "p", "rpm": -1}, {"rpm": 3}]}]})");
  EXPECT_TRUE(has(e, "/ai/providers/0/quotas/0/rpm"));
  EXPECT_TRUE(has(e, "/ai/providers/0/quotas/1/model", "required"));
}

TEST(Schema, AiGuardrailPricesArePerPolicyAndUnique) {
  const std::string aws = R"({"providers": [{"name": "aws", "kind": "bedrock", "region": "us-east-1", "guardrail": {"id": "gr1abc", "version": "1", "prices": )";
  auto ok = check("ai", aws + R"([{"policy": "contentPolicy", "per_1k_units_usd": 0.15}, {"policy": "topicPolicy", "per_1k_units_usd": 0.15}]}}]})");
  EXPECT_TRUE(ok.empty()) << (ok.empty() ? "" : ok.front().path + ": " + ok.front().reason);
  auto e = check("ai", aws + R"([{"policy": "contentPolicies", "per_1k_units_usd": 0.15}, {"policy": "topicPolicy", "per_1k_units_usd": -1},
                                  {"policy": "wordPolicy"}]}}]})");
  EXPECT_TRUE(has(e, "/ai/providers/0/guardrail/prices/0/policy"));
  EXPECT_TRUE(has(e, "/ai/providers/0/guardrail/prices/1/per_1k_units_usd"));
  EXPECT_TRUE(has(e, "/ai/providers/0/guardrail/prices/2/per_1k_units_usd", "required"));
  e = check("ai", aws + R"([{"policy": "topicPolicy", "per_1k_units_usd": 0.15}, {"policy": "topicPolicy", "per_1k_units_usd": 1}]}}]})");
  EXPECT_TRUE(has(e, "/ai/providers/0/guardrail/prices/1/policy", "duplicate"));
}

TEST(Schema, AiRouteBalanceNamesOtherConfiguredTargets) {
  const std::string providers = R"("providers": [{"name": "east", "kind": "openai"}, {"name": "west", "kind": "openai"}])";
  auto ok = check("ai", "{" + providers + R"(, "routes": [{"alias": "a", "target": "east/m", "weight": 3,
    "balance": [{"target": "west/m", "weight": 1}]}]})");
  EXPECT_TRUE(ok.empty()) << (ok.empty() ? "" : ok.front().path + ": " + ok.front().reason);
  auto e = check("ai", "{" + providers + R"(, "routes": [{"alias": "a", "target": "east/m",
    "balance": [{"target": "east/m"}, {"target": "south/m"}]}]})");
  EXPECT_TRUE(has(e, "/ai/routes/0/balance/0/target", "already"));
  EXPECT_TRUE(has(e, "/ai/routes/0/balance/1/target", "not configured"));
  e = check("ai", "{" + providers + R"(, "routes": [{"alias": "a", "target": "east/m",
    "balance": [{"target": "west/m", "weight": 0}]}]})");
  EXPECT_TRUE(has(e, "/ai/routes/0/balance/0/weight"));
  e = check("ai", "{" + providers + R"(, "routes": [{"alias": "a", "target": "east/m",
    "balance": [{"target": "west/m"}, {"target": "west/m"}]}]})");
  EXPECT_TRUE(has(e, "/ai/routes/0/balance/1/target", "duplicate"));
}

TEST(Schema, AiGuardrailsAreBedrocksByIdOrArnAndVersion) {
  for (const char* g : {R"({"id": "gr1abc", "version": "1"})", R"({"id": "gr1abc", "version": "DRAFT", "stream_mode": "async"})",
                        R"({"id": "arn:aws:bedrock:us-east-1:111122223333:guardrail/gr1abc", "version": "12"})"}) {
    auto ok = check("ai", std::string(R"({"providers": [{"name": "aws", "kind": "bedrock", "region": "us-east-1", "guardrail": )") + g + "}]}");
    EXPECT_TRUE(ok.empty()) << g << ": " << (ok.empty() ? "" : ok.front().path + ": " + ok.front().reason);
  }
  auto e = check("ai", R"({"providers": [{"name": "aws", "kind": "bedrock", "region": "us-east-1", "guardrail": {"id": "My Guard", "version": "01"}}]})");
  EXPECT_TRUE(has(e, "/ai/providers/0/guardrail/id"));
  EXPECT_TRUE(has(e, "/ai/providers/0/guardrail/version"));
  e = check("ai", R"({"providers": [{"name": "aws", "kind": "bedrock", "region": "us-east-1", "guardrail": {"id": "gr1abc", "version": "1", "stream_mode": "later"}}]})");
  EXPECT_TRUE(has(e, "/ai/providers/0/guardrail/stream_mode"));
  e = check("ai", R"({"providers": [{"name": "o", "kind": "openai", "guardrail": {"id": "gr1abc", "version": "1"}}]})");
  EXPECT_TRUE(has(e, "/ai/providers/0/guardrail", "kind bedrock"));
}

TEST(Schema, AiKeysModelListsTakeATrailingWildcardOnly) {
  auto ok = check("ai", R"({"virtual_keys": [{"name": "k", "key": "sk-k", "allowed_models": ["gpt", "aws/anthropic.*", "*"]}]})");
  EXPECT_TRUE(ok.empty()) << (ok.empty() ? "" : ok.front().path + ": " + ok.front().reason);
  auto e = check("ai", R"({"virtual_keys": [{"name": "k", "key": "sk-k", "allowed_models": ["aws/*/x", "", "a**"]}]})");
  EXPECT_TRUE(has(e, "/ai/virtual_keys/0/allowed_models/0", "followed by *"));
  EXPECT_TRUE(has(e, "/ai/virtual_keys/0/allowed_models/1"));
  EXPECT_TRUE(has(e, "/ai/virtual_keys/0/allowed_models/2"));
}

TEST(Schema, AiHealthChecksAreForInAccountEndpoints) {
  auto e = check("ai", R"({"providers": [
    {"name": "a", "kind": "vllm", "endpoints": ["http://10.0.3.10:8000/v1"], "health_check": {"path": "health"}},
    {"name": "b", "kind": "openai", "health_check": {"path": "/v1/models"}}]})");
  EXPECT_TRUE(has(e, "/ai/providers/0/health_check/path", "must start with /"));
  EXPECT_TRUE(has(e, "/ai/providers/1/health_check/path", "kind vllm"));
  auto timeout = check("ai", R"({"providers": [{"name": "c", "kind": "vllm", "endpoints": ["http://10.0.3.11:8000/v1"],
     "health_check": {"path": "/health", "interval_ms": 1000, "timeout_ms": 1000}}]})");
  EXPECT_TRUE(has(timeout, "/ai/providers/0/health_check/timeout_ms", "less than interval_ms"));
  auto ok = check("ai", R"({"providers": [
    {"name": "a", "kind": "vllm", "endpoints": ["http://10.0.3.10:8000/v1"], "health_check": {"path": "/health"}},
    {"name": "b", "kind": "openai"}]})");
  EXPECT_TRUE(ok.empty()) << (ok.empty() ? "" : ok.front().path + ": " + ok.front().reason);
}

TEST(Schema, AiKeyExpiryIsAnRfc3339Time) {
  auto e = check("ai", R"({"virtual_keys": [{"name": "ci", "key": "sk-ci", "expires_at": "tomorrow"},
                                            {"name": "contractor", "key": "sk-c", "expires_at": "2026-12-31T23:59:59Z"}]})");
  EXPECT_TRUE(has(e, "/ai/virtual_keys/0/expires_at", "RFC 3339"));
  EXPECT_FALSE(has(e, "/ai/virtual_keys/1/expires_at", ""));
}

TEST(Schema, AiCacheBackendAndEmbedderAreChecked) {
  auto e = check("ai", R"({"providers": [{"name": "oa", "kind": "openai"}],
    "cache": {"backend": "redis", "embedder": "nope/text-embedding-3-small"}})");
  EXPECT_TRUE(has(e, "/ai/cache/redis_url", "required when backend is redis"));
  EXPECT_TRUE(has(e, "/ai/cache/embedder", "not configured"));
  auto creds = check("ai", R"({"cache": {"backend": "redis", "redis_url": "redis://user:pw@cache.internal:6379"}})");
  EXPECT_TRUE(has(creds, "/ai/cache/redis_url", "redis_password"));
  auto scheme = check("ai", R"({"cache": {"backend": "redis", "redis_url": "http://cache.internal"}})");
  EXPECT_TRUE(has(scheme, "/ai/cache/redis_url", "redis://"));
  // The backend's own URL parser runs when the config is written, not only
  // when the gateway connects.
  auto port = check("ai", R"({"cache": {"backend": "redis", "redis_url": "redis://cache.internal:99999/0",
                                        "redis_username": "spectra"}})");
  EXPECT_TRUE(has(port, "/ai/cache/redis_url", "port must be a number"));
  EXPECT_TRUE(has(port, "/ai/cache/redis_password", "required with redis_username"));
  auto ok = check("ai", R"({"providers": [{"name": "oa", "kind": "openai"}],
    "cache": {"backend": "redis", "redis_url": "rediss://cache.internal:6379/2", "redis_password": "s3cret",
              "embedder": "oa/text-embedding-3-small"}})");
  EXPECT_TRUE(ok.empty()) << (ok.empty() ? "" : ok.front().path + ": " + ok.front().reason);
  bj::object comps;
  (void)to_json_schema(config_schema(), comps);
  EXPECT_TRUE(comps.at("AiCache").at("properties").at("redis_password").at("x-spectra-secret").as_bool());
}

TEST(Schema, AiKeptResponsesBudgetIsABoundedInteger) {
  EXPECT_TRUE(has(check("ai", R"({"responses": {"kept_max_bytes": -1}})"), "/ai/responses/kept_max_bytes", ""));
  EXPECT_TRUE(has(check("ai", R"({"responses": {"kept_max_bytes": "64MB"}})"), "/ai/responses/kept_max_bytes", ""));
  auto ok = check("ai", R"({"responses": {"kept_max_bytes": 0}})");
  EXPECT_TRUE(ok.empty()) << (ok.empty() ? "" : ok.front().path + ": " + ok.front().reason);
}

TEST(Schema, Formats) {
  std::string why;
  EXPECT_TRUE(matches_format(Format::kCidr, "fd00::/8", &why));
  EXPECT_FALSE(matches_format(Format::kIpv4Cidr, "10.0.0.0/33", &why));
  EXPECT_TRUE(matches_format(Format::kDomain, "*.example.com", &why));
  EXPECT_FALSE(matches_format(Format::kDomain, "localhost", &why));
  EXPECT_TRUE(matches_format(Format::kUrl, "http://10.0.0.5:8000/v1", &why));
  EXPECT_FALSE(matches_format(Format::kUrl, "ftp://x", &why));
  EXPECT_FALSE(matches_format(Format::kUrl, "http://host:0", &why));
  EXPECT_TRUE(matches_format(Format::kPortRange, "1000-2000", &why));
  EXPECT_FALSE(matches_format(Format::kPortRange, "2000-1000", &why));
  EXPECT_FALSE(matches_format(Format::kInterface, "eth0/1", &why));
}

TEST(Schema, OpenApiSchemaHasComponentsAndSecrets) {
  bj::object comps;
  bj::value root = to_json_schema(config_schema(), comps);
  EXPECT_EQ(root.at("$ref").as_string(), "#/components/schemas/Config");
  ASSERT_TRUE(comps.contains("AiProvider"));
  EXPECT_TRUE(comps.at("AiProvider").at("properties").at("api_key").at("x-spectra-secret").as_bool());
  EXPECT_FALSE(comps.at("PortForward").at("additionalProperties").as_bool());
}

}  // namespace
}  // namespace spectra::config
