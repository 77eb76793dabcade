#pragma once
// The fixture of the tests of the translated dialects (Anthropic's Messages
// API and OpenAI's Responses API served by the chat pipeline): a gateway in
// front of a fake Anthropic, a fake Bedrock (provider "aws", no route: its
// models by provider/model id; two application inference profiles) and two
// fake vLLM replicas, with the exact
// cache and the audit log on, and helpers to read event streams.
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "ai/anthropic_adapter.h"
#include "ai/bedrock_adapter.h"
#include "ai/bedrock_sign.h"
#include "ai/gateway.h"
#include "ai/openai_adapter.h"
#include "aws/sigv4_canonical.h"
#include "cache_test_util.h"
#include "fake_anthropic.h"
#include "fakes/fake_bedrock.h"
#include "fake_openai.h"
#include "http/client.h"
#include "raw_tcp.h"

namespace spectra::ai {

namespace bj = boost::json;
using namespace std::chrono_literals;

class DialectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(anthropic_.start().ok());
    ASSERT_TRUE(bedrock_.start().ok());
    ASSERT_TRUE(local_.start().ok());
    ASSERT_TRUE(spare_.start().ok());
    dir_ = std::filesystem::temp_directory_path() / ("spectra-msg-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    gw_ = std::make_unique<Gateway>(deps(&metrics_));
    gw_->configure(config());
    gw_->register_routes(router_);
    server_ = std::make_unique<http::Server>(pool_, http::ServerOptions{},
                                             [this](http::Exchange& ex) { return router_.dispatch(ex); }, nullptr);
    ASSERT_TRUE(server_->start().ok());
    pool_.start();
  }
  GatewayDeps deps(metrics::Registry* metrics) {
    GatewayDeps deps;
    deps.clock = &clock_;
    deps.adapters["openai"] = std::make_shared<OpenAiAdapter>();
    deps.adapters["vllm"] = deps.adapters["openai"];
    deps.adapters["anthropic"] = std::make_shared<AnthropicAdapter>();
    deps.adapters["bedrock"] = std::make_shared<BedrockAdapter>();
    deps.authorize = [this](const ProviderConfig& p, UpstreamRequest& r) {
      if (p.kind == "anthropic") r.headers.emplace_back("x-api-key", p.api_key);
      if (p.kind == "bedrock") return bedrock::sign_upstream_request(r, bedrock_.credentials(), p.region);
      return Status();
    };
    deps.state_dir = dir_.string();
    deps.metrics = metrics;
    return deps;
  }
  // The gateway's config; `cache`: its cache section; `extra`: more
  // sections (", \"name\": {...}"); extra_routes_ and extra_keys_ go first
  // in its routes and keys ("{...}, "), extra_providers_ last in its
  // providers (", {...}").
  std::shared_ptr<const GatewayConfig> config(const std::string& cache = R"({"exact_enabled": true})",
                                              const std::string& extra = "", const std::string& guardrail_version = "1") {
    const std::string ai = R"({"enabled": true,
      "providers": [
        {"name": "claude", "kind": "anthropic", "base_url": ")" + anthropic_.base_url() + R"(", "api_key": "test-anthropic-key"},
        {"name": "openai", "kind": "openai", "base_url": "http://127.0.0.1:1/v1"},
        {"name": "aws", "kind": "bedrock", "base_url": ")" + bedrock_.base_url() + R"(", "region": "us-east-1",
         "base_models": [{"model": ")" + std::string(kOpusProfile) + R"(", "base_model": ")" + std::string(kOpusModel) + R"("}],
         "anthropic_betas": [{"model": ")" + std::string(kSonnetOnBedrock) + R"(",
                              "betas": ["context-1m-2025-08-07", "interleaved-thinking-2025-05-14"]}]},
        {"name": "guarded", "kind": "bedrock", "base_url": ")" + bedrock_.base_url() + R"(", "region": "us-east-1",
         "guardrail": {"id": "gr1abc", "version": ")" + guardrail_version + R"(",
                       "prices": [{"policy": "wordPolicy", "per_1k_units_usd": 0.5}]}},
        {"name": "local", "kind": "vllm", "endpoints": [")" + local_.base_url() + R"("],
         "thinking_kwargs": [{"model": "qwen3-32b", "kwarg": "enable_thinking"}]},
        {"name": "spare", "kind": "vllm", "endpoints": [")" + spare_.base_url() + R"("]})" + extra_providers_ + R"(],
      "routes": [)" + extra_routes_ + R"({"alias": "sonnet", "target": "claude/claude-sonnet-4"}, {"alias": "gpt", "target": "openai/gpt-4o"},
                 {"alias": "llama", "target": "local/llama-3", "fallbacks": ["spare/llama-3"]},
                 {"alias": "sonnet-or-local", "target": "claude/claude-sonnet-4", "fallbacks": ["local/llama-3"]},
                 {"alias": "mixed", "target": "claude/claude-sonnet-4", "balance": [{"target": "local/llama-3"}]}],
      "virtual_keys": [)" + extra_keys_ + R"(
        {"name": "team-a", "key": "sk-team-a"},
        {"name": "once", "key": "sk-once", "rpm": 1},
        {"name": "private", "key": "sk-private", "local_only": true}],
      "cache": )" + cache + R"(,
      "audit": {"enabled": true, "path": "audit.jsonl"})" + extra + "}";
    return make_gateway_config(bj::parse(ai).as_object());
  }
  // Another gateway of the same fleet (its own server, the same upstreams).
  struct Peer {
    metrics::Registry metrics;
    std::unique_ptr<Gateway> gw;
    http::Router router;
    std::unique_ptr<http::Server> server;
  };
  Peer& start_peer(std::shared_ptr<const GatewayConfig> cfg) {
    auto p = std::make_unique<Peer>();
    p->gw = std::make_unique<Gateway>(deps(&p->metrics));
    p->gw->configure(std::move(cfg));
    p->gw->register_routes(p->router);
    Peer* raw = p.get();
    p->server = std::make_unique<http::Server>(pool_, http::ServerOptions{},
                                               [raw](http::Exchange& ex) { return raw->router.dispatch(ex); }, nullptr);
    EXPECT_TRUE(p->server->start().ok());
    peers_.push_back(std::move(p));
    return *peers_.back();
  }
  void TearDown() override {
    for (auto& p : peers_) p->server->stop(1s);
    server_->stop(1s);
    pool_.stop();
    pool_.join();
    peers_.clear();
    gw_.reset();
    std::filesystem::remove_all(dir_);
  }
  http::ClientResponse post(const std::string& path, const std::string& body, const std::string& key = "sk-team-a",
                            const std::string& beta = "") {
    http::Client c({"127.0.0.1", server_->port(), ""}, 10s);
    std::vector<std::pair<std::string, std::string>> headers = {{"x-api-key", key}, {"anthropic-version", "2023-06-01"}};
    if (!beta.empty()) headers.emplace_back("anthropic-beta", beta);
    auto r = c.send(http::Verb::post, path, body, headers);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : http::ClientResponse{};
  }
  // An OpenAI SDK's call: the key as a bearer token.
  http::ClientResponse post_openai(const std::string& path, const std::string& body, const std::string& key = "sk-team-a",
                                   const http::Server* to = nullptr) {
    http::Client c({"127.0.0.1", (to ? to : server_.get())->port(), ""}, 10s);
    auto r = c.send(http::Verb::post, path, body, {{"authorization", "Bearer " + key}, {"content-type", "application/json"}});
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : http::ClientResponse{};
  }
  // The audit log's records, once `at_least` are written.
  std::vector<bj::object> audit_records(std::uint64_t at_least) {
    test::eventually([&] { gw_->audit()->flush(); return gw_->audit()->written() >= at_least; }, 5s);
    std::vector<bj::object> out;
    std::ifstream f(dir_ / "audit.jsonl");
    for (std::string line; std::getline(f, line);) out.push_back(bj::parse(line).as_object());
    return out;
  }
  // The audit records of calls served through chat in translation (those
  // naming the API the client spoke), once `at_least` records are written.
  std::vector<bj::object> translated_records(std::uint64_t at_least) {
    std::vector<bj::object> out;
    for (auto& r : audit_records(at_least)) {
      if (r.contains("api")) out.push_back(std::move(r));
    }
    return out;
  }
  // The same call twice: a miss that is stored, then a hit.
  std::pair<http::ClientResponse, http::ClientResponse> miss_then_hit(const std::string& ask) {
    auto first = post("/v1/messages", ask);
    EXPECT_EQ(first.status, 200u) << first.body;
    EXPECT_EQ(first.header("x-spectra-cache"), "miss");
    test::eventually([&] { return gw_->cache()->stats().entries == 1; }, 5s);
    auto second = post("/v1/messages", ask);
    EXPECT_EQ(second.status, 200u) << second.body;
    EXPECT_EQ(second.header("x-spectra-cache"), "hit");
    return {first, second};
  }
  // The metered totals once `requests` answers are in (a stream is metered
  // after its last byte went out).
  MeterTotals metered(std::int64_t requests) {
    test::eventually([&] { return gw_->meter().totals("team-a", "claude", "claude-sonnet-4").requests >= requests; }, 5s);
    return gw_->meter().totals("team-a", "claude", "claude-sonnet-4");
  }

  FakeClock clock_;
  metrics::Registry metrics_;
  fakes::FakeAnthropic anthropic_;
  // Two application inference profiles of the (fake) account, both running
  // Claude Opus 4.7: the config names the model of the first only.
  static constexpr std::string_view kOpusProfile =
      "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/opus47team";
  static constexpr std::string_view kUnnamedProfile =
      "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/unnamed1";
  static constexpr std::string_view kOpusModel = "anthropic.claude-opus-4-7-v1:0";
  // The one model the aws provider lists beta flags for (anthropic_betas).
  static constexpr std::string_view kSonnetOnBedrock = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
  static fakes::FakeBedrockOptions bedrock_options() {
    fakes::FakeBedrockOptions o;
    o.inference_profiles = {{std::string(kOpusProfile), std::string(kOpusModel)},
                            {std::string(kUnnamedProfile), std::string(kOpusModel)}};
    // The "guarded" provider's guardrail, in two versions.
    o.guardrails["gr1abc:1"].blocked_words = {"password"};
    o.guardrails["gr1abc:2"].blocked_words = {"password", "salary"};
    return o;
  }
  fakes::FakeBedrock bedrock_{bedrock_options()};
  fakes::FakeOpenAi local_{"local"}, spare_{"spare"};
  std::string extra_routes_, extra_providers_, extra_keys_;  // spliced into config() (see there)
  std::filesystem::path dir_;
  std::unique_ptr<Gateway> gw_;
  http::Router router_;
  http::IoPool pool_{2};
  std::unique_ptr<http::Server> server_;
  std::vector<std::unique_ptr<Peer>> peers_;
};

