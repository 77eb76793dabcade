// Routes on the pass-through APIs: /v1/embeddings, /v1/completions and the
// Responses API take a balanced route's turns and fail over to its other
// targets and its fallbacks before any byte of the answer is sent, as chat
// does (a Responses call continuing another only where it was made); embeddings
// only to targets of the same model (another model's vectors are not
// comparable with the ones the client holds); completions only to
// providers that speak OpenAI's API; a local-only key's to in-account
// targets only.
#include <boost/json/serialize.hpp>

#include <functional>
#include <map>

#include "dialect_test_fixture.h"

namespace spectra::ai {
namespace {

using namespace std::chrono_literals;

class PassthroughRoutesTest : public DialectTest {
 protected:
  http::ClientResponse embed(const std::string& model, const std::string& input, const std::string& key = "sk-team-a") {
    return post_openai("/v1/embeddings", bj::serialize(bj::object{{"model", model}, {"input", input}}), key);
  }
  http::ClientResponse complete(const std::string& model, const std::string& prompt, bool stream = false,
                                const std::string& key = "sk-team-a") {
    bj::object body{{"model", model}, {"prompt", prompt}, {"max_tokens", 16}};
    if (stream) body["stream"] = true;
    return post_openai("/v1/completions", bj::serialize(body), key);
  }
  // How many audit records name each fallback (records are written as
  // calls end: counted, not taken in order).
  std::map<std::string, int> fallbacks_in_audit(std::uint64_t records) {
    std::map<std::string, int> out;
    for (const auto& r : audit_records(records)) {
      if (r.at("fallback").is_string()) ++out[std::string(r.at("fallback").as_string())];
    }
    return out;
  }
};

// An embeddings route balanced over two replicas of one model: turns by
// weight, one cache for both, a failing replica's turn answered by the
// other; the route's fallback names another model, so it never answers.
TEST_F(PassthroughRoutesTest, EmbeddingsTakeTurnsAndFailOverWithinTheirModel) {
  extra_routes_ = R"({"alias": "vectors", "target": "local/bge-small", "balance": [{"target": "spare/bge-small"}],
                      "fallbacks": ["aws/amazon.titan-embed-text-v2:0"]}, )";
  gw_->configure(config());
  std::string turns;
  for (int i = 0; i < 4; ++i) {
    auto r = embed("vectors", "chunk " + std::to_string(i));
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.header("x-spectra-cache"), "miss");
    turns += r.header("x-spectra-provider").substr(0, 1);
  }
  EXPECT_EQ(turns, "lsls");
  EXPECT_EQ(local_.request_count(), 2u);
  EXPECT_EQ(spare_.request_count(), 2u);
  // Chunk 0 was local's answer; asked again on spare's turn, it is a hit.
  ASSERT_EQ(embed("vectors", "chunk 4").header("x-spectra-provider"), "local");
  auto shared = embed("vectors", "chunk 0");
  ASSERT_EQ(shared.status, 200u) << shared.body;
  EXPECT_EQ(shared.header("x-spectra-cache"), "hit");
  EXPECT_EQ(spare_.request_count(), 2u) << "not asked";

  // A failing spare: its turn is answered by local.
  spare_.set_faults({.error_status = 503});
  EXPECT_EQ(embed("vectors", "chunk 6").header("x-spectra-provider"), "local");
  auto covered = embed("vectors", "chunk 7");
  ASSERT_EQ(covered.status, 200u) << covered.body;
  EXPECT_EQ(covered.header("x-spectra-provider"), "local");
  EXPECT_EQ(spare_.request_count(), 3u) << "its turn, tried first";
  EXPECT_EQ(local_.request_count(), 5u);

  // Both failing: the last one's answer goes to the client; Titan (the
  // fallback, another model) is never asked.
  local_.set_faults({.error_status = 503});
  auto failed = embed("vectors", "chunk 8");
  EXPECT_EQ(failed.status, 503u) << failed.body;
  EXPECT_EQ(local_.request_count(), 6u);
  EXPECT_EQ(spare_.request_count(), 4u);
  EXPECT_EQ(bedrock_.request_count(), 0u);
  EXPECT_EQ(fallbacks_in_audit(9), (std::map<std::string, int>{{"local/bge-small", 1}, {"spare/bge-small", 1}}))
      << "chunk 7, answered by local after spare; chunk 8, spare's answer";
}

