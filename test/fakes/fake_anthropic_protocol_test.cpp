// The fake Anthropic API's pure half: validation like the real API, the
// deterministic answer, exact usage, and the rendered event sequence.
#include "fake_anthropic_protocol.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "wire/sse.h"

namespace spectra::fakes::anthropic {
namespace {

bj::object req(std::string_view json) { return bj::parse(json).as_object(); }

std::string invalid_message(std::string_view json) {
  auto e = validate(bj::parse(json));
  if (!e) return "";
  EXPECT_EQ(e->status, 400u);
  EXPECT_EQ(e->type, "invalid_request_error");
  return e->message;
}

TEST(FakeAnthropicProtocol, ValidatesLikeTheRealApi) {
  EXPECT_EQ(invalid_message(
                R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]})"),
            "");
  EXPECT_EQ(invalid_message(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})"),
            "max_tokens: Field required");
  EXPECT_NE(invalid_message(R"({"max_tokens":5,"messages":[{"role":"user","content":"hi"}]})")
                .find("model"),
            std::string::npos);
  EXPECT_NE(invalid_message(
                R"({"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]})"),
            "");
  EXPECT_NE(invalid_message(R"({"model":"m","max_tokens":5,"messages":[]})"), "");
  EXPECT_NE(
      invalid_message(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"},
    {"role":"user","content":"b"}]})")
          .find("roles must alternate"),
      std::string::npos);
  EXPECT_NE(invalid_message(
                R"({"model":"m","max_tokens":5,"messages":[{"role":"system","content":"a"}]})"),
            "");
  EXPECT_NE(invalid_message(
                R"({"model":"m","max_tokens":5,"n":2,"messages":[{"role":"user","content":"a"}]})")
                .find("n: Extra inputs are not permitted"),
            std::string::npos);
  EXPECT_NE(
      invalid_message(
          R"({"model":"m","max_tokens":5,"temperature":1.5,"messages":[{"role":"user","content":"a"}]})"),
      "");
  EXPECT_NE(
      invalid_message(
          R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":""}]}]})"),
      "");
  EXPECT_NE(
      invalid_message(
          R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64"}}]}]})"),
      "");
  EXPECT_NE(
      invalid_message(
          R"({"model":"m","max_tokens":5,"system":[{"type":"image"}],"messages":[{"role":"user","content":"a"}]})"),
      "");
  EXPECT_NE(
      invalid_message(
          R"({"model":"m","max_tokens":5,"tools":[{"name":"bad name","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"a"}]})"),
      "");
  EXPECT_NE(
      invalid_message(
          R"({"model":"m","max_tokens":5,"tool_choice":{"type":"any"},"messages":[{"role":"user","content":"a"}]})"),
      "");
  EXPECT_NE(
      invalid_message(
          R"({"model":"m","max_tokens":5,"tools":[{"name":"f","input_schema":{"type":"object"}}],
    "tool_choice":{"type":"tool","name":"g"},"messages":[{"role":"user","content":"a"}]})"),
      "");
  EXPECT_NE(invalid_message("[1]"), "");
}

// Thinking by model generation, as the real API takes it: a budget on the
// older models, adaptive on 4.6 (either) and 4.7 (adaptive only), an
// effort level from the four Anthropic has.
TEST(FakeAnthropicProtocol, ThinkingAsEachModelTakesIt) {
  auto ask = [](std::string_view model, std::string_view extra) {
    return invalid_message(R"({"model":")" + std::string(model) + R"(","max_tokens":5000,)" + std::string(extra) +
                           R"(,"messages":[{"role":"user","content":"hi"}]})");
  };
  const std::string budget = R"("thinking":{"type":"enabled","budget_tokens":2048})";
  const std::string adaptive = R"("thinking":{"type":"adaptive"})";
  EXPECT_EQ(ask("claude-sonnet-4-5", budget), "");
  EXPECT_NE(ask("claude-sonnet-4-5", adaptive).find("not supported"), std::string::npos);
  EXPECT_EQ(ask("claude-sonnet-4-6", budget), "");
  EXPECT_EQ(ask("claude-sonnet-4-6", adaptive), "");
  EXPECT_NE(ask("claude-opus-4-7", budget).find("thinking.type.adaptive"), std::string::npos);
  EXPECT_EQ(ask("claude-opus-4-7", adaptive + R"(,"output_config":{"effort":"max"})"), "");
  EXPECT_NE(ask("claude-opus-4-7", R"("thinking":{"type":"adaptive","budget_tokens":2048})"), "");
  EXPECT_NE(ask("claude-opus-4-7", R"("thinking":{"type":"adaptive","display":"full"})"), "");
  EXPECT_NE(ask("claude-opus-4-7", R"("output_config":{"effort":"extreme"})").find("output_config.effort"), std::string::npos);
}

