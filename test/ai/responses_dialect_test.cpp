// The Responses API's translation to and from chat (ai/responses_dialect.h):
// request fields, refusals naming the field, the response object, and the
// typed event stream, which must add up to the same response as the whole
// answer.
#include "ai/responses_dialect.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "ai/stream_codec.h"

namespace spectra::ai {
namespace {

namespace bj = boost::json;

bj::object obj(std::string_view s) { return bj::parse(s).as_object(); }

// The events of a stream as parsed objects, checking that the event line
// names the data's type.
std::vector<bj::object> events_of(const std::string& body) {
  std::vector<bj::object> out;
  for (std::size_t at = 0; (at = body.find("event: ", at)) != std::string::npos;) {
    const auto eol = body.find('\n', at);
    const auto data = body.find("data: ", eol);
    const auto end = body.find("\n\n", data);
    out.push_back(obj(body.substr(data + 6, end - data - 6)));
    EXPECT_EQ(out.back().at("type"), bj::value(body.substr(at + 7, eol - at - 7)));
    at = end;
  }
  return out;
}

const char* kToolAnswerForKeeping = R"({"choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant",
    "content":"Checking.","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]}}]})";

TEST(ResponsesDialect, RequestFieldsMapToChat) {
  std::string param;
  auto t = responses::to_chat_request(obj(R"({"model":"m","instructions":"be brief","max_output_tokens":9,
      "temperature":0.2,"top_p":0.9,"safety_identifier":"u-1","stream":true,"parallel_tool_calls":false,
      "reasoning":{"effort":"low"},"include":["reasoning.encrypted_content"],"store":true,"metadata":{"a":"b"},
      "text":{"format":{"type":"json_schema","name":"w","schema":{"type":"object"},"strict":true}},
      "tools":[{"type":"function","name":"f","description":"d","parameters":{"type":"object"},"strict":true}],
      "tool_choice":{"type":"function","name":"f"},
      "input":[{"role":"developer","content":"use tools"},
               {"type":"message","role":"user","content":[{"type":"input_text","text":"look"},
                                                         {"type":"input_image","image_url":"https://example.com/a.png","detail":"low"}]},
               {"type":"reasoning","id":"rs_1","summary":[]},
               {"role":"assistant","content":[{"type":"output_text","text":"Checking."}]},
               {"type":"function_call","call_id":"c1","name":"f","arguments":"{\"x\":1}"},
               {"type":"function_call","call_id":"c2","name":"f","arguments":"{}"},
               {"type":"function_call_output","call_id":"c1","output":"one"},
               {"type":"function_call_output","call_id":"c2","output":[{"type":"input_text","text":"two"}]}]})"),
                                     nullptr, &param);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ(bj::value(t->chat), bj::parse(R"({"model":"m","messages":[
      {"role":"system","content":"be brief"},
      {"role":"system","content":"use tools"},
      {"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"https://example.com/a.png","detail":"low"}}]},
      {"role":"assistant","content":"Checking.","tool_calls":[
          {"id":"c1","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}},
          {"id":"c2","type":"function","function":{"name":"f","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"c1","content":"one"},
      {"role":"tool","tool_call_id":"c2","content":"two"}],
      "max_tokens":9,"temperature":0.2,"top_p":0.9,"reasoning_effort":"low","user":"u-1","stream":true,"stream_options":{"include_usage":true},
      "tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object"},"strict":true}}],
      "tool_choice":{"type":"function","function":{"name":"f"}},"parallel_tool_calls":false,
      "response_format":{"type":"json_schema","json_schema":{"name":"w","schema":{"type":"object"},"strict":true}}})"))
      << bj::serialize(t->chat);
  // The echo repeats the settings; the conversation to keep leaves the
  // instructions out (a continuation brings its own).
  EXPECT_EQ(t->echo.at("instructions"), "be brief");
  EXPECT_EQ(t->echo.at("reasoning"), bj::parse(R"({"effort":"low","summary":null})"));
  EXPECT_EQ(t->echo.at("store"), true);
  EXPECT_TRUE(t->store);
  EXPECT_EQ(t->conversation.size(), 5u);
  EXPECT_EQ(t->conversation.front(), t->chat.at("messages").at(1));
  EXPECT_EQ(t->echo.at("tools").at(0).at("name"), "f");
  EXPECT_EQ(t->echo.at("parallel_tool_calls"), false);
  EXPECT_EQ(t->echo.at("metadata"), obj(R"({"a":"b"})"));

  auto plain = responses::to_chat_request(obj(R"({"model":"m","input":"hi","text":{"format":{"type":"json_object"}}})"), nullptr, &param);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->chat.at("messages"), bj::parse(R"([{"role":"user","content":"hi"}])"));
  EXPECT_EQ(plain->chat.at("response_format"), obj(R"({"type":"json_object"})"));
  EXPECT_FALSE(plain->chat.contains("stream"));
  EXPECT_EQ(plain->echo.at("tool_choice"), "auto");
  EXPECT_EQ(plain->echo.at("temperature"), 1.0);

