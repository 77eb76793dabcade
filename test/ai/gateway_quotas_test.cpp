// Providers' own quotas (requests and tokens a minute per model): a target
// at its quota is passed over for the route's next one without being asked
// (it would only answer 429), on chat, the pass-through APIs and the
// Messages relay; with nothing left the client gets a 429 naming the quota,
// with Retry-After, in the API it called.
#include <boost/json/serialize.hpp>

#include <map>

#include "dialect_test_fixture.h"

namespace spectra::ai {
namespace {

using namespace std::chrono_literals;

class QuotasTest : public DialectTest {
 protected:
  void SetUp() override {
    DialectTest::SetUp();
    // The same fakes under providers with quotas.
    extra_providers_ = R"(,
        {"name": "local-q", "kind": "vllm", "endpoints": [")" + local_.base_url() + R"("],
         "quotas": [{"model": "llama-3", "rpm": 2}]},
        {"name": "spare-q", "kind": "vllm", "endpoints": [")" + spare_.base_url() + R"("],
         "quotas": [{"model": "llama-3", "tpm": 10}]},
        {"name": "claude-q", "kind": "anthropic", "base_url": ")" + anthropic_.base_url() + R"(", "api_key": "test-anthropic-key",
         "quotas": [{"model": "claude-sonnet-4", "rpm": 1}]})";
    extra_routes_ = R"({"alias": "capped", "target": "local-q/llama-3", "fallbacks": ["spare/llama-3"]},
        {"alias": "capped-alone", "target": "local-q/llama-3"},
        {"alias": "tokens-alone", "target": "spare-q/llama-3"},
        {"alias": "sonnet-capped", "target": "claude-q/claude-sonnet-4", "fallbacks": ["local/llama-3"]},
        {"alias": "sonnet-capped-alone", "target": "claude-q/claude-sonnet-4"}, )";
    gw_->configure(config());
  }
  http::ClientResponse chat(const std::string& model, const std::string& text) {
    return post_openai("/v1/chat/completions",
                       bj::serialize(bj::object{{"model", model}, {"messages", bj::array{bj::object{{"role", "user"}, {"content", text}}}}}));
  }
  static std::string provider_of(const http::ClientResponse& r) { return std::string(r.header("x-spectra-provider")); }
};

TEST_F(QuotasTest, ATargetAtItsRequestQuotaIsPassedOverUntilTheMinuteRefillsIt) {
  const std::string remaining = R"(spectra_ai_quota_remaining{provider="local-q",model="llama-3",limit="rpm"} )";
  EXPECT_NE(metrics_.render().find(remaining + "2\n"), std::string::npos) << metrics_.render();
  EXPECT_NE(metrics_.render().find(R"(spectra_ai_quota_remaining{provider="spare-q",model="llama-3",limit="tpm"} 10)"),
            std::string::npos);
  EXPECT_EQ(provider_of(chat("capped", "one")), "local-q");
  EXPECT_EQ(provider_of(post_openai("/v1/completions", R"({"model":"capped","prompt":"two"})")), "local-q");
  EXPECT_EQ(local_.request_count(), 2u);
  EXPECT_NE(metrics_.render().find(remaining + "0\n"), std::string::npos) << metrics_.render();
  // The quota (2 a minute) is used up: the fallback answers, local is not asked.
  auto over = chat("capped", "three");
  ASSERT_EQ(over.status, 200u) << over.body;
  EXPECT_EQ(provider_of(over), "spare");
  EXPECT_EQ(provider_of(post_openai("/v1/embeddings", R"({"model":"capped","input":"four"})")), "spare");
  EXPECT_EQ(local_.request_count(), 2u);
  // Alone on its route: a 429 naming the quota, with Retry-After.
  auto refused = chat("capped-alone", "five");
  EXPECT_EQ(refused.status, 429u) << refused.body;
  EXPECT_EQ(bj::parse(refused.body).at("error").at("code"), "provider_quota_exceeded") << refused.body;
  EXPECT_NE(refused.body.find("local-q/llama-3: the provider's quota is reached (rpm 2 a minute)"), std::string::npos)
      << refused.body;
  EXPECT_EQ(refused.header("retry-after"), "30");
  EXPECT_EQ(post_openai("/v1/completions", R"({"model":"capped-alone","prompt":"six"})").status, 429u);
  EXPECT_EQ(local_.request_count(), 2u);
  clock_.advance(30s);  // half a minute: one request's room
  EXPECT_NE(metrics_.render().find(remaining + "1\n"), std::string::npos) << metrics_.render();
  EXPECT_EQ(provider_of(chat("capped", "seven")), "local-q");
  EXPECT_EQ(provider_of(chat("capped", "eight")), "spare");
  EXPECT_EQ(local_.request_count(), 3u);
  std::map<std::string, int> fallbacks;
  for (const auto& r : audit_records(8)) {
    if (r.at("fallback").is_string()) ++fallbacks[std::string(r.at("fallback").as_string())];
  }
  EXPECT_EQ(fallbacks, (std::map<std::string, int>{{"spare/llama-3", 3}}));
  // Turned away five times: three passed to the fallback, two refused.
  EXPECT_NE(metrics_.render().find(R"(spectra_ai_quota_reached_total{provider="local-q",model="llama-3",limit="rpm"} 5)"),
            std::string::npos);
}

