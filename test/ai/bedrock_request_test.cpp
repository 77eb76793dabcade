// OpenAI chat request -> Bedrock Converse request.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "ai/bedrock_adapter.h"
#include "aws/sigv4_canonical.h"
#include "bedrock_test_util.h"

namespace spectra::ai {
namespace {

using bedrock_testing::test_target;

bj::object obj(std::string_view json) { return bj::parse(json).as_object(); }

bj::object body_of(std::string_view openai_json) {
  auto body = bedrock::converse_body(obj(openai_json));
  EXPECT_TRUE(body.ok()) << body.status().to_string();
  return body.ok() ? *body : bj::object{};
}

Status error_of(std::string_view openai_json) {
  auto body = bedrock::converse_body(obj(openai_json));
  EXPECT_FALSE(body.ok()) << openai_json;
  return body.ok() ? Status() : body.status();
}

TEST(BedrockRequest, UrlHeadersAndModelIdEncodedOnce) {
  BedrockAdapter a;
  const bj::object req = obj(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})");
  auto up = a.build_chat(req, test_target(), false);
  ASSERT_TRUE(up.ok()) << up.status().to_string();
  EXPECT_EQ(up->method, "POST");
  EXPECT_EQ(up->url,
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/"
            "anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse");
  EXPECT_EQ(up->headers,
            (std::vector<std::pair<std::string, std::string>>{{"content-type", "application/json"},
                                                              {"accept", "application/json"}}));
  auto stream = a.build_chat(req, test_target(), true);
  ASSERT_TRUE(stream.ok());
  EXPECT_TRUE(stream->url.ends_with("v1%3A0/converse-stream"));
  EXPECT_EQ(stream->headers[1].second, "application/vnd.amazon.eventstream");
  // Inference-profile ARNs carry '/' and ':'; both are encoded in the label.
  ModelTarget arn = test_target();
  arn.model = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude";
  EXPECT_EQ(a.build_chat(req, arn, false)->url,
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aus-east-1"
            "%3A123456789012%3Ainference-profile%2Fus.anthropic.claude/converse");
}

TEST(BedrockRequest, BaseUrlOverridesTheRegionalHost) {
  BedrockAdapter a;
  ModelTarget t = test_target();
  t.base_url = "http://127.0.0.1:9999/";
  t.region.clear();
  auto up =
      a.build_chat(obj(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})"), t, false);
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->url,
            "http://127.0.0.1:9999/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse");
}

TEST(BedrockRequest, RegionIsRequiredAndChecked) {
  BedrockAdapter a;
  const bj::object req = obj(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})");
  ModelTarget t = test_target();
  t.region.clear();
  EXPECT_EQ(a.build_chat(req, t, false).status().code(), Code::kInvalidArgument);
  t.region = "us-east-1.evil.com/x";
  EXPECT_EQ(a.build_chat(req, t, false).status().code(), Code::kInvalidArgument);
  t = test_target();
  t.model.clear();
  EXPECT_EQ(a.build_chat(req, t, false).status().code(), Code::kInvalidArgument);
}

TEST(BedrockRequest, FullConversationGolden) {
  const bj::object body = body_of(R"({
    "model": "bedrock/claude",
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]},
      {"role": "user", "content": "Weather in Paris?"},
      {"role": "user", "content": [{"type": "text", "text": "And Rome."},
                                   {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]},
      {"role": "assistant", "content": "Checking.", "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
        {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
      {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "21C"}]},
      {"role": "user", "content": "Thanks"}
    ],
    "max_tokens": 100, "max_completion_tokens": 200, "temperature": 0.5, "top_p": 0.9,
    "stop": ["END"], "seed": 7, "user": "u1", "presence_penalty": 0.1,
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
    "tool_choice": "auto"
  })");
  const bj::value expected = bj::parse(R"({
    "messages": [
      {"role": "user", "content": [
        {"text": "Weather in Paris?"}, {"text": "And Rome."},
        {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}}]},
      {"role": "assistant", "content": [
        {"text": "Checking."},
        {"toolUse": {"toolUseId": "call_1", "name": "get_weather", "input": {"city": "Paris"}}},
        {"toolUse": {"toolUseId": "call_2", "name": "get_weather", "input": {}}}]},
      {"role": "user", "content": [
        {"toolResult": {"toolUseId": "call_1", "content": [{"text": "18C"}]}},
        {"toolResult": {"toolUseId": "call_2", "content": [{"text": "21C"}]}},
        {"text": "Thanks"}]}
    ],
    "system": [{"text": "Be brief."}, {"text": "Use metric units."}],
    "inferenceConfig": {"maxTokens": 200, "temperature": 0.5, "topP": 0.9, "stopSequences": ["END"]},
    "toolConfig": {
      "tools": [{"toolSpec": {"name": "get_weather", "description": "Weather",
                 "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}}}}],
      "toolChoice": {"auto": {}}}
  })");
  EXPECT_EQ(bj::value(body), expected) << bj::serialize(body);
}

