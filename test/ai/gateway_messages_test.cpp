// Anthropic's Messages API on the gateway (/v1/messages, count_tokens):
// relayed to the fake Anthropic upstream as it is, with the key read from
// x-api-key, usage metered exactly from the answer or from message_start
// and message_delta, and the gateway's own refusals in Anthropic's shape.
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <filesystem>

#include "ai/anthropic_adapter.h"
#include "ai/gateway.h"
#include "ai/openai_adapter.h"
#include "cache_test_util.h"
#include "fake_anthropic.h"
#include "http/client.h"
#include "raw_tcp.h"

namespace spectra::ai {
namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;
using Headers = std::vector<std::pair<std::string, std::string>>;

class MessagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(anthropic_.start().ok());
    dir_ = std::filesystem::temp_directory_path() / ("spectra-msg-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    GatewayDeps deps;
    deps.clock = &clock_;
    deps.adapters["openai"] = std::make_shared<OpenAiAdapter>();
    deps.adapters["anthropic"] = std::make_shared<AnthropicAdapter>();
    deps.authorize = [](const ProviderConfig& p, UpstreamRequest& r) {
      if (p.kind == "anthropic") r.headers.emplace_back("x-api-key", p.api_key);
      return Status();
    };
    deps.state_dir = dir_.string();
    gw_ = std::make_unique<Gateway>(std::move(deps));
    const std::string ai = R"({"enabled": true,
      "providers": [
        {"name": "claude", "kind": "anthropic", "base_url": ")" + anthropic_.base_url() + R"(", "api_key": "test-anthropic-key"},
        {"name": "openai", "kind": "openai", "base_url": "http://127.0.0.1:1/v1"}],
      "routes": [{"alias": "sonnet", "target": "claude/claude-sonnet-4"}, {"alias": "gpt", "target": "openai/gpt-4o"}],
      "virtual_keys": [
        {"name": "team-a", "key": "sk-team-a"},
        {"name": "once", "key": "sk-once", "rpm": 1},
        {"name": "private", "key": "sk-private", "local_only": true}],
      "cache": {"exact_enabled": true},
      "audit": {"enabled": true, "path": "audit.jsonl"}})";
    gw_->configure(make_gateway_config(bj::parse(ai).as_object()));
    gw_->register_routes(router_);
    server_ = std::make_unique<http::Server>(pool_, http::ServerOptions{},
                                             [this](http::Exchange& ex) { return router_.dispatch(ex); }, nullptr);
    ASSERT_TRUE(server_->start().ok());
    pool_.start();
  }
  void TearDown() override {
    server_->stop(1s);
    pool_.stop();
    pool_.join();
    gw_.reset();
    std::filesystem::remove_all(dir_);
  }
  http::ClientResponse post(const std::string& path, const std::string& body, const std::string& key = "sk-team-a") {
    http::Client c({"127.0.0.1", server_->port(), ""}, 10s);
    auto r = c.send(http::Verb::post, path, body, {{"x-api-key", key}, {"anthropic-version", "2023-06-01"}});
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : http::ClientResponse{};
  }
  // The metered totals once `requests` answers are in (a stream is metered
  // after its last byte went out).
  MeterTotals metered(std::int64_t requests) {
    test::eventually([&] { return gw_->meter().totals("team-a", "claude", "claude-sonnet-4").requests >= requests; }, 5s);
    return gw_->meter().totals("team-a", "claude", "claude-sonnet-4");
  }

  FakeClock clock_;
  fakes::FakeAnthropic anthropic_;
  std::filesystem::path dir_;
  std::unique_ptr<Gateway> gw_;
  http::Router router_;
  http::IoPool pool_{2};
  std::unique_ptr<http::Server> server_;
};

