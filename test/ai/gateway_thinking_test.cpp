// Reasoning through chat completions on Anthropic models: reasoning_effort
// turns on Claude's extended thinking; the thinking comes back as
// reasoning_content (streamed as it is thought) and, signed, as
// thinking_blocks, which the client sends back with its tool results.
// Against the fake Anthropic, which checks the budget, the sampling rules
// and each returned block's signature as Anthropic does.
#include <boost/json/serialize.hpp>

#include "chat_stream_test_util.h"
#include "dialect_test_fixture.h"
#include "fake_anthropic_protocol.h"
#include "fakes/fake_bedrock_replies.h"

namespace spectra::ai {
namespace {

class ThinkingTest : public DialectTest {
 protected:
  // The chat answer's message (whole) or what its chunks add up to.
  static bj::object message_of(const http::ClientResponse& r) {
    return bj::parse(r.body).at("choices").at(0).at("message").as_object();
  }
  static std::string joined(const std::string& body, const char* field) { return test::joined_deltas(body, field); }
  static bj::array thinking_deltas(const std::string& body) { return test::delta_thinking_blocks(body); }
};

// Whole and streamed: the budget sent, the thinking returned both ways and
// metered as output; the streamed answer cached and replayed whole with the
// same thinking, and a whole one replayed as a stream.
TEST_F(ThinkingTest, ReasoningEffortTurnsOnThinkingAndItComesBack) {
  auto whole = post_openai("/v1/chat/completions", R"({"model":"sonnet","reasoning_effort":"low",
      "messages":[{"role":"user","content":"why is the sky blue"}]})");
  ASSERT_EQ(whole.status, 200u) << whole.body;
  const auto sent = bj::parse(anthropic_.last_request().body).as_object();
  EXPECT_EQ(sent.at("thinking"), bj::parse(R"({"type":"enabled","budget_tokens":1024})"));
  EXPECT_EQ(sent.at("max_tokens"), 4096 + 1024) << "without a limit the default is for the answer";
  auto msg = message_of(whole);
  EXPECT_EQ(msg.at("reasoning_content"), "Thinking about: why is the sky blue");
  EXPECT_EQ(msg.at("content"), "Echo: why is the sky blue");
  const auto& block = msg.at("thinking_blocks").at(0).as_object();
  EXPECT_EQ(block.at("type"), "thinking");
  EXPECT_EQ(block.at("thinking"), "Thinking about: why is the sky blue");
  EXPECT_EQ(block.at("signature"), bj::value(fakes::anthropic::thinking_signature("Thinking about: why is the sky blue")));
  EXPECT_EQ(bj::parse(whole.body).at("usage").at("completion_tokens"), 7 + 6) << "thinking is output";

  auto streamed = post_openai("/v1/chat/completions", R"({"model":"sonnet","reasoning_effort":"medium","stream":true,
      "max_completion_tokens":3000,"messages":[{"role":"user","content":"think while streaming"}]})");
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  EXPECT_EQ(bj::parse(anthropic_.last_request().body).at("max_tokens"), 3000);
  EXPECT_EQ(bj::parse(anthropic_.last_request().body).at("thinking").at("budget_tokens"), 2048);
  EXPECT_EQ(joined(streamed.body, "reasoning_content"), "Thinking about: think while streaming");
  EXPECT_LT(streamed.body.find("reasoning_content"), streamed.body.find("Echo:")) << "thinking first, as it is thought";
  const auto streamed_blocks = thinking_deltas(streamed.body);
  ASSERT_EQ(streamed_blocks.size(), 1u) << streamed.body;
  EXPECT_EQ(streamed_blocks.at(0).at("signature"),
            bj::value(fakes::anthropic::thinking_signature("Thinking about: think while streaming")));
  test::eventually([&] { return gw_->cache()->stats().entries == 2; }, 5s);
  auto hit = post_openai("/v1/chat/completions", R"({"model":"sonnet","reasoning_effort":"medium",
      "max_completion_tokens":3000,"messages":[{"role":"user","content":"think while streaming"}]})");
  EXPECT_EQ(hit.header("x-spectra-cache"), "hit");
  EXPECT_EQ(message_of(hit).at("reasoning_content"), "Thinking about: think while streaming");
  EXPECT_EQ(message_of(hit).at("thinking_blocks"), bj::value(streamed_blocks));

  auto replayed = post_openai("/v1/chat/completions", R"({"model":"sonnet","reasoning_effort":"low","stream":true,
      "messages":[{"role":"user","content":"why is the sky blue"}]})");
  EXPECT_EQ(replayed.header("x-spectra-cache"), "hit");
  EXPECT_EQ(joined(replayed.body, "reasoning_content"), "Thinking about: why is the sky blue");
  EXPECT_EQ(thinking_deltas(replayed.body), msg.at("thinking_blocks").as_array());
  EXPECT_EQ(anthropic_.requests(), 2u);
}