// The semantic cache's embedder keeps to its provider's quota: at it, the
// lookup is skipped (the answer still comes, from the upstream) and the
// embeddings model is not asked only to answer 429.
TEST_F(QuotasTest, TheSemanticCachesEmbedderKeepsToItsProvidersQuota) {
  extra_providers_ += R"(, {"name": "vectors", "kind": "vllm", "endpoints": [")" + spare_.base_url() +
                      R"("], "quotas": [{"model": "bge-small", "rpm": 1}]})";
  gw_->configure(config(R"({"exact_enabled": true, "semantic_enabled": true, "embedder": "vectors/bge-small"})"));
  for (const char* country : {"France", "Italy"}) {
    auto r = chat("llama", std::string("what is the capital of ") + country);
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.header("x-spectra-cache"), "miss");
    EXPECT_EQ(provider_of(r), "local");
  }
  EXPECT_EQ(spare_.request_count(), 1u) << "one embedding; the second lookup was skipped at the quota";
  EXPECT_NE(metrics_.render().find(R"(spectra_ai_quota_reached_total{provider="vectors",model="bge-small",limit="rpm"} 1)"),
            std::string::npos)
      << metrics_.render();
  clock_.advance(60s);
  ASSERT_EQ(chat("llama", "what is the capital of Spain").status, 200u);
  EXPECT_EQ(spare_.request_count(), 2u) << "refilled: embedded again";
}

TEST_F(QuotasTest, TokensCountAsAnswersReportThem) {
  // 3 prompt + 5 completion ("spare says: one two three"): 2 of 10 left.
  ASSERT_EQ(chat("tokens-alone", "one two three").status, 200u);
  ASSERT_EQ(chat("tokens-alone", "four five six").status, 200u) << "room left: admitted";
  // Now 6 tokens over: a minute's tenth of 10 refills 1, so 42 s to be back above 0.
  auto refused = chat("tokens-alone", "seven");
  EXPECT_EQ(refused.status, 429u) << refused.body;
  EXPECT_NE(refused.body.find("(tpm 10 a minute)"), std::string::npos) << refused.body;
  EXPECT_EQ(refused.header("retry-after"), "42");
  EXPECT_EQ(spare_.request_count(), 2u);
  clock_.advance(42s);
  EXPECT_EQ(chat("tokens-alone", "eight").status, 200u);
}

TEST_F(QuotasTest, AnthropicsQuotaPassesAMessagesCallToTheRoutesOtherModels) {
  const std::string hello = R"({"model":"sonnet-capped","max_tokens":32,"messages":[{"role":"user","content":"hello"}]})";
  auto first = post("/v1/messages", hello);
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(provider_of(first), "claude-q");
  const auto asked = anthropic_.requests();
  auto second = post("/v1/messages", R"({"model":"sonnet-capped","max_tokens":32,"messages":[{"role":"user","content":"again"}]})");
  ASSERT_EQ(second.status, 200u) << second.body;
  EXPECT_EQ(provider_of(second), "local");
  EXPECT_EQ(bj::parse(second.body).at("type"), "message") << "translated back to Anthropic's shape";
  EXPECT_EQ(anthropic_.requests(), asked);
  auto refused = post("/v1/messages", R"({"model":"sonnet-capped-alone","max_tokens":32,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(refused.status, 429u) << refused.body;
  EXPECT_EQ(bj::parse(refused.body).at("type"), "error") << refused.body;
  EXPECT_EQ(bj::parse(refused.body).at("error").at("type"), "rate_limit_error") << refused.body;
  EXPECT_EQ(anthropic_.requests(), asked);
  // The call the fallback answered says why, naming the quota once.
  bool found = false;
  for (const auto& r : audit_records(3)) {
    if (r.at("resolved") != "local/llama-3") continue;
    found = true;
    EXPECT_EQ(r.at("error"), "claude-q/claude-sonnet-4: the provider's quota is reached (rpm 1 a minute)") << bj::serialize(r);
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace spectra::ai