  // A continuation: the stored conversation first, then this input, after
  // this call's instructions; store: false is echoed and not kept.
  const bj::array history{obj(R"({"role":"user","content":"earlier"})"), obj(R"({"role":"assistant","content":"yes"})")};
  auto next = responses::to_chat_request(obj(R"({"model":"m","input":"and now","instructions":"new rules",
      "previous_response_id":"resp_1","store":false})"), &history, &param);
  ASSERT_TRUE(next.ok()) << next.status().to_string();
  EXPECT_EQ(next->chat.at("messages"), bj::parse(R"([{"role":"system","content":"new rules"},{"role":"user","content":"earlier"},
      {"role":"assistant","content":"yes"},{"role":"user","content":"and now"}])"));
  EXPECT_EQ(next->conversation.size(), 3u);
  EXPECT_FALSE(next->store);
  EXPECT_EQ(next->echo.at("store"), false);
  EXPECT_EQ(next->echo.at("previous_response_id"), "resp_1");
}

TEST(ResponsesDialect, InputItemsAndTheAssistantTurnToKeep) {
  auto items = responses::input_items(obj(R"({"input":"hi"})"), "r1");
  EXPECT_EQ(bj::value(items), bj::parse(R"([{"id":"in_r1_0","type":"message","role":"user","status":"completed",
      "content":[{"type":"input_text","text":"hi"}]}])"));
  items = responses::input_items(obj(R"({"input":[{"role":"assistant","content":"ok"},
      {"type":"function_call_output","call_id":"c","output":"x","id":"given"}]})"), "r1");
  EXPECT_EQ(bj::value(items), bj::parse(R"([{"role":"assistant","content":[{"type":"output_text","text":"ok"}],"id":"in_r1_0",
      "type":"message"},{"type":"function_call_output","call_id":"c","output":"x","id":"given"}])"));
  EXPECT_EQ(responses::assistant_message(obj(kToolAnswerForKeeping)),
            obj(R"({"role":"assistant","content":"Checking.","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]})"));
  EXPECT_EQ(responses::assistant_message(obj(R"({"choices":[]})")), obj(R"({"role":"assistant","content":""})"));
  EXPECT_EQ(responses::assistant_message(obj(R"({"choices":[{"message":{"role":"assistant","content":null,"refusal":"no"}}]})")),
            obj(R"({"role":"assistant","content":"no"})"));
  EXPECT_EQ(responses::assistant_message(obj(R"({"choices":[{"message":{"role":"assistant","content":"",
      "tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]}}]})")).at("content"), nullptr);
}