// A tool call made while thinking: the client sends the assistant message
// back as it came (thinking_blocks included) with the tool's result, and
// Anthropic, which verifies the signature and wants the thinking first,
// takes it. Without the blocks, or with them altered, Anthropic refuses.
TEST_F(ThinkingTest, ThinkingBlocksGoBackWithToolResults) {
  const std::string tools = R"("tools":[{"type":"function","function":{"name":"get_weather",
      "parameters":{"type":"object","properties":{"location":{"type":"string"}}}}}])";
  auto call = post_openai("/v1/chat/completions", R"({"model":"sonnet","reasoning_effort":"low",)" + tools +
                                                      R"(,"messages":[{"role":"user","content":"weather in Paris"}]})");
  ASSERT_EQ(call.status, 200u) << call.body;
  auto assistant = message_of(call);
  ASSERT_TRUE(assistant.contains("tool_calls")) << call.body;
  ASSERT_TRUE(assistant.contains("thinking_blocks")) << call.body;
  const std::string id(assistant.at("tool_calls").at(0).at("id").as_string());
  auto follow_up = [&](const bj::object& turn) {
    bj::array messages{bj::object{{"role", "user"}, {"content", "weather in Paris"}}, turn,
                       bj::object{{"role", "tool"}, {"tool_call_id", id}, {"content", "18C and sunny"}}};
    bj::object req = bj::parse(R"({"model":"sonnet","reasoning_effort":"low",)" + tools + "}").as_object();
    req["messages"] = std::move(messages);
    return post_openai("/v1/chat/completions", bj::serialize(req));
  };
  auto answer = follow_up(assistant);
  ASSERT_EQ(answer.status, 200u) << answer.body;
  EXPECT_EQ(message_of(answer).at("content"), "The tool returned: 18C and sunny");
  const auto sent = bj::parse(anthropic_.last_request().body).as_object();
  EXPECT_EQ(sent.at("messages").at(1).at("content").at(0), assistant.at("thinking_blocks").at(0))
      << "the signed block first in the assistant turn, unchanged";

  bj::object without = assistant;
  without.erase("thinking_blocks");
  EXPECT_EQ(follow_up(without).status, 400u);
  bj::object altered = assistant;
  altered["thinking_blocks"].as_array()[0].as_object()["thinking"] = "something else";
  auto refused = follow_up(altered);
  EXPECT_EQ(refused.status, 400u);
  EXPECT_NE(refused.body.find("signature"), std::string::npos) << refused.body;
}