TEST(BedrockRequest, StopStringAndNullContentAndEmptyTextDropped) {
  const bj::object body = body_of(R"({"messages":[
      {"role":"user","content":"a"},
      {"role":"assistant","content":null,"tool_calls":[]},
      {"role":"assistant","content":""},
      {"role":"user","content":[{"type":"text","text":""},{"type":"text","text":"b"}]}],
    "stop":"STOP","max_tokens":null})");
  EXPECT_EQ(bj::serialize(body.at("messages")),
            R"([{"role":"user","content":[{"text":"a"},{"text":"b"}]}])");
  EXPECT_EQ(bj::serialize(body.at("inferenceConfig")), R"({"stopSequences":["STOP"]})");
}

TEST(BedrockRequest, ToolChoiceVariants) {
  const std::string tools =
      R"("tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"x"}])";
  auto choice = [&tools](std::string_view tc) {
    return body_of("{" + tools + R"(,"tool_choice":)" + std::string(tc) + "}");
  };
  EXPECT_EQ(bj::serialize(choice(R"("required")").at("toolConfig").at("toolChoice")),
            R"({"any":{}})");
  EXPECT_EQ(bj::serialize(choice(R"({"type":"function","function":{"name":"f"}})")
                              .at("toolConfig")
                              .at("toolChoice")),
            R"({"tool":{"name":"f"}})");
  EXPECT_FALSE(choice(R"("none")").contains("toolConfig"));
  // Absent: tools without a toolChoice (Bedrock's default is auto).
  const bj::object plain = body_of("{" + tools + "}");
  EXPECT_FALSE(plain.at("toolConfig").as_object().contains("toolChoice"));
  EXPECT_EQ(bj::serialize(plain.at("toolConfig").at("tools").at(0).at("toolSpec")),
            R"({"name":"f","inputSchema":{"json":{"type":"object","properties":{}}}})");
  EXPECT_EQ(error_of("{" + tools + R"(,"tool_choice":"sometimes"})").code(),
            Code::kInvalidArgument);
  EXPECT_EQ(
      error_of(R"({"messages":[{"role":"user","content":"x"}],"tool_choice":"required"})").code(),
      Code::kInvalidArgument);
}