TEST(FakeAnthropicProtocol, ToolUseAndToolResultMustPair) {
  const std::string use =
      R"({"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]})";
  EXPECT_NE(
      invalid_message(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"},)" +
                      use + R"(,{"role":"user","content":"no result"}]})")
          .find("without `tool_result`"),
      std::string::npos);
  EXPECT_NE(invalid_message(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[
    {"type":"tool_result","tool_use_id":"t9","content":"x"}]}]})")
                .find("unexpected `tool_use_id`"),
            std::string::npos);
  EXPECT_EQ(
      invalid_message(
          R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"},)" + use +
          R"(,{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"r"}]}]})"),
      "");
  EXPECT_NE(invalid_message(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[
    {"type":"tool_use","id":"t","name":"f","input":{}}]}]})"),
            "");
}

TEST(FakeAnthropicProtocol, EchoAnswerAndExactUsage) {
  Reply r = answer(req(R"({"model":"claude-x","max_tokens":100,"system":"be   brief now",
    "messages":[{"role":"user","content":"hello there"},{"role":"assistant","content":"hi"},
    {"role":"user","content":[{"type":"text","text":"say\nsomething"},{"type":"text","text":"nice"}]}]})"),
                   7, CacheTokens{11, 13});
  EXPECT_EQ(r.id, "msg_fake_7");
  EXPECT_EQ(r.model, "claude-x");
  EXPECT_EQ(r.content.at(0).at("text"), "Echo: say something nice");
  EXPECT_EQ(r.stop_reason, "end_turn");
  EXPECT_EQ(r.input_tokens, 3 + 2 + 1 + 3);
  EXPECT_EQ(r.output_tokens, 4);
  EXPECT_EQ(r.cache_read_input_tokens, 11);
  EXPECT_EQ(r.cache_creation_input_tokens, 13);
  EXPECT_EQ(bj::value(message_json(r)), bj::parse(R"({"id":"msg_fake_7","type":"message",
    "role":"assistant","model":"claude-x","content":[{"type":"text","text":"Echo: say something nice"}],
    "stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":9,
    "cache_creation_input_tokens":13,"cache_read_input_tokens":11,"output_tokens":4}})"));
}

TEST(FakeAnthropicProtocol, StopSequencesAndMaxTokensCutTheAnswer) {
  Reply r = answer(req(R"({"model":"m","max_tokens":100,"stop_sequences":["zzz","four"],
    "messages":[{"role":"user","content":"one two three four five"}]})"),
                   1);
  EXPECT_EQ(r.content.at(0).at("text"), "Echo: one two three");
  EXPECT_EQ(r.stop_reason, "stop_sequence");
  EXPECT_EQ(r.stop_sequence.value_or(""), "four");
  EXPECT_EQ(r.output_tokens, 4);
  r = answer(
      req(R"({"model":"m","max_tokens":3,"messages":[{"role":"user","content":"one two three four"}]})"),
      1);
  EXPECT_EQ(r.content.at(0).at("text"), "Echo: one two");
  EXPECT_EQ(r.stop_reason, "max_tokens");
  EXPECT_EQ(r.output_tokens, 3);
}

TEST(FakeAnthropicProtocol, WeatherWithToolsCallsTheFirstTool) {
  const std::string tools = R"("tools":[{"name":"get_weather","input_schema":{"type":"object",
    "properties":{"location":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]},
    "days":{"type":"integer"}}}},{"name":"other","input_schema":{"type":"object"}}])";
  Reply r = answer(req(R"({"model":"m","max_tokens":100,)" + tools +
                       R"(,"messages":[{"role":"user","content":"What's the Weather in SF?"}]})"),
                   3);
  ASSERT_EQ(r.content.size(), 1u);
  EXPECT_EQ(bj::value(r.content.at(0)), bj::parse(R"({"type":"tool_use","id":"toolu_fake_3",
    "name":"get_weather","input":{"location":"San Francisco, CA","unit":"celsius","days":1}})"));
  EXPECT_EQ(r.stop_reason, "tool_use");
  // {"location":"San Francisco, CA","unit":"celsius","days":1} has 3 words.
  EXPECT_EQ(r.output_tokens, 3);
  // tool_choice none: text; tool_choice tool: that tool even without "weather".
  r = answer(
      req(R"({"model":"m","max_tokens":100,)" + tools +
          R"(,"tool_choice":{"type":"none"},"messages":[{"role":"user","content":"weather?"}]})"),
      3);
  EXPECT_EQ(r.content.at(0).at("type"), "text");
  r = answer(
      req(R"({"model":"m","max_tokens":100,)" + tools +
          R"(,"tool_choice":{"type":"tool","name":"other"},"messages":[{"role":"user","content":"hi"}]})"),
      3);
  EXPECT_EQ(r.content.at(0).at("name"), "other");
  // Without "weather" and with tool_choice auto: text.
  r = answer(req(R"({"model":"m","max_tokens":100,)" + tools +
                 R"(,"messages":[{"role":"user","content":"hi"}]})"),
             3);
  EXPECT_EQ(r.content.at(0).at("type"), "text");
}