// Claude on Bedrock: the same parameters become
// additionalModelRequestFields.thinking; reasoningContent comes back in the
// same two fields, whole and streamed, and goes back as reasoningContent
// with the tool results (Bedrock checks it as Anthropic does). Nova's
// reasoning is not mapped: reasoning_effort leaves its request unchanged.
TEST_F(ThinkingTest, ClaudeOnBedrockThinksTheSameWay) {
  const std::string claude = "aws/anthropic.claude-3-7-sonnet-20250219-v1:0";
  const std::string tools = R"("tools":[{"type":"function","function":{"name":"get_weather",
      "parameters":{"type":"object","properties":{"location":{"type":"string"}}}}}])";
  auto call = post_openai("/v1/chat/completions", R"({"model":")" + claude + R"(","reasoning_effort":"low",)" + tools +
                                                      R"(,"messages":[{"role":"user","content":"weather in Paris"}]})");
  ASSERT_EQ(call.status, 200u) << call.body;
  const auto sent = bj::parse(bedrock_.requests().back().body).as_object();
  EXPECT_EQ(sent.at("additionalModelRequestFields"), bj::parse(R"({"thinking":{"type":"enabled","budget_tokens":1024}})"));
  EXPECT_EQ(sent.at("inferenceConfig").at("maxTokens"), 4096 + 1024);
  auto assistant = message_of(call);
  EXPECT_EQ(assistant.at("reasoning_content"), "Thinking about: weather in Paris");
  EXPECT_EQ(assistant.at("thinking_blocks").at(0).at("signature"),
            bj::value(fakes::reasoning_signature("Thinking about: weather in Paris")));
  ASSERT_TRUE(assistant.contains("tool_calls")) << call.body;
  const std::string id(assistant.at("tool_calls").at(0).at("id").as_string());
  auto follow_up = [&](const bj::object& turn) {
    bj::object req = bj::parse(R"({"model":")" + claude + R"(","reasoning_effort":"low",)" + tools + "}").as_object();
    req["messages"] = bj::array{bj::object{{"role", "user"}, {"content", "weather in Paris"}}, turn,
                                bj::object{{"role", "tool"}, {"tool_call_id", id}, {"content", "18C"}}};
    return post_openai("/v1/chat/completions", bj::serialize(req));
  };
  auto answer = follow_up(assistant);
  ASSERT_EQ(answer.status, 200u) << answer.body;
  EXPECT_EQ(message_of(answer).at("content"), "Tool result received: 18C");
  EXPECT_EQ(bj::parse(bedrock_.requests().back().body).at("messages").at(1).at("content").at(0),
            bj::parse(R"({"reasoningContent":{"reasoningText":{"text":"Thinking about: weather in Paris","signature":")" +
                      fakes::reasoning_signature("Thinking about: weather in Paris") + R"("}}})"));
  bj::object altered = assistant;
  altered["thinking_blocks"].as_array()[0].as_object()["thinking"] = "something else";
  EXPECT_EQ(follow_up(altered).status, 400u);
  bj::object without = assistant;
  without.erase("thinking_blocks");
  EXPECT_EQ(follow_up(without).status, 400u);

  auto streamed = post_openai("/v1/chat/completions", R"({"model":")" + claude + R"(","reasoning_effort":"high","stream":true,
      "messages":[{"role":"user","content":"stream your thoughts"}]})");
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  EXPECT_EQ(joined(streamed.body, "reasoning_content"), "Thinking about: stream your thoughts");
  EXPECT_EQ(joined(streamed.body, "content"), "You said: stream your thoughts");
  EXPECT_LT(streamed.body.find("reasoning_content"), streamed.body.find("You said"));
  const auto blocks = thinking_deltas(streamed.body);
  ASSERT_EQ(blocks.size(), 1u) << streamed.body;
  EXPECT_EQ(blocks.at(0).at("signature"), bj::value(fakes::reasoning_signature("Thinking about: stream your thoughts")));

  auto nova = post_openai("/v1/chat/completions", R"({"model":"aws/us.amazon.nova-pro-v1:0","reasoning_effort":"high",
      "messages":[{"role":"user","content":"x"}]})");
  ASSERT_EQ(nova.status, 200u) << nova.body;
  EXPECT_FALSE(bj::parse(bedrock_.requests().back().body).as_object().contains("additionalModelRequestFields"));
}