TEST_F(MessagesTest, WholeStreamedAndCountedAreRelayedAndMetered) {
  // "Echo: one two three" (4 words) for the 3-word prompt; the model the
  // upstream saw is the resolved one.
  auto whole = post("/v1/messages", R"({"model":"sonnet","max_tokens":64,"messages":[{"role":"user","content":"one two three"}]})");
  ASSERT_EQ(whole.status, 200u) << whole.body;
  auto m = bj::parse(whole.body);
  EXPECT_EQ(m.at("type"), "message");
  EXPECT_EQ(m.at("content").at(0).at("text"), "Echo: one two three");
  EXPECT_EQ(bj::parse(anthropic_.last_request().body).at("model"), "claude-sonnet-4");
  EXPECT_EQ(anthropic_.last_request().header("x-api-key"), "test-anthropic-key") << "the client's key went upstream";
  auto t = metered(1);
  EXPECT_EQ(t.prompt_tokens, 3);
  EXPECT_EQ(t.completion_tokens, 4);

  // Streamed, with prompt caching reported: prompt = input + cache reads +
  // cache writes, as on chat; message_delta's total replaces message_start's 1.
  anthropic_.set_faults({.cache_read_input_tokens = 10, .cache_creation_input_tokens = 5});
  auto streamed = post("/v1/messages",
                       R"({"model":"claude/claude-sonnet-4","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"four five"}]})");
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  EXPECT_NE(streamed.body.find("event: message_start"), std::string::npos);
  EXPECT_NE(streamed.body.find("event: message_stop"), std::string::npos);
  t = metered(2);
  EXPECT_EQ(t.prompt_tokens, 3 + 2 + 10 + 5);
  EXPECT_EQ(t.completion_tokens, 4 + 3);
  EXPECT_EQ(t.cached_prompt_tokens, 10);

  // count_tokens answers without usage: not metered.
  auto count = post("/v1/messages/count_tokens", R"({"model":"sonnet","messages":[{"role":"user","content":"a b c d"}]})");
  ASSERT_EQ(count.status, 200u) << count.body;
  EXPECT_EQ(bj::parse(count.body).at("input_tokens"), 4);
  EXPECT_EQ(gw_->meter().totals("team-a", "claude", "claude-sonnet-4").prompt_tokens, 3 + 2 + 10 + 5);
}

// The gateway's own refusals speak Anthropic's error shape (its SDKs pick
// the error class from the status and read error.type), and none of them
// reaches the upstream.
TEST_F(MessagesTest, RefusalsAreInAnthropicsShape) {
  auto type_of = [](const http::ClientResponse& r) {
    auto v = bj::parse(r.body);
    EXPECT_EQ(v.at("type"), "error") << r.body;
    return std::string(v.at("error").at("type").as_string());
  };
  const std::string ask = R"({"model":"sonnet","max_tokens":8,"messages":[{"role":"user","content":"x"}]})";
  auto nokey = post("/v1/messages", ask, "sk-wrong");
  EXPECT_EQ(nokey.status, 401u);
  EXPECT_EQ(type_of(nokey), "authentication_error");
  auto openai_model = post("/v1/messages", R"({"model":"gpt","max_tokens":8,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(openai_model.status, 404u);
  EXPECT_EQ(type_of(openai_model), "not_found_error");
  auto local_only = post("/v1/messages", ask, "sk-private");
  EXPECT_EQ(local_only.status, 403u);
  EXPECT_EQ(type_of(local_only), "permission_error");
  auto no_model = post("/v1/messages", R"({"max_tokens":8})");
  EXPECT_EQ(no_model.status, 400u);
  EXPECT_EQ(type_of(no_model), "invalid_request_error");
  EXPECT_EQ(anthropic_.requests(), 0u);
  EXPECT_EQ(post("/v1/messages", ask, "sk-once").status, 200u);
  auto limited = post("/v1/messages", ask, "sk-once");
  EXPECT_EQ(limited.status, 429u);
  EXPECT_EQ(type_of(limited), "rate_limit_error");
  EXPECT_FALSE(limited.header("retry-after").empty());
  EXPECT_EQ(anthropic_.requests(), 1u);
  // The upstream's own errors pass as they are (429 with its retry-after,
  // 529 overloaded), with its request id.
  anthropic_.set_faults({.error_status = 429});
  auto upstream_limited = post("/v1/messages", ask);
  EXPECT_EQ(upstream_limited.status, 429u);
  EXPECT_EQ(upstream_limited.header("retry-after"), "1");
  EXPECT_TRUE(upstream_limited.header("request-id").starts_with("req_fake_")) << upstream_limited.header("request-id");
  anthropic_.set_faults({.error_status = 529});
  auto overloaded = post("/v1/messages", ask);
  EXPECT_EQ(overloaded.status, 529u);
  EXPECT_EQ(type_of(overloaded), "overloaded_error");
}

// A repeated whole Messages call is answered from the exact cache (metered
// as a hit); a stream is not cached.
TEST_F(MessagesTest, RepeatedWholeCallsAreCached) {
  const std::string ask = R"({"model":"sonnet","max_tokens":64,"messages":[{"role":"user","content":"same again"}]})";
  auto first = post("/v1/messages", ask);
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(first.header("x-spectra-cache"), "miss");
  test::eventually([&] { return gw_->cache()->stats().entries == 1; }, 5s);
  auto second = post("/v1/messages", ask);
  ASSERT_EQ(second.status, 200u);
  EXPECT_EQ(second.header("x-spectra-cache"), "hit");
  EXPECT_EQ(bj::parse(second.body), bj::parse(first.body));
  EXPECT_EQ(anthropic_.requests(), 1u);
  const auto t = metered(1);
  EXPECT_EQ(t.exact_hits, 1);
  EXPECT_EQ(t.saved_tokens, 2 + 3);  // "same again" in, "Echo: same again" out
  auto streamed = post("/v1/messages",
                       R"({"model":"sonnet","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"same again"}]})");
  ASSERT_EQ(streamed.status, 200u);
  EXPECT_EQ(anthropic_.requests(), 2u);
}