TEST(BedrockRequest, ToolHistoryNeedsAToolConfig) {
  const std::string history = R"("messages":[
      {"role":"user","content":"w?"},
      {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"get_w","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"c1","content":"sunny"}])";
  // No tools listed: a permissive spec is synthesised for each name used.
  const bj::object synthesized = body_of("{" + history + "}");
  EXPECT_EQ(
      bj::serialize(synthesized.at("toolConfig")),
      R"({"tools":[{"toolSpec":{"name":"get_w","inputSchema":{"json":{"type":"object","properties":{}}}}}]})");
  // tool_choice none keeps the tools (Bedrock requires them) without a choice.
  const bj::object none = body_of(
      "{" + history +
      R"(,"tools":[{"type":"function","function":{"name":"get_w"}}],"tool_choice":"none"})");
  EXPECT_TRUE(none.contains("toolConfig"));
  EXPECT_FALSE(none.at("toolConfig").as_object().contains("toolChoice"));
}

TEST(BedrockRequest, ResponseFormatBecomesASystemInstruction) {
  const bj::object schema = body_of(R"({"messages":[{"role":"user","content":"x"}],
      "response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object"}}}})");
  const std::string sys(schema.at("system").at(0).at("text").as_string());
  EXPECT_NE(sys.find(R"({"type":"object"})"), std::string::npos) << sys;
  const bj::object json_object =
      body_of(R"({"messages":[{"role":"system","content":"S"},{"role":"user","content":"x"}],
      "response_format":{"type":"json_object"}})");
  EXPECT_EQ(json_object.at("system").as_array().size(), 2u);
  EXPECT_EQ(json_object.at("system").at(0).at("text").as_string(), "S");
  EXPECT_FALSE(
      body_of(R"({"messages":[{"role":"user","content":"x"}],"response_format":{"type":"text"}})")
          .contains("system"));
}

TEST(BedrockRequest, RefusesWhatConverseCannotCarry) {
  const char* bad[] = {
      R"({"messages":[{"role":"user","content":"x"}],"n":2})",
      R"({"messages":[{"role":"system","content":"only system"}]})",
      R"({"messages":[]})",
      R"({"messages":[{"role":"function","content":"x","name":"f"}]})",
      R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]})",
      R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/bmp;base64,AAAA"}}]}]})",
      R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,@@@"}}]}]})",
      R"({"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]})",
      R"({"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{not json"}}]}]})",
      R"({"messages":[{"role":"tool","content":"x"}]})",
      R"({"messages":[{"role":"user","content":"x"}],"max_tokens":0})",
      R"({"messages":[{"role":"user","content":"x"}],"max_tokens":"10"})",
      R"({"messages":[{"role":"user","content":"x"}],"stop":[1]})",
      R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"retrieval"}]})",
      R"({"messages":[{"role":"user","content":7}]})",
  };
  for (const char* json : bad) {
    Status s = error_of(json);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << json;
    EXPECT_EQ(s.message().rfind("bedrock: ", 0), 0u) << s.message();
  }
}

TEST(BedrockRequest, ImageFormats) {
  for (const auto& [mime, format] :
       std::vector<std::pair<std::string, std::string>>{{"image/jpeg", "jpeg"},
                                                        {"image/jpg", "jpeg"},
                                                        {"image/gif", "gif"},
                                                        {"image/webp", "webp"}}) {
    const bj::object body =
        body_of(R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":"data:)" +
                mime + R"(;base64,AAAA"}]}]})");
    EXPECT_EQ(body.at("messages").at(0).at("content").at(0).at("image").at("format").as_string(),
              format);
  }
}

TEST(BedrockRequest, TheOperatorsGuardrailGoesOnEveryCall) {
  BedrockAdapter a;
  // A client's own guardrailConfig is not a chat field: it never reaches Bedrock.
  const bj::object req = obj(R"({"model":"m","messages":[{"role":"user","content":"hi"}],
      "guardrailConfig":{"guardrailIdentifier":"other","guardrailVersion":"DRAFT"}})");
  auto none = a.build_chat(req, test_target(), false);
  ASSERT_TRUE(none.ok()) << none.status().to_string();
  EXPECT_FALSE(bj::parse(none->body).as_object().contains("guardrailConfig"));
  ModelTarget t = test_target();
  t.guardrail = {"gr1abc", "3", "async"};
  auto whole = a.build_chat(req, t, false);
  ASSERT_TRUE(whole.ok()) << whole.status().to_string();
  EXPECT_EQ(bj::parse(whole->body).at("guardrailConfig"),
            bj::parse(R"({"guardrailIdentifier":"gr1abc","guardrailVersion":"3","trace":"enabled"})"));
  auto stream = a.build_chat(req, t, true);
  ASSERT_TRUE(stream.ok()) << stream.status().to_string();
  EXPECT_EQ(bj::parse(stream->body).at("guardrailConfig"),
            bj::parse(R"({"guardrailIdentifier":"gr1abc","guardrailVersion":"3","trace":"enabled","streamProcessingMode":"async"})"));
}