// Claude 4.6 and later think adaptively (4.7 and later refuse a budget, as
// the fake Anthropic does for claude-opus-4-7): reasoning_effort becomes
// thinking {type: adaptive} with output_config.effort, on Anthropic and on
// Bedrock alike; the thinking comes back and goes back with tool results as
// before; a bad effort is refused before anything goes out; a client's own
// budget is sent as it asked (and refused by the model, as Anthropic does).
TEST_F(ThinkingTest, NewerClaudeThinksAdaptivelyAtAnEffort) {
  const std::string tools = R"("tools":[{"type":"function","function":{"name":"get_weather",
      "parameters":{"type":"object","properties":{"location":{"type":"string"}}}}}])";
  auto call = post_openai("/v1/chat/completions", R"({"model":"claude/claude-opus-4-7","reasoning_effort":"medium",)" + tools +
                                                      R"(,"messages":[{"role":"user","content":"weather in Paris"}]})");
  ASSERT_EQ(call.status, 200u) << call.body;
  const auto sent = bj::parse(anthropic_.last_request().body).as_object();
  EXPECT_EQ(sent.at("thinking"), bj::parse(R"({"type":"adaptive"})"));
  EXPECT_EQ(sent.at("output_config"), bj::parse(R"({"effort":"medium"})"));
  EXPECT_EQ(sent.at("max_tokens"), 4096 + 12288);
  auto assistant = message_of(call);
  EXPECT_EQ(assistant.at("reasoning_content"), "Thinking about: weather in Paris");
  ASSERT_TRUE(assistant.contains("tool_calls")) << call.body;
  ASSERT_TRUE(assistant.contains("thinking_blocks")) << call.body;
  const std::string id(assistant.at("tool_calls").at(0).at("id").as_string());
  bj::object next = bj::parse(R"({"model":"claude/claude-opus-4-7","reasoning_effort":"medium",)" + tools + "}").as_object();
  next["messages"] = bj::array{bj::object{{"role", "user"}, {"content", "weather in Paris"}}, assistant,
                               bj::object{{"role", "tool"}, {"tool_call_id", id}, {"content", "18C"}}};
  auto answer = post_openai("/v1/chat/completions", bj::serialize(next));
  ASSERT_EQ(answer.status, 200u) << answer.body;
  EXPECT_EQ(message_of(answer).at("content"), "The tool returned: 18C");

  // Claude 4.6 takes both; the client's own objects go as sent.
  auto own = post_openai("/v1/chat/completions", R"({"model":"claude/claude-sonnet-4-6","thinking":{"type":"adaptive",
      "display":"summarized"},"output_config":{"effort":"max"},"messages":[{"role":"user","content":"think hard"}]})");
  ASSERT_EQ(own.status, 200u) << own.body;
  EXPECT_EQ(bj::parse(anthropic_.last_request().body).at("thinking"), bj::parse(R"({"type":"adaptive","display":"summarized"})"));
  EXPECT_EQ(bj::parse(anthropic_.last_request().body).at("output_config"), bj::parse(R"({"effort":"max"})"));
  EXPECT_EQ(message_of(own).at("reasoning_content"), "Thinking about: think hard");

  const auto before = anthropic_.requests();
  auto bad = post_openai("/v1/chat/completions", R"({"model":"claude/claude-opus-4-7","output_config":{"effort":"extreme"},
      "messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_NE(bad.body.find("output_config.effort"), std::string::npos) << bad.body;
  EXPECT_EQ(anthropic_.requests(), before) << "nothing went out";
  auto budget = post_openai("/v1/chat/completions", R"({"model":"claude/claude-opus-4-7","max_tokens":3000,
      "thinking":{"type":"enabled","budget_tokens":2048},"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(budget.status, 400u) << "the model's own refusal of a budget";
  EXPECT_NE(budget.body.find("adaptive"), std::string::npos) << budget.body;

  // Bedrock: the same fields in additionalModelRequestFields, streamed.
  auto streamed = post_openai("/v1/chat/completions", R"({"model":"aws/us.anthropic.claude-opus-4-7-v1:0",
      "reasoning_effort":"high","stream":true,"messages":[{"role":"user","content":"stream your thoughts"}]})");
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  const auto on_bedrock = bj::parse(bedrock_.requests().back().body).as_object();
  EXPECT_EQ(on_bedrock.at("additionalModelRequestFields"),
            bj::parse(R"({"thinking":{"type":"adaptive"},"output_config":{"effort":"high"}})"));
  EXPECT_EQ(on_bedrock.at("inferenceConfig").at("maxTokens"), 4096 + 12288);
  EXPECT_EQ(joined(streamed.body, "reasoning_content"), "Thinking about: stream your thoughts");
  ASSERT_EQ(thinking_deltas(streamed.body).size(), 1u) << streamed.body;
}