// The events of an Anthropic stream, as (type, data).
inline std::vector<std::pair<std::string, bj::object>> events_of(const std::string& body) {
  std::vector<std::pair<std::string, bj::object>> out;
  std::size_t at = 0;
  while ((at = body.find("event: ", at)) != std::string::npos) {
    const auto eol = body.find('\n', at);
    const auto data = body.find("data: ", eol);
    const auto end = body.find("\n\n", data);
    out.emplace_back(body.substr(at + 7, eol - at - 7), bj::parse(body.substr(data + 6, end - data - 6)).as_object());
    at = end;
  }
  return out;
}

inline std::string types_of(const std::vector<std::pair<std::string, bj::object>>& events) {
  std::string out;
  for (const auto& [type, data] : events) {
    EXPECT_EQ(std::string(data.at("type").as_string()), type) << "the event line and the data type agree";
    out += (out.empty() ? "" : " ") + type;
  }
  return out;
}

// What the deltas of a stream add up to: text, and tool input JSON.
inline std::string deltas_of(const std::vector<std::pair<std::string, bj::object>>& events, const char* kind, const char* field) {
  std::string out;
  for (const auto& [type, data] : events) {
    if (type == "content_block_delta" && data.at("delta").at("type") == kind) out += data.at("delta").at(field).as_string();
  }
  return out;
}

}  // namespace spectra::ai