TEST(ResponsesDialect, WhatCannotBeTranslatedIsRefusedNamingTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"model":"m","input":"x","previous_response_id":"resp_1"})", "previous_response_id"},
      {R"({"model":"m","input":"x","prompt":{"id":"pmpt_1"}})", "prompt"},
      {R"({"model":"m"})", "input"},
      {R"({"model":"m","input":[]})", "input"},
      {R"({"model":"m","input":[7]})", "input[0]"},
      {R"({"model":"m","input":[{"type":"item_reference","id":"msg_1"}]})", "input[0].type"},
      {R"({"model":"m","input":[{"role":"tool","content":"x"}]})", "input[0].role"},
      {R"({"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"f"}]}]})", "input[0].content[0].type"},
      {R"({"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"f"}]}]})", "input[0].content[0].image_url"},
      {R"({"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]})", "input[0].call_id"},
      {R"({"model":"m","input":"x","tools":[{"type":"web_search_preview"}]})", "tools[0].type"},
      {R"({"model":"m","input":"x","tools":[{"type":"function"}]})", "tools[0].name"},
      {R"({"model":"m","input":"x","tool_choice":{"type":"file_search"}})", "tool_choice"},
      {R"({"model":"m","input":"x","max_output_tokens":0})", "max_output_tokens"},
      {R"({"model":"m","input":"x","text":{"format":{"type":"grammar"}}})", "text.format.type"},
      {R"({"model":"m","input":"x","instructions":["a"]})", "instructions"},
      {R"({"model":"m","input":"x","store":"yes"})", "store"},
  };
  for (const auto& [request, field] : cases) {
    std::string param;
    auto t = responses::to_chat_request(obj(request), nullptr, &param);
    EXPECT_FALSE(t.ok()) << request;
    EXPECT_EQ(param, field) << request;
    EXPECT_EQ(t.status().code(), Code::kInvalidArgument);
    EXPECT_TRUE(t.status().message().starts_with(std::string(field) + ": ")) << t.status().message();
  }
}

const char* kToolAnswer = R"({"id":"chatcmpl-1","object":"chat.completion","created":5,"model":"x",
    "choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":"Checking.",
      "tool_calls":[{"id":"call_a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}},
                    {"id":"call_b","type":"function","function":{"name":"g","arguments":"{}"}}]}}],
    "usage":{"prompt_tokens":10,"completion_tokens":4,"total_tokens":14,"prompt_tokens_details":{"cached_tokens":6}}})";

TEST(ResponsesDialect, AChatAnswerAsAResponseObject) {
  const bj::object echo = responses::to_chat_request(obj(R"({"model":"sonnet","input":"x","user":"u"})"), nullptr, nullptr)->echo;
  const responses::Identity id{"abc", 1700000000};
  auto r = responses::to_response(obj(kToolAnswer), echo, id);
  EXPECT_EQ(r.at("id"), "resp_abc");
  EXPECT_EQ(r.at("object"), "response");
  EXPECT_EQ(r.at("created_at"), 1700000000);
  EXPECT_EQ(r.at("status"), "completed");
  EXPECT_EQ(r.at("model"), "sonnet");
  EXPECT_EQ(r.at("user"), "u");
  EXPECT_EQ(r.at("output"), bj::parse(R"([
      {"type":"message","id":"msg_abc","status":"completed","role":"assistant",
       "content":[{"type":"output_text","text":"Checking.","annotations":[],"logprobs":[]}]},
      {"type":"function_call","id":"fc_abc_1","call_id":"call_a","name":"f","arguments":"{\"x\":1}","status":"completed"},
      {"type":"function_call","id":"fc_abc_2","call_id":"call_b","name":"g","arguments":"{}","status":"completed"}])"))
      << bj::serialize(r.at("output"));
  EXPECT_EQ(r.at("usage"), bj::parse(R"({"input_tokens":10,"input_tokens_details":{"cached_tokens":6},"output_tokens":4,
      "output_tokens_details":{"reasoning_tokens":0},"total_tokens":14})"));

  auto cut = responses::to_response(
      obj(R"({"choices":[{"index":0,"finish_reason":"length","message":{"role":"assistant","content":"par"}}]})"), echo, id);
  EXPECT_EQ(cut.at("status"), "incomplete");
  EXPECT_EQ(cut.at("incomplete_details"), obj(R"({"reason":"max_output_tokens"})"));
  EXPECT_TRUE(cut.at("usage").is_null());
  auto refused = responses::to_response(
      obj(R"({"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":null,"refusal":"no"}}]})"), echo, id);
  EXPECT_EQ(refused.at("output").at(0).at("content"), bj::parse(R"([{"type":"refusal","refusal":"no"}])"));
}