// GET /v1/models from Anthropic's SDKs (anthropic-version sent): Anthropic's
// list shape, and only the models /v1/messages can serve.
TEST_F(MessagesTest, ModelsListInAnthropicsShapeForItsSdks) {
  http::Client c({"127.0.0.1", server_->port(), ""}, 10s);
  const Headers h{{"x-api-key", "sk-team-a"}, {"anthropic-version", "2023-06-01"}};
  auto list = c.send(http::Verb::get, "/v1/models?limit=20", "", h);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->status, 200u) << list->body;
  EXPECT_EQ(bj::parse(list->body), bj::parse(R"({"data":[{"type":"model","id":"sonnet","display_name":"sonnet",
      "created_at":"1970-01-01T00:00:00Z"}],"has_more":false,"first_id":"sonnet","last_id":"sonnet"})"));
  auto one = c.send(http::Verb::get, "/v1/models/sonnet", "", h);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(bj::parse(one->body).at("type"), "model");
  auto other = c.send(http::Verb::get, "/v1/models/gpt", "", h);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->status, 404u);
  EXPECT_EQ(bj::parse(other->body).at("error").at("type"), "not_found_error");
  // Without anthropic-version: OpenAI's list, every model the key may use.
  auto openai = c.send(http::Verb::get, "/v1/models", "", {{"Authorization", "Bearer sk-team-a"}});
  ASSERT_TRUE(openai.ok());
  EXPECT_EQ(bj::parse(openai->body).at("data").as_array().size(), 2u) << openai->body;
}

// An upstream that drops a stream midway: the client gets Anthropic's error
// event, not a silent cut.
TEST_F(MessagesTest, ABrokenStreamEndsWithAnAnthropicErrorEvent) {
  anthropic_.set_faults({.drop_after = 2});
  auto r = post("/v1/messages",
                R"({"model":"sonnet","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"one two three four"}]})");
  ASSERT_EQ(r.status, 200u);
  EXPECT_NE(r.body.find("event: content_block_delta"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\""), std::string::npos)
      << r.body;
  EXPECT_EQ(r.body.find("event: message_stop"), std::string::npos);
}

}  // namespace
}  // namespace spectra::ai