TEST(FakeAnthropicProtocol, ToolResultTurnIsAnsweredWithItsText) {
  Reply r = answer(
      req(R"({"model":"m","max_tokens":100,"tools":[{"name":"get_weather","input_schema":{"type":"object"}}],
    "messages":[{"role":"user","content":"weather in Paris"},
    {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"get_weather","input":{"city":"Paris"}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"18 C sunny"}]}]})"),
      1);
  EXPECT_EQ(r.content.at(0).at("text"), "The tool returned: 18 C sunny");
  // 3 + (get_weather + {"city":"Paris"} = 2) + 3
  EXPECT_EQ(r.input_tokens, 8);
}

TEST(FakeAnthropicProtocol, StreamEventsFollowTheRealSequence) {
  Reply r = answer(
      req(R"({"model":"m","max_tokens":100,"messages":[{"role":"user","content":"a b c"}]})"), 2);
  std::vector<StreamEvent> events = stream_events(r);
  std::string all;
  for (const auto& e : events) all += e.bytes;
  wire::sse::Parser p;
  std::vector<wire::sse::Event> parsed;
  ASSERT_TRUE(p.feed(all, &parsed).ok());
  std::vector<std::string> types;
  std::string text;
  for (const auto& e : parsed) {
    types.push_back(e.type);
    bj::value d = bj::parse(e.data);
    EXPECT_EQ(d.at("type"), bj::value(e.type));
    if (e.type == "content_block_delta") text += d.at("delta").at("text").as_string();
    if (e.type == "message_start") {
      EXPECT_EQ(d.at("message").at("usage").at("output_tokens"), 1);
    }
    if (e.type == "message_delta") {
      EXPECT_EQ(d.at("usage").at("output_tokens"), 4);
      EXPECT_EQ(d.at("delta").at("stop_reason"), "end_turn");
    }
  }
  EXPECT_EQ(types, (std::vector<std::string>{
                       "message_start", "content_block_start", "ping", "content_block_delta",
                       "content_block_delta", "content_block_delta", "content_block_delta",
                       "content_block_stop", "message_delta", "message_stop"}));
  EXPECT_EQ(text, "Echo: a b c");
  EXPECT_EQ(
      std::count_if(events.begin(), events.end(), [](const StreamEvent& e) { return e.is_delta; }),
      4);
}

TEST(FakeAnthropicProtocol, ToolInputStreamsInUtf8SafeFragments) {
  Reply r = answer(
      req(R"({"model":"m","max_tokens":100,"tools":[{"name":"f","input_schema":{"type":"object",
    "properties":{"q":{"type":"string","enum":["\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"]}}}}],
    "tool_choice":{"type":"any"},"messages":[{"role":"user","content":"x"}]})"),
      1);
  std::string joined;
  for (const auto& e : stream_events(r)) {
    if (!e.is_delta) continue;
    wire::sse::Parser p;
    std::vector<wire::sse::Event> ev;
    ASSERT_TRUE(p.feed(e.bytes, &ev).ok());
    ASSERT_EQ(ev.size(), 1u);
    std::string part(
        bj::parse(ev[0].data).at("delta").at("partial_json").as_string());  // valid UTF-8
    EXPECT_LE(part.size(), 9u);
    joined += part;
  }
  EXPECT_EQ(bj::parse(joined), r.content.at(0).at("input"));
}

TEST(FakeAnthropicProtocol, ErrorBodiesHaveTheRealShape) {
  EXPECT_EQ(
      bj::parse(error_body({529, "overloaded_error", "Overloaded"}, "req_1")),
      bj::parse(
          R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"})"));
  EXPECT_EQ(error_type_for_status(429), "rate_limit_error");
  EXPECT_EQ(error_type_for_status(500), "api_error");
  EXPECT_EQ(error_type_for_status(529), "overloaded_error");
}

}  // namespace
}  // namespace spectra::fakes::anthropic