TEST(BedrockRequest, ClaudeIsSentTheBetaFlagsListedForIt) {
  const auto request = obj(R"({"model":"x","messages":[{"role":"user","content":"hi"}],
      "anthropic_beta":["claude-code-20250219","context-1m-2025-08-07","interleaved-thinking-2025-05-14",
                        "context-1m-2025-08-07"]})");
  const std::vector<std::string> listed = {"interleaved-thinking-2025-05-14", "context-1m-2025-08-07",
                                           "output-128k-2025-02-19"};
  auto claude = bedrock::converse_body(request, "us.anthropic.claude-sonnet-4-5-20250929-v1:0", listed);
  ASSERT_TRUE(claude.ok()) << claude.status().to_string();
  // Listed and asked for, in the request's order, once each; the rest not.
  EXPECT_EQ(claude->at("additionalModelRequestFields"),
            bj::parse(R"({"anthropic_beta":["context-1m-2025-08-07","interleaved-thinking-2025-05-14"]})"));
  // Nothing listed for the model: nothing sent.
  auto unlisted = bedrock::converse_body(request, "us.anthropic.claude-sonnet-4-5-20250929-v1:0");
  ASSERT_TRUE(unlisted.ok()) << unlisted.status().to_string();
  EXPECT_FALSE(unlisted->contains("additionalModelRequestFields"));
  // Listed, but not Claude: Bedrock's other models take no anthropic_beta.
  auto nova = bedrock::converse_body(request, "us.amazon.nova-pro-v1:0", listed);
  ASSERT_TRUE(nova.ok()) << nova.status().to_string();
  EXPECT_FALSE(nova->contains("additionalModelRequestFields"));
  // Not flags: refused, naming the field.
  for (const char* bad : {R"("interleaved-thinking-2025-05-14")", R"([42])", R"(["a\r\nx-injected: 1"])", R"([""])"}) {
    auto refused = bedrock::converse_body(
        obj(std::string(R"({"model":"x","messages":[{"role":"user","content":"hi"}],"anthropic_beta":)") + bad + "}"),
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0", listed);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.status().message().find("anthropic_beta"), std::string::npos) << refused.status().message();
  }
}

}  // namespace
}  // namespace spectra::ai