// Nova 2 reasons at an effort level: reasoning_effort becomes
// reasoningConfig (minimal -> low), its redacted reasoning comes back as
// reasoning_content, whole and streamed; an unknown effort is refused with
// nothing sent.
TEST_F(ThinkingTest, Nova2ReasonsAtAnEffortLevel) {
  const std::string nova2 = "aws/us.amazon.nova-2-lite-v1:0";
  auto whole = post_openai("/v1/chat/completions", R"({"model":")" + nova2 + R"(","reasoning_effort":"minimal",
      "messages":[{"role":"user","content":"plan it"}]})");
  ASSERT_EQ(whole.status, 200u) << whole.body;
  EXPECT_EQ(bj::parse(bedrock_.requests().back().body).at("additionalModelRequestFields"),
            bj::parse(R"({"reasoningConfig":{"type":"enabled","maxReasoningEffort":"low"}})"));
  EXPECT_EQ(message_of(whole).at("reasoning_content"), "[REDACTED]");
  EXPECT_EQ(message_of(whole).at("content"), "You said: plan it");
  auto streamed = post_openai("/v1/chat/completions", R"({"model":")" + nova2 + R"(","reasoning_effort":"high","stream":true,
      "messages":[{"role":"user","content":"plan more"}]})");
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  EXPECT_EQ(bj::parse(bedrock_.requests().back().body).at("additionalModelRequestFields").at("reasoningConfig").at("maxReasoningEffort"),
            "high");
  EXPECT_EQ(joined(streamed.body, "reasoning_content"), "[REDACTED]");
  EXPECT_EQ(joined(streamed.body, "content"), "You said: plan more");
  const auto sent = bedrock_.request_count();
  auto bad = post_openai("/v1/chat/completions", R"({"model":")" + nova2 + R"(","reasoning_effort":"extreme",
      "messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(bad.status, 400u) << bad.body;
  EXPECT_NE(bad.body.find("reasoning_effort"), std::string::npos);
  EXPECT_EQ(bedrock_.request_count(), sent);
}

// A Bedrock application inference profile (an ARN, named for cost
// allocation) names no model: the provider's base_models says what it runs,
// and then it reasons, caches its prompt and is priced as that model, while
// the requests still go to the profile. A profile the config does not name
// is a model that takes none of Claude's fields: reasoning_effort is
// dropped, as for any model that does not reason (a fallback to one must
// still answer), and no cache points go.
TEST_F(ThinkingTest, AnInferenceProfileReasonsAndCachesAsTheModelItRuns) {
  gw_->configure(config(R"({"exact_enabled": true})", R"(, "prices": [{"model": "aws/)" + std::string(kOpusModel) +
                                                          R"(", "input_per_mtok_usd": 5, "output_per_mtok_usd": 25,
      "cached_input_per_mtok_usd": 0.5, "cache_write_per_mtok_usd": 6.25}])"));
  std::string rules;
  for (int i = 0; i < 1200; ++i) rules += "rule" + std::to_string(i) + " ";
  auto ask = [&](std::string_view profile, std::string_view effort, std::string_view question) {
    bj::object req{{"model", "aws/" + std::string(profile)},
                   {"messages", bj::array{bj::object{{"role", "system"},
                                                     {"content", bj::array{bj::object{{"type", "text"},
                                                                                      {"text", rules},
                                                                                      {"cache_control", {{"type", "ephemeral"}}}}}}},
                                          bj::object{{"role", "user"}, {"content", question}}}}};
    if (!effort.empty()) req["reasoning_effort"] = effort;
    return post_openai("/v1/chat/completions", bj::serialize(req));
  };
  auto first = ask(kOpusProfile, "high", "first question");
  ASSERT_EQ(first.status, 200u) << first.body;
  const auto sent = bedrock_.requests().back();
  EXPECT_EQ(sent.target, "/model/" + aws::sigv4::uri_encode(kOpusProfile, false) + "/converse") << "the profile is called";
  const auto body = bj::parse(sent.body).as_object();
  EXPECT_EQ(body.at("additionalModelRequestFields"),
            bj::parse(R"({"thinking":{"type":"adaptive"},"output_config":{"effort":"high"}})"))
      << "Opus 4.7 thinks adaptively (the fake refuses a budget, as Bedrock does)";
  EXPECT_EQ(body.at("system").as_array().back(), bj::parse(R"({"cachePoint":{"type":"default"}})"));
  EXPECT_EQ(message_of(first).at("reasoning_content"), "Thinking about: first question");
  const auto u1 = bj::parse(first.body).at("usage").as_object();
  EXPECT_GE(u1.at("prompt_tokens_details").at("cache_write_tokens").as_int64(), 1200);

  auto second = ask(kOpusProfile, "high", "second question");
  ASSERT_EQ(second.status, 200u) << second.body;
  const auto u2 = bj::parse(second.body).at("usage").as_object();
  const std::int64_t read = u2.at("prompt_tokens_details").at("cached_tokens").as_int64();
  EXPECT_EQ(read, u1.at("prompt_tokens_details").at("cache_write_tokens").as_int64()) << "the system prompt read back";

  // Priced as the model it runs, each kind of prompt token at its price.
  auto cost = [](const bj::object& u) {
    const std::int64_t cached = u.at("prompt_tokens_details").at("cached_tokens").as_int64();
    const auto* w = u.at("prompt_tokens_details").as_object().if_contains("cache_write_tokens");
    const std::int64_t written = w ? w->as_int64() : 0;
    const std::int64_t plain = u.at("prompt_tokens").as_int64() - cached - written;
    return (plain * 5 + cached * 0.5 + written * 6.25 + u.at("completion_tokens").as_int64() * 25) / 1e6;
  };
  test::eventually([&] { return gw_->meter().totals("team-a", "aws", std::string(kOpusProfile)).requests == 2; }, 5s);
  const auto t = gw_->meter().totals("team-a", "aws", std::string(kOpusProfile));
  EXPECT_GT(t.cost_usd, 0);
  EXPECT_NEAR(t.cost_usd, cost(u1) + cost(u2), 1e-12);

  // The profile the config does not name.
  auto plain = ask(kUnnamedProfile, "high", "third question");
  ASSERT_EQ(plain.status, 200u) << plain.body;
  const auto plain_body = bj::parse(bedrock_.requests().back().body).as_object();
  EXPECT_FALSE(plain_body.contains("additionalModelRequestFields")) << bedrock_.requests().back().body;
  EXPECT_EQ(bedrock_.requests().back().body.find("cachePoint"), std::string::npos);
  EXPECT_FALSE(message_of(plain).contains("reasoning_content"));
}