// Titan on Bedrock in two accounts: a throttled account's turns go to the
// other; with both throttled the client gets Bedrock's refusal as a 429.
TEST_F(PassthroughRoutesTest, TitanEmbeddingsFailOverToAnotherBedrockAccount) {
  fakes::FakeBedrock west(bedrock_options());
  ASSERT_TRUE(west.start().ok());
  extra_providers_ = R"(, {"name": "aws-west", "kind": "bedrock", "base_url": ")" + west.base_url() +
                     R"(", "region": "us-east-1"})";
  extra_routes_ = R"({"alias": "titan", "target": "aws/amazon.titan-embed-text-v2:0",
                      "balance": [{"target": "aws-west/amazon.titan-embed-text-v2:0"}]}, )";
  gw_->configure(config());
  auto first = embed("titan", "quarterly report");
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(first.header("x-spectra-provider"), "aws");
  bedrock_.set_faults({.error_status = 429});
  for (const char* text : {"annual report", "monthly report"}) {
    auto r = embed("titan", text);
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.header("x-spectra-provider"), "aws-west");
    EXPECT_EQ(bj::parse(r.body).at("data").at(0).at("embedding").as_array().size(), 1024u);
  }
  EXPECT_EQ(bedrock_.request_count(), 2u) << "the first answer, and the throttled turn";
  EXPECT_EQ(west.request_count(), 2u);
  west.set_faults({.error_status = 429});
  auto refused = embed("titan", "weekly report");
  EXPECT_EQ(refused.status, 429u) << refused.body;
  EXPECT_EQ(bj::parse(refused.body).at("error").at("type"), "rate_limit_error") << refused.body;
  EXPECT_EQ(west.request_count(), 3u);
  EXPECT_EQ(bedrock_.request_count(), 3u);
  EXPECT_EQ(fallbacks_in_audit(4), (std::map<std::string, int>{{"aws-west/amazon.titan-embed-text-v2:0", 1},
                                                                {"aws/amazon.titan-embed-text-v2:0", 1}}));
}

// Completions fail over to a route's fallback, whole and streamed; a route
// balanced over Claude and a vLLM model sends them to the one that speaks
// OpenAI's API; a local-only key's go to the in-account targets.
TEST_F(PassthroughRoutesTest, CompletionsFallBackAndGoOnlyWhereTheyAreSpoken) {
  local_.set_faults({.error_status = 503});
  auto whole = complete("llama", "once upon a time");
  ASSERT_EQ(whole.status, 200u) << whole.body;
  EXPECT_EQ(whole.header("x-spectra-provider"), "spare");
  auto streamed = complete("llama", "twice upon a time", /*stream=*/true);
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  EXPECT_EQ(streamed.header("x-spectra-provider"), "spare");
  EXPECT_NE(streamed.body.find("data: [DONE]"), std::string::npos) << streamed.body;
  EXPECT_EQ(local_.request_count(), 2u);
  EXPECT_EQ(spare_.request_count(), 2u);
  spare_.set_faults({.error_status = 503});
  EXPECT_EQ(complete("llama", "nobody home").status, 503u) << "the last target's answer";
  local_.set_faults({});
  spare_.set_faults({});

  const auto anthropic_calls = anthropic_.requests();
  for (int i = 0; i < 2; ++i) {  // both turns (Claude's, local's) go to local
    auto r = complete("mixed", "turn " + std::to_string(i));
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.header("x-spectra-provider"), "local");
  }
  EXPECT_EQ(anthropic_.requests(), anthropic_calls);
  EXPECT_EQ(complete("sonnet", "no such API").status, 404u) << "nothing on the route speaks it";

  auto in_account = complete("sonnet-or-local", "stay inside", false, "sk-private");
  ASSERT_EQ(in_account.status, 200u) << in_account.body;
  EXPECT_EQ(in_account.header("x-spectra-provider"), "local");
  EXPECT_EQ(anthropic_.requests(), anthropic_calls);
  EXPECT_EQ(complete("sonnet", "remote only", false, "sk-private").status, 403u);
  EXPECT_EQ(embed("aws/amazon.titan-embed-text-v2:0", "remote only", "sk-private").status, 403u);
}

