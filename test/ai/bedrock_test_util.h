#pragma once
// Builders for ConverseStream byte streams and a summary of translated
// chunks, shared by the Bedrock adapter tests.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "ai/bedrock_adapter.h"
#include "wire/eventstream.h"

namespace spectra::ai::bedrock_testing {

namespace es = wire::eventstream;

inline std::string frame(std::vector<es::Header> headers, std::string_view payload) {
  es::Message m;
  m.headers = std::move(headers);
  m.payload = std::string(payload);
  auto bytes = es::encode(m);
  EXPECT_TRUE(bytes.ok());
  return bytes.ok() ? *bytes : std::string();
}

inline std::string event(std::string_view type, std::string_view json) {
  return frame({{":event-type", std::string(type)},
                {":content-type", std::string("application/json")},
                {":message-type", std::string("event")}},
               json);
}

inline std::string exception(std::string_view type, std::string_view json) {
  return frame({{":exception-type", std::string(type)},
                {":content-type", std::string("application/json")},
                {":message-type", std::string("exception")}},
               json);
}

// A text answer "Hello world" with usage 12 in / 5 out.
inline std::string text_stream() {
  return event("messageStart", R"({"role":"assistant","p":"abcd"})") +
         event("contentBlockDelta",
               R"({"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcdefgh"})") +
         event("contentBlockDelta",
               R"({"contentBlockIndex":0,"delta":{"text":" world"},"p":"a"})") +
         event("contentBlockStop", R"({"contentBlockIndex":0,"p":"abc"})") +
         event("messageStop", R"({"stopReason":"end_turn","p":"ab"})") +
         event("metadata", R"({"usage":{"inputTokens":12,"outputTokens":5,"totalTokens":17},)"
                           R"("metrics":{"latencyMs":321},"p":"abcdef"})");
}

// Text block 0, then a tool block 1 whose input arrives in three pieces.
inline std::string tool_stream() {
  return event("messageStart", R"({"role":"assistant"})") +
         event("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Let me check."}})") +
         event("contentBlockStop", R"({"contentBlockIndex":0})") +
         event(
             "contentBlockStart",
             R"({"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tooluse_abc","name":"get_weather"}}})") +
         event("contentBlockDelta",
               R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"loc"}}})") +
         event("contentBlockDelta",
               R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"ation\":\"Pa"}}})") +
         event("contentBlockDelta",
               R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"ris\"}"}}})") +
         event("contentBlockStop", R"({"contentBlockIndex":1})") +
         event("messageStop", R"({"stopReason":"tool_use"})") +
         event("metadata", R"({"usage":{"inputTokens":40,"outputTokens":22,"totalTokens":62}})");
}

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;
};

// What a client would assemble from the chunks.
struct Summary {
  int role_chunks = 0;
  std::string content;
  std::vector<ToolCall> tool_calls;
  std::string finish_reason;
  int usage_chunks = 0;
  std::int64_t prompt_tokens = -1;
  std::int64_t completion_tokens = -1;
  std::int64_t total_tokens = -1;
};

inline Summary summarize(const std::vector<bj::object>& chunks) {
  Summary s;
  for (const bj::object& c : chunks) {
    EXPECT_EQ(c.at("object").as_string(), "chat.completion.chunk");
    const bj::array& choices = c.at("choices").as_array();
    if (choices.empty()) {
      ++s.usage_chunks;
      const bj::object& u = c.at("usage").as_object();
      s.prompt_tokens = u.at("prompt_tokens").as_int64();
      s.completion_tokens = u.at("completion_tokens").as_int64();
      s.total_tokens = u.at("total_tokens").as_int64();
      continue;
    }
    const bj::object& choice = choices.at(0).as_object();
    const bj::object& delta = choice.at("delta").as_object();
    if (delta.contains("role")) ++s.role_chunks;
    if (const auto* content = delta.if_contains("content"); content && content->is_string()) {
      s.content += content->as_string();
    }
    if (const auto* calls = delta.if_contains("tool_calls")) {
      for (const auto& call : calls->as_array()) {
        const auto index = static_cast<std::size_t>(call.at("index").as_int64());
        if (index >= s.tool_calls.size()) s.tool_calls.resize(index + 1);
        ToolCall& tc = s.tool_calls[index];
        if (const auto* id = call.as_object().if_contains("id")) tc.id = id->as_string();
        const bj::object& fn = call.at("function").as_object();
        if (const auto* name = fn.if_contains("name")) tc.name = name->as_string();
        tc.arguments += fn.at("arguments").as_string();
      }
    }
    if (!choice.at("finish_reason").is_null()) {
      s.finish_reason = std::string(choice.at("finish_reason").as_string());
    }
  }
  return s;
}

inline std::string serialize_all(const std::vector<bj::object>& chunks) {
  std::string out;
  for (const auto& c : chunks) out += bj::serialize(c) + "\n";
  return out;
}

inline ModelTarget test_target() {
  ModelTarget t;
  t.provider = "bedrock-test";
  t.kind = "bedrock";
  t.model = "anthropic.claude-3-5-sonnet-20240620-v1:0";
  t.region = "us-east-1";
  return t;
}

}  // namespace spectra::ai::bedrock_testing