// The Responses API in translation: reasoning.effort turns thinking on; the
// thinking comes back as a reasoning item (the text as its summary, the
// signed blocks in encrypted_content), whole and as reasoning_summary
// events. A stateless client sending the items back as they came, or a
// previous_response_id continuation, returns the thinking with the tool
// result, as Claude requires; dropping the reasoning item gets Anthropic's
// refusal.
TEST_F(ThinkingTest, TheResponsesApiCarriesThinkingAsReasoningItems) {
  const std::string tools = R"("tools":[{"type":"function","name":"get_weather",
      "parameters":{"type":"object","properties":{"location":{"type":"string"}}}}])";
  auto first = post_openai("/v1/responses", R"({"model":"sonnet","reasoning":{"effort":"low"},)" + tools +
                                                R"(,"input":"weather in Paris"})");
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(bj::parse(anthropic_.last_request().body).at("thinking").at("budget_tokens"), 1024);
  const auto response = bj::parse(first.body).as_object();
  EXPECT_EQ(response.at("reasoning").at("effort"), "low");
  const auto& output = response.at("output").as_array();
  ASSERT_EQ(output.size(), 2u) << first.body;
  const auto& reasoning = output.at(0).as_object();
  EXPECT_EQ(reasoning.at("type"), "reasoning");
  EXPECT_EQ(reasoning.at("summary"), bj::parse(R"([{"type":"summary_text","text":"Thinking about: weather in Paris"}])"));
  ASSERT_TRUE(reasoning.at("encrypted_content").is_string());
  EXPECT_EQ(output.at(1).at("type"), "function_call");
  const std::string call_id(output.at(1).at("call_id").as_string());
  const std::string result = R"({"type":"function_call_output","call_id":")" + call_id + R"(","output":"18C"})";

  // Stateless: the items back as they came, then the tool's output.
  bj::array items{bj::object{{"role", "user"}, {"content", "weather in Paris"}}, output.at(0), output.at(1), bj::parse(result)};
  bj::object again = bj::parse(R"({"model":"sonnet","store":false,"reasoning":{"effort":"low"},)" + tools + "}").as_object();
  again["input"] = items;
  auto answered = post_openai("/v1/responses", bj::serialize(again));
  ASSERT_EQ(answered.status, 200u) << answered.body;
  const bj::value answer = bj::parse(answered.body);
  EXPECT_EQ(answer.at("output").as_array().back().at("content").at(0).at("text"), "The tool returned: 18C");
  const auto sent = bj::parse(anthropic_.last_request().body).as_object();
  EXPECT_EQ(sent.at("messages").at(1).at("content").at(0).at("type"), "thinking")
      << "the signed thinking first in the tool-calling turn";
  items.erase(items.begin() + 1);  // without the reasoning item
  again["input"] = items;
  EXPECT_EQ(post_openai("/v1/responses", bj::serialize(again)).status, 400u);

  // Continued by id: the kept conversation holds the thinking.
  auto continued = post_openai("/v1/responses", R"({"model":"sonnet","reasoning":{"effort":"low"},)" + tools +
                                                    R"(,"previous_response_id":")" + std::string(response.at("id").as_string()) +
                                                    R"(","input":[)" + result + "]}");
  ASSERT_EQ(continued.status, 200u) << continued.body;

  // Streamed: the reasoning item's events add up to the same item.
  auto streamed = post_openai("/v1/responses", R"({"model":"sonnet","reasoning":{"effort":"low"},"stream":true,
      "input":"think in events"})");
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  std::string summary, types;
  bj::value done;
  for (std::size_t pos = 0; (pos = streamed.body.find("data: {", pos)) != std::string::npos;) {
    const std::size_t end = streamed.body.find("\n\n", pos);
    auto e = bj::parse(streamed.body.substr(pos + 6, end - pos - 6)).as_object();
    pos = end;
    const std::string type(e.at("type").as_string());
    if (type.starts_with("response.reasoning_summary")) types += type.substr(27) + " ";
    if (type == "response.reasoning_summary_text.delta") summary += e.at("delta").as_string();
    if (type == "response.completed") done = e.at("response");
  }
  EXPECT_EQ(types, "part.added text.delta text.delta text.delta text.delta text.delta text.done part.done ") << "a delta a word";
  EXPECT_EQ(summary, "Thinking about: think in events");
  ASSERT_TRUE(done.is_object()) << streamed.body;
  const auto& streamed_reasoning = done.at("output").at(0).as_object();
  EXPECT_EQ(streamed_reasoning.at("summary").at(0).at("text"), "Thinking about: think in events");
  EXPECT_TRUE(streamed_reasoning.at("encrypted_content").is_string());
  EXPECT_EQ(done.at("output").at(1).at("content").at(0).at("text"), "Echo: think in events");
  // ... and retrieved as a stream, the kept answer replays those events.
  http::Client c({"127.0.0.1", server_->port(), ""}, 10s);
  auto replay = c.send(http::Verb::get, "/v1/responses/" + std::string(done.at("id").as_string()) + "?stream=true", "",
                       {{"authorization", "Bearer sk-team-a"}});
  ASSERT_TRUE(replay.ok());
  EXPECT_NE(replay->body.find(R"("delta":"Thinking about: think in events")"), std::string::npos) << replay->body;
}