// Relayed answers (completions, Anthropic's Messages, the Responses API
// on an OpenAI-compatible provider), whole and streamed, have their finish
// reason in the audit record in chat's words, as the chat pipeline's do.
TEST_F(PassthroughRoutesTest, RelayedAnswersAuditTheirFinishReason) {
  const std::string weather_tool =
      R"([{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}])";
  const std::string weather_function =
      R"([{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}])";
  const std::vector<std::pair<std::string, std::function<http::ClientResponse()>>> calls = {
      {"stop", [&] { return complete("llama", "a prompt of some words"); }},  // (within max_tokens 16)
      {"length", [&] { return post_openai("/v1/completions", R"({"model":"llama","prompt":"cut me short","max_tokens":2})"); }},
      {"length", [&] {
         return post_openai("/v1/completions", R"({"model":"llama","prompt":"cut me short","max_tokens":2,"stream":true})");
       }},
      {"stop", [&] { return complete("llama", "whole stream", /*stream=*/true); }},
      {"stop", [&] {
         return post("/v1/messages", R"({"model":"sonnet","max_tokens":64,"messages":[{"role":"user","content":"hello"}]})");
       }},
      {"length", [&] {
         return post("/v1/messages",
                     R"({"model":"sonnet","max_tokens":1,"stream":true,"messages":[{"role":"user","content":"one two three"}]})");
       }},
      {"tool_calls", [&] {
         return post("/v1/messages", R"({"model":"sonnet","max_tokens":64,"tools":)" + weather_tool +
                                         R"(,"messages":[{"role":"user","content":"the weather in Paris?"}]})");
       }},
      {"stop", [&] { return post_openai("/v1/responses", R"({"model":"llama","input":"hello there"})"); }},
      {"stop", [&] { return post_openai("/v1/responses", R"({"model":"llama","input":"streamed","stream":true})"); }},
      {"tool_calls", [&] {
         return post_openai("/v1/responses",
                            R"({"model":"llama","input":"the weather in Paris?","tools":)" + weather_function + "}");
       }},
  };
  std::uint64_t n = 0;
  for (const auto& [want, call] : calls) {
    auto r = call();
    ASSERT_EQ(r.status, 200u) << r.body;
    // (Each record is waited for before the next call: the n-th line is this call's.)
    const auto records = audit_records(++n);
    ASSERT_GE(records.size(), n);
    const auto* finish = records[n - 1].if_contains("finish_reason");
    ASSERT_NE(finish, nullptr) << "call " << n << ": " << bj::serialize(records[n - 1]);
    EXPECT_EQ(std::string(finish->as_string()), want) << "call " << n << ": " << r.body.substr(0, 300);
  }
  // An embeddings answer has none.
  ASSERT_EQ(embed("local/bge-small", "vectors").status, 200u);
  EXPECT_FALSE(audit_records(n + 1).back().contains("finish_reason"));
}

// The Responses API relayed to vLLM takes a route's fallbacks like chat: a
// failing target's call (whole or streamed) is answered by the fallback,
// and the conversation it started goes on there, where its state is, even
// once the target is back; one the target made goes on at the target.
TEST_F(PassthroughRoutesTest, ResponsesFailOverAndGoOnWhereTheirStateIs) {
  auto respond = [&](const std::string& model, const std::string& input, const std::string& previous = "",
                     bool stream = false) {
    bj::object body{{"model", model}, {"input", input}};
    if (!previous.empty()) body["previous_response_id"] = previous;
    if (stream) body["stream"] = true;
    return post_openai("/v1/responses", bj::serialize(body));
  };
  local_.set_faults({.error_status = 503});
  auto first = respond("llama", "start here");
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(first.header("x-spectra-provider"), "spare");
  const std::string made_by_spare(bj::parse(first.body).at("id").as_string());
  local_.set_faults({});
  const auto local_before = local_.request_count();
  auto next = respond("llama", "go on", made_by_spare);
  ASSERT_EQ(next.status, 200u) << next.body;
  EXPECT_EQ(next.header("x-spectra-provider"), "spare") << "where the state is, not the route's target";
  EXPECT_EQ(local_.request_count(), local_before);

  auto fresh = respond("llama", "another start");
  ASSERT_EQ(fresh.status, 200u) << fresh.body;
  EXPECT_EQ(fresh.header("x-spectra-provider"), "local");
  const std::string made_by_local(bj::parse(fresh.body).at("id").as_string());
  auto on = respond("llama", "and on", made_by_local);
  ASSERT_EQ(on.status, 200u) << on.body;
  EXPECT_EQ(on.header("x-spectra-provider"), "local");
  // A model whose provider did not make it cannot continue it.
  auto elsewhere = respond("spare/llama-3", "and on", made_by_local);
  EXPECT_EQ(elsewhere.status, 400u) << elsewhere.body;
  EXPECT_NE(elsewhere.body.find("made by provider 'local', not 'spare'"), std::string::npos) << elsewhere.body;

  // A stream fails over before its first byte as a whole answer does.
  local_.set_faults({.error_status = 503});
  auto streamed = respond("llama", "stream it", "", /*stream=*/true);
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  EXPECT_EQ(streamed.header("x-spectra-provider"), "spare");
  EXPECT_NE(streamed.body.find("response.completed"), std::string::npos) << streamed.body;
  EXPECT_EQ(fallbacks_in_audit(6), (std::map<std::string, int>{{"spare/llama-3", 2}}))
      << "the two calls the target failed; continuations are not fallbacks";
}

}  // namespace
}  // namespace spectra::ai