// Streamed or whole, an answer comes out as the same response: the stream's
// response.completed equals the whole translation but for created_at, and
// its deltas add up to the items it closes.
TEST(ResponsesDialect, TheStreamAddsUpToTheWholeResponse) {
  const bj::object echo = responses::to_chat_request(obj(R"({"model":"sonnet","input":"x"})"), nullptr, nullptr)->echo;
  const responses::Identity id{"abc", 42};
  const bj::object answer = obj(kToolAnswer);
  responses::EventWriter w(echo, id);
  std::string body;
  Usage usage{.prompt_tokens = 10, .completion_tokens = 4, .cached_prompt_tokens = 6, .reported = true};
  for (const auto& chunk : completion_to_chunks(answer, false)) body += w.chunk(chunk);
  body += w.end(usage);
  auto events = events_of(body);
  std::vector<std::string> types;
  std::string text, args;
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].at("sequence_number"), static_cast<std::int64_t>(i));
    types.emplace_back(events[i].at("type").as_string());
    if (types.back() == "response.output_text.delta") text += events[i].at("delta").as_string();
    if (types.back() == "response.function_call_arguments.delta" && events[i].at("output_index") == 1) {
      args += events[i].at("delta").as_string();
    }
  }
  EXPECT_EQ(types, (std::vector<std::string>{
                       "response.created", "response.in_progress",
                       "response.output_item.added", "response.content_part.added", "response.output_text.delta",
                       "response.output_text.done", "response.content_part.done", "response.output_item.done",
                       "response.output_item.added", "response.function_call_arguments.delta",
                       "response.function_call_arguments.done", "response.output_item.done",
                       "response.output_item.added", "response.function_call_arguments.delta",
                       "response.function_call_arguments.done", "response.output_item.done", "response.completed"}))
      << body;
  EXPECT_EQ(text, "Checking.");
  EXPECT_EQ(args, "{\"x\":1}");
  EXPECT_EQ(events[0].at("response").at("status"), "in_progress");
  EXPECT_EQ(events[0].at("response").at("output"), bj::array());
  EXPECT_EQ(events[8].at("item").at("arguments"), "");
  EXPECT_EQ(events[8].at("item").at("status"), "in_progress");
  EXPECT_EQ(events.back().at("response"), bj::value(responses::to_response(answer, echo, id)));

  // Cut short: response.incomplete.
  responses::EventWriter cut(echo, id);
  body = cut.chunk(obj(R"({"choices":[{"index":0,"delta":{"content":"par"}}]})"));
  body += cut.chunk(obj(R"({"choices":[{"index":0,"delta":{},"finish_reason":"length"}]})"));
  body += cut.end(Usage{});
  events = events_of(body);
  EXPECT_EQ(events.back().at("type"), "response.incomplete");
  EXPECT_EQ(events.back().at("response").at("incomplete_details").at("reason"), "max_output_tokens");
}

TEST(ResponsesDialect, AFailureAfterTheFirstByteEndsWithAnErrorAndResponseFailed) {
  const bj::object echo = responses::to_chat_request(obj(R"({"model":"sonnet","input":"x"})"), nullptr, nullptr)->echo;
  responses::EventWriter w(echo, {"abc", 42});
  std::string body = w.chunk(obj(R"({"choices":[{"index":0,"delta":{"content":"Hal"}}]})"));
  body += w.error("upstream stream failed: connection reset");
  auto events = events_of(body);
  ASSERT_GE(events.size(), 2u);
  const auto& error = events[events.size() - 2];
  EXPECT_EQ(error.at("type"), "error");
  EXPECT_EQ(error.at("message"), "upstream stream failed: connection reset");
  EXPECT_EQ(error.at("code"), "server_error");
  const auto& failed = events.back().at("response");
  EXPECT_EQ(events.back().at("type"), "response.failed");
  EXPECT_EQ(failed.at("status"), "failed");
  EXPECT_EQ(failed.at("error").at("message"), "upstream stream failed: connection reset");
  EXPECT_EQ(failed.at("output").at(0).at("content").at(0).at("text"), "Hal") << "what was sent is kept, not lost";
  EXPECT_EQ(failed.at("output").at(0).at("status"), "incomplete");
  EXPECT_EQ(body.find("response.completed"), std::string::npos);
}

}  // namespace
}  // namespace spectra::ai