// What Anthropic refuses with thinking on is refused before anything goes
// out, naming the client's parameter; reasoning_effort "none" is no thinking.
TEST_F(ThinkingTest, ConflictsAreRefusedBeforeAnythingGoesOut) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"model":"sonnet","reasoning_effort":"low","temperature":0.2,"messages":[{"role":"user","content":"x"}]})", "temperature"},
      {R"({"model":"sonnet","reasoning_effort":"high","max_tokens":1000,"messages":[{"role":"user","content":"x"}]})", "max_tokens"},
      {R"({"model":"sonnet","reasoning_effort":"extreme","messages":[{"role":"user","content":"x"}]})", "reasoning_effort"},
      {R"({"model":"sonnet","thinking":{"type":"enabled","budget_tokens":10},"messages":[{"role":"user","content":"x"}]})", "thinking"},
      {R"({"model":"sonnet","reasoning_effort":"low","tool_choice":"required","tools":[{"type":"function",
          "function":{"name":"f"}}],"messages":[{"role":"user","content":"x"}]})", "tool_choice"},
  };
  for (const auto& [request, param] : cases) {
    auto r = post_openai("/v1/chat/completions", request);
    EXPECT_EQ(r.status, 400u) << request;
    EXPECT_NE(r.body.find(param), std::string::npos) << r.body;
  }
  EXPECT_EQ(anthropic_.requests(), 0u);
  auto plain = post_openai("/v1/chat/completions",
                           R"({"model":"sonnet","reasoning_effort":"none","temperature":0.2,"messages":[{"role":"user","content":"x"}]})");
  ASSERT_EQ(plain.status, 200u) << plain.body;
  EXPECT_FALSE(bj::parse(anthropic_.last_request().body).as_object().contains("thinking"));
  EXPECT_FALSE(message_of(plain).contains("reasoning_content"));
}

}  // namespace
}  // namespace spectra::ai