namespace spectra::ai {
namespace {

// Prompt caching on Claude: cache_control on a system, user or assistant
// part, or on a tool, is a cache point right after it; a tool result holds
// none, so its point follows the result. Other models get none.
TEST(BedrockRequestCaching, CacheControlBecomesCachePoints) {
  const auto request = bj::parse(R"({"model":"x","max_tokens":10,
      "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}},"cache_control":{"type":"ephemeral"}}],
      "messages":[
        {"role":"system","content":[{"type":"text","text":"rules","cache_control":{"type":"ephemeral"}}]},
        {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b","cache_control":{"type":"ephemeral"}}]},
        {"role":"assistant","content":null,"tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"t","content":[{"type":"text","text":"r","cache_control":{"type":"ephemeral"}}]}]})")
                           .as_object();
  auto body = bedrock::converse_body(request, "anthropic.claude-3-7-sonnet-20250219-v1:0");
  ASSERT_TRUE(body.ok()) << body.status().to_string();
  const bj::value point = bj::parse(R"({"cachePoint":{"type":"default"}})");
  EXPECT_EQ(body->at("system"), bj::parse(R"([{"text":"rules"},{"cachePoint":{"type":"default"}}])"));
  EXPECT_EQ(body->at("messages").at(0).at("content"), bj::parse(R"([{"text":"a"},{"text":"b"},{"cachePoint":{"type":"default"}}])"));
  EXPECT_EQ(body->at("messages").at(2).at("content"),
            bj::parse(R"([{"toolResult":{"toolUseId":"t","content":[{"text":"r"}]}},{"cachePoint":{"type":"default"}}])"));
  EXPECT_EQ(body->at("toolConfig").at("tools").as_array().back(), point);

  auto nova = bedrock::converse_body(request, "amazon.nova-pro-v1:0");
  ASSERT_TRUE(nova.ok()) << nova.status().to_string();
  EXPECT_EQ(bj::serialize(*nova).find("cachePoint"), std::string::npos) << bj::serialize(*nova);
}

// A model id that names no model (an application inference profile's
// ARN): the profile is called, but what it may be sent is read from the
// model it runs. Without that it is sent none of Claude's fields.
TEST(BedrockRequest, AProfileIsSentWhatItsBaseModelTakes) {
  const std::string arn = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2c3";
  const auto request = obj(R"({"model":"x","reasoning_effort":"high","messages":[
      {"role":"system","content":[{"type":"text","text":"rules","cache_control":{"type":"ephemeral"}}]},
      {"role":"user","content":"hi"}]})");
  BedrockAdapter adapter;
  ModelTarget t = test_target();
  t.model = arn;
  auto plain = adapter.build_chat(request, t, false);
  ASSERT_TRUE(plain.ok()) << plain.status().to_string();
  EXPECT_FALSE(obj(plain->body).contains("additionalModelRequestFields")) << plain->body;
  EXPECT_EQ(plain->body.find("cachePoint"), std::string::npos) << plain->body;

  t.base_model = "anthropic.claude-opus-4-7-v1:0";
  auto up = adapter.build_chat(request, t, true);
  ASSERT_TRUE(up.ok()) << up.status().to_string();
  EXPECT_TRUE(up->url.ends_with("/model/" + aws::sigv4::uri_encode(arn, false) + "/converse-stream")) << up->url;
  const auto body = obj(up->body);
  EXPECT_EQ(body.at("additionalModelRequestFields"),
            bj::parse(R"({"thinking":{"type":"adaptive"},"output_config":{"effort":"high"}})"));
  EXPECT_EQ(body.at("system"), bj::parse(R"([{"text":"rules"},{"cachePoint":{"type":"default"}}])"));
}

// top_k, which Converse's inferenceConfig lacks: as Claude takes it and as
// Nova does, in additionalModelRequestFields; other models have none.
TEST(BedrockRequest, TopKAsEachModelTakesIt) {
  const auto request = obj(R"({"model":"x","top_k":40,"messages":[{"role":"user","content":"hi"}]})");
  auto claude = bedrock::converse_body(request, "anthropic.claude-3-7-sonnet-20250219-v1:0");
  ASSERT_TRUE(claude.ok()) << claude.status().to_string();
  EXPECT_EQ(claude->at("additionalModelRequestFields"), bj::parse(R"({"top_k":40})"));
  auto nova = bedrock::converse_body(request, "us.amazon.nova-pro-v1:0");
  ASSERT_TRUE(nova.ok()) << nova.status().to_string();
  EXPECT_EQ(nova->at("additionalModelRequestFields"), bj::parse(R"({"inferenceConfig":{"topK":40}})"));
  auto nova2 = bedrock::converse_body(obj(R"({"model":"x","top_k":40,"reasoning_effort":"low",
      "messages":[{"role":"user","content":"hi"}]})"), "us.amazon.nova-2-lite-v1:0");
  ASSERT_TRUE(nova2.ok()) << nova2.status().to_string();
  EXPECT_EQ(nova2->at("additionalModelRequestFields"),
            bj::parse(R"({"reasoningConfig":{"type":"enabled","maxReasoningEffort":"low"},"inferenceConfig":{"topK":40}})"));
  auto llama = bedrock::converse_body(request, "meta.llama3-3-70b-instruct-v1:0");
  ASSERT_TRUE(llama.ok()) << llama.status().to_string();
  EXPECT_FALSE(llama->contains("additionalModelRequestFields"));
  EXPECT_FALSE(bedrock::converse_body(obj(R"({"model":"x","top_k":-1,"messages":[{"role":"user","content":"hi"}]})"),
                                      "anthropic.claude-3-7-sonnet-20250219-v1:0")
                   .ok());
}

}  // namespace
}  // namespace spectra::ai
