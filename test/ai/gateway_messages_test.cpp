// Anthropic's Messages API on the gateway (/v1/messages, count_tokens):
// relayed to the fake Anthropic upstream as it is, with the key read from
// x-api-key, usage metered exactly from the answer or from message_start
// and message_delta, and the gateway's own refusals in Anthropic's shape.
// For other models (a local vLLM here) it is translated through the chat
// pipeline: whole answers, event streams, tool use, caching, failover.
#include <boost/json/serialize.hpp>

#include <set>

#include "dialect_test_fixture.h"
#include "fakes/fake_bedrock_replies.h"

namespace spectra::ai {
namespace {

using namespace std::chrono_literals;

using Headers = std::vector<std::pair<std::string, std::string>>;

class MessagesTest : public DialectTest {};

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
  // Relayed as it came, its first token is its first content_block_delta:
  // timed on /metrics and in the audit record, as a stream through chat is.
  EXPECT_NE(metrics_.render().find(R"(spectra_ai_time_to_first_token_seconds_count{provider="claude",model="claude-sonnet-4"} 1)"),
            std::string::npos);
  // (Records are written as calls end, which may be after the client has
  // its answer and sent the next: each is found by what it is.)
  auto records = audit_records(2);
  ASSERT_EQ(records.size(), 2u);
  if (records[0].at("stream") == true) std::swap(records[0], records[1]);
  const bj::object& whole_record = records[0];
  const bj::object& streamed_record = records[1];
  ASSERT_EQ(whole_record.at("stream"), false);
  ASSERT_EQ(streamed_record.at("stream"), true);
  EXPECT_FALSE(whole_record.contains("ttft_ms"));
  EXPECT_TRUE(streamed_record.contains("ttft_ms"));
  // The provider's prompt cache, as it reported it.
  EXPECT_FALSE(whole_record.contains("cached_tokens"));
  EXPECT_EQ(streamed_record.at("cached_tokens"), 10);
  EXPECT_EQ(streamed_record.at("cache_write_tokens"), 5);

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
  auto unknown = post("/v1/messages", R"({"model":"nope/model","max_tokens":8,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(unknown.status, 404u);
  EXPECT_EQ(type_of(unknown), "not_found_error");
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

// A repeated Messages call is answered from the exact cache (metered as a
// hit), whole or streamed whichever way the first one came: a whole answer
// replays as Anthropic's events, a stream is assembled into the message
// it described (tool_use input included).
TEST_F(MessagesTest, WholeAndStreamedCallsAreCachedEitherWay) {
  auto [first, second] =
      miss_then_hit(R"({"model":"sonnet","max_tokens":64,"messages":[{"role":"user","content":"same again"}]})");
  EXPECT_EQ(bj::parse(second.body), bj::parse(first.body));
  EXPECT_EQ(anthropic_.requests(), 1u);
  const auto t = metered(1);
  EXPECT_EQ(t.exact_hits, 1);
  EXPECT_EQ(t.saved_tokens, 2 + 3);  // "same again" in, "Echo: same again" out
  auto replay = post("/v1/messages",
                     R"({"model":"sonnet","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"same again"}]})");
  ASSERT_EQ(replay.status, 200u);
  EXPECT_EQ(replay.header("x-spectra-cache"), "hit");
  EXPECT_EQ(anthropic_.requests(), 1u);
  auto ev = events_of(replay.body);
  EXPECT_EQ(types_of(ev), "message_start content_block_start content_block_delta content_block_stop message_delta message_stop");
  EXPECT_EQ(deltas_of(ev, "text_delta", "text"), "Echo: same again");
  EXPECT_EQ(ev[0].second.at("message").at("id"), bj::parse(first.body).at("id"));
  EXPECT_EQ(ev[4].second.at("delta").at("stop_reason"), "end_turn");

  // Streamed first (a tool call): the next whole call gets the message the
  // stream described, the next stream its events again.
  const std::string tools = R"("tools":[{"name":"get_weather","input_schema":{"type":"object",
      "properties":{"location":{"type":"string"}}}}],"messages":[{"role":"user","content":"the weather in Paris"}])";
  auto streamed = post("/v1/messages", R"({"model":"sonnet","max_tokens":64,"stream":true,)" + tools + "}");
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  EXPECT_EQ(streamed.header("x-spectra-cache"), "miss");
  test::eventually([&] { return gw_->cache()->stats().entries == 2; }, 5s);
  auto whole = post("/v1/messages", R"({"model":"sonnet","max_tokens":64,)" + tools + "}");
  ASSERT_EQ(whole.status, 200u) << whole.body;
  EXPECT_EQ(whole.header("x-spectra-cache"), "hit");
  auto m = bj::parse(whole.body).as_object();
  EXPECT_EQ(m.at("stop_reason"), "tool_use");
  ASSERT_EQ(m.at("content").as_array().size(), 1u) << whole.body;
  EXPECT_EQ(m.at("content").at(0).at("type"), "tool_use");
  EXPECT_EQ(m.at("content").at(0).at("name"), "get_weather");
  EXPECT_TRUE(m.at("content").at(0).at("input").as_object().contains("location")) << whole.body;
  const auto original = events_of(streamed.body);
  EXPECT_EQ(m.at("id"), original[0].second.at("message").at("id"));
  auto again = post("/v1/messages", R"({"model":"sonnet","max_tokens":64,"stream":true,)" + tools + "}");
  EXPECT_EQ(again.header("x-spectra-cache"), "hit");
  EXPECT_EQ(bj::parse(deltas_of(events_of(again.body), "input_json_delta", "partial_json")),
            bj::parse(deltas_of(original, "input_json_delta", "partial_json")));
  EXPECT_EQ(anthropic_.requests(), 2u);
}

// GET /v1/models from Anthropic's SDKs (anthropic-version sent): Anthropic's
// list shape, every model the key may use (/v1/messages serves them all).
TEST_F(MessagesTest, ModelsListInAnthropicsShapeForItsSdks) {
  http::Client c({"127.0.0.1", server_->port(), ""}, 10s);
  const Headers h{{"x-api-key", "sk-team-a"}, {"anthropic-version", "2023-06-01"}};
  auto list = c.send(http::Verb::get, "/v1/models?limit=20", "", h);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->status, 200u) << list->body;
  auto data = bj::parse(list->body).at("data").as_array();
  ASSERT_EQ(data.size(), 5u) << list->body;
  EXPECT_EQ(data[0], bj::parse(R"({"type":"model","id":"gpt","display_name":"gpt","created_at":"1970-01-01T00:00:00Z"})"));
  EXPECT_EQ(bj::parse(list->body).at("has_more"), false);
  EXPECT_EQ(bj::parse(list->body).at("first_id"), "gpt");
  EXPECT_EQ(bj::parse(list->body).at("last_id"), "sonnet-or-local");
  auto one = c.send(http::Verb::get, "/v1/models/sonnet", "", h);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(bj::parse(one->body).at("type"), "model");
  auto missing = c.send(http::Verb::get, "/v1/models/nope", "", h);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404u);
  EXPECT_EQ(bj::parse(missing->body).at("error").at("type"), "not_found_error");
  // A local-only key sees only what is served in the account.
  auto local = c.send(http::Verb::get, "/v1/models", "", {{"x-api-key", "sk-private"}, {"anthropic-version", "2023-06-01"}});
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(bj::parse(local->body).at("data").as_array().size(), 3u) << local->body;  // mixed: one target is
  EXPECT_EQ(bj::parse(local->body).at("first_id"), "llama");
  EXPECT_EQ(bj::parse(local->body).at("last_id"), "sonnet-or-local");
  // Without anthropic-version: OpenAI's list, the same models.
  auto openai = c.send(http::Verb::get, "/v1/models", "", {{"Authorization", "Bearer sk-team-a"}});
  ASSERT_TRUE(openai.ok());
  EXPECT_EQ(bj::parse(openai->body).at("data").as_array().size(), 5u) << openai->body;
}

// A model that is not Anthropic's (a local vLLM): the Messages request is
// translated into chat, the answer back, whole or as Anthropic's event
// stream, metered from the upstream's usage; a local-only key may use it.
TEST_F(MessagesTest, OtherModelsAreServedInTranslation) {
  auto whole = post("/v1/messages", R"({"model":"llama","max_tokens":64,"system":"be brief","temperature":0.5,
      "metadata":{"user_id":"u-7"},"messages":[{"role":"user","content":"one two three"}]})", "sk-private");
  ASSERT_EQ(whole.status, 200u) << whole.body;
  auto m = bj::parse(whole.body).as_object();
  EXPECT_EQ(m.at("type"), "message");
  EXPECT_EQ(m.at("role"), "assistant");
  EXPECT_EQ(m.at("model"), "llama");
  EXPECT_TRUE(m.at("id").as_string().starts_with("msg_")) << whole.body;
  EXPECT_EQ(m.at("content"), bj::parse(R"([{"type":"text","text":"local says: one two three"}])"));
  EXPECT_EQ(m.at("stop_reason"), "end_turn");
  EXPECT_EQ(m.at("usage").at("input_tokens"), 5);  // "be brief" + "one two three"
  EXPECT_EQ(m.at("usage").at("output_tokens"), 5);
  EXPECT_EQ(whole.header("x-spectra-provider"), "local");
  auto sent = bj::parse(local_.last_body()).as_object();
  EXPECT_EQ(sent.at("model"), "llama-3");
  EXPECT_EQ(sent.at("max_tokens"), 64);
  EXPECT_EQ(sent.at("temperature"), 0.5);
  EXPECT_EQ(sent.at("user"), "u-7");
  EXPECT_EQ(sent.at("messages"), bj::parse(R"([{"role":"system","content":"be brief"},{"role":"user","content":"one two three"}])"));
  EXPECT_EQ(anthropic_.requests(), 0u);

  auto streamed = post("/v1/messages", R"({"model":"llama","max_tokens":64,"stream":true,
      "messages":[{"role":"user","content":[{"type":"text","text":"four five"}]}]})", "sk-private");
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  EXPECT_EQ(streamed.header("content-type"), "text/event-stream");
  auto ev = events_of(streamed.body);
  const std::string types = types_of(ev);
  EXPECT_TRUE(types.starts_with("message_start content_block_start content_block_delta")) << types;
  EXPECT_TRUE(types.ends_with("content_block_delta content_block_stop message_delta message_stop")) << types;
  EXPECT_EQ(deltas_of(ev, "text_delta", "text"), "local says: four five");
  const auto& delta = ev[ev.size() - 2].second;
  EXPECT_EQ(delta.at("delta").at("stop_reason"), "end_turn");
  EXPECT_EQ(delta.at("usage").at("input_tokens"), 2);
  EXPECT_EQ(delta.at("usage").at("output_tokens"), 4);
  EXPECT_EQ(ev[0].second.at("message").at("model"), "llama");
  test::eventually([&] { return gw_->meter().totals("private", "local", "llama-3").requests >= 2; }, 5s);
  const auto t = gw_->meter().totals("private", "local", "llama-3");
  EXPECT_EQ(t.prompt_tokens, 5 + 2);
  EXPECT_EQ(t.completion_tokens, 5 + 4);
  // The audit says which API the client spoke, and that nothing left the account.
  const auto translated = translated_records(2);
  for (const auto& r : translated) {
    EXPECT_EQ(r.at("api"), "messages");
    EXPECT_EQ(r.at("resolved"), "local/llama-3");
    EXPECT_EQ(r.at("route"), "llama");
    EXPECT_EQ(r.at("egress"), "none");
  }
  EXPECT_EQ(translated.size(), 2u);
}

// Tool use both ways: the model's call comes back as a tool_use block (whole
// and streamed), and the client's tool_result goes up as a tool message.
TEST_F(MessagesTest, ToolUseIsTranslatedBothWays) {
  const std::string tools = R"("tools":[{"name":"get_weather","description":"Weather of a city",
      "input_schema":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}],
      "tool_choice":{"type":"auto","disable_parallel_tool_use":true})";
  auto call = post("/v1/messages", R"({"model":"llama","max_tokens":64,)" + tools +
                                       R"(,"messages":[{"role":"user","content":"what is the weather in Paris"}]})");
  ASSERT_EQ(call.status, 200u) << call.body;
  auto m = bj::parse(call.body);
  EXPECT_EQ(m.at("stop_reason"), "tool_use");
  EXPECT_EQ(m.at("content"), bj::parse(R"([{"type":"tool_use","id":"call_1","name":"get_weather","input":{"location":"Paris"}}])"));
  auto sent = bj::parse(local_.last_body()).as_object();
  EXPECT_EQ(sent.at("tools").at(0).at("function").at("name"), "get_weather");
  EXPECT_EQ(sent.at("tools").at(0).at("function").at("parameters").at("required").at(0), "location");
  EXPECT_EQ(sent.at("tool_choice"), "auto");
  EXPECT_EQ(sent.at("parallel_tool_calls"), false);

  auto answer = post("/v1/messages", R"({"model":"llama","max_tokens":64,)" + tools + R"(,"messages":[
      {"role":"user","content":"what is the weather in Paris"},
      {"role":"assistant","content":[{"type":"text","text":"Checking."},
                                     {"type":"tool_use","id":"call_1","name":"get_weather","input":{"location":"Paris"}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":[{"type":"text","text":"18C"}]}]}]})");
  ASSERT_EQ(answer.status, 200u) << answer.body;
  EXPECT_EQ(bj::parse(answer.body).at("content").at(0).at("text"), "local says: the tool returned 18C");
  EXPECT_EQ(bj::parse(answer.body).at("stop_reason"), "end_turn");
  sent = bj::parse(local_.last_body()).as_object();
  EXPECT_EQ(sent.at("messages").at(1), bj::parse(R"({"role":"assistant","content":"Checking.","tool_calls":[{"id":"call_1",
      "type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Paris\"}"}}]})"));
  EXPECT_EQ(sent.at("messages").at(2), bj::parse(R"({"role":"tool","tool_call_id":"call_1","content":"18C"})"));

  auto streamed = post("/v1/messages", R"({"model":"llama","max_tokens":64,"stream":true,)" + tools +
                                           R"(,"messages":[{"role":"user","content":"and the weather in Paris now"}]})");
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  auto ev = events_of(streamed.body);
  std::size_t starts = 0;
  for (const auto& [type, data] : ev) {
    if (type != "content_block_start") continue;
    ++starts;
    EXPECT_EQ(data.at("content_block"), bj::parse(R"({"type":"tool_use","id":"call_1","name":"get_weather","input":{}})"));
  }
  EXPECT_EQ(starts, 1u) << streamed.body;
  EXPECT_EQ(bj::parse(deltas_of(ev, "input_json_delta", "partial_json")), bj::parse(R"({"location":"Paris"})"));
  EXPECT_EQ(ev[ev.size() - 2].second.at("delta").at("stop_reason"), "tool_use");
}

// The chat pipeline's own features, for Messages clients: exact cache (a
// whole answer replayed whole and as events), failover before the first
// token, an error event after it.
TEST_F(MessagesTest, TranslatedCallsAreCachedAndFailOver) {
  auto [first, again] = miss_then_hit(R"({"model":"llama","max_tokens":64,"messages":[{"role":"user","content":"cache me"}]})");
  auto a = bj::parse(again.body).as_object(), f = bj::parse(first.body).as_object();
  EXPECT_EQ(a.at("content"), f.at("content"));
  EXPECT_EQ(a.at("usage"), f.at("usage"));
  auto replay = post("/v1/messages", R"({"model":"llama","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"cache me"}]})");
  EXPECT_EQ(replay.header("x-spectra-cache"), "hit");
  auto ev = events_of(replay.body);
  EXPECT_EQ(deltas_of(ev, "text_delta", "text"), "local says: cache me");
  EXPECT_EQ(types_of(ev).substr(0, 13), "message_start");
  EXPECT_EQ(ev.back().first, "message_stop");
  EXPECT_EQ(local_.request_count(), 1u);

  local_.set_faults({.error_status = 503});
  auto failed_over = post("/v1/messages", R"({"model":"llama","max_tokens":64,"messages":[{"role":"user","content":"who answers"}]})");
  ASSERT_EQ(failed_over.status, 200u) << failed_over.body;
  EXPECT_EQ(failed_over.header("x-spectra-provider"), "spare");
  EXPECT_EQ(bj::parse(failed_over.body).at("content").at(0).at("text"), "spare says: who answers");

  local_.set_faults({.drop_after_chunks = 2});
  spare_.set_faults({.drop_after_chunks = 2});
  auto broken = post("/v1/messages", R"({"model":"llama","max_tokens":64,"stream":true,
      "messages":[{"role":"user","content":"one two three four five"}]})");
  ASSERT_EQ(broken.status, 200u);
  ev = events_of(broken.body);
  ASSERT_FALSE(ev.empty()) << broken.body;
  EXPECT_EQ(ev.back().first, "error") << broken.body;
  EXPECT_EQ(ev.back().second.at("error").at("type"), "api_error");
  EXPECT_EQ(broken.body.find("message_stop"), std::string::npos);
}

// An alias whose target is Anthropic's and whose fallbacks are not: the
// call goes to Anthropic as it is, and when Anthropic fails before any byte
// reached the client (529, 429, 5xx, no connection, an error as the
// stream's first event) a fallback answers in translation, whole or
// streamed, admitted and metered once; an ejected Anthropic is skipped. A
// local-only key is served by the in-account fallback without Anthropic
// being asked.
TEST_F(MessagesTest, AnthropicFailuresFallBackToTheRoutesOtherModels) {
  const std::string ask = R"({"model":"sonnet-or-local","max_tokens":64,"messages":[{"role":"user","content":"who is there"}]})";
  auto native = post("/v1/messages", ask);
  ASSERT_EQ(native.status, 200u) << native.body;
  EXPECT_EQ(bj::parse(native.body).at("content").at(0).at("text"), "Echo: who is there");
  EXPECT_EQ(local_.request_count(), 0u);

  anthropic_.set_faults({.error_status = 529});
  auto spilled = post("/v1/messages", R"({"model":"sonnet-or-local","max_tokens":64,"messages":[{"role":"user","content":"anyone else"}]})",
                      "sk-once");
  ASSERT_EQ(spilled.status, 200u) << spilled.body;
  EXPECT_EQ(spilled.header("x-spectra-provider"), "local");
  EXPECT_EQ(bj::parse(spilled.body).at("type"), "message");
  EXPECT_EQ(bj::parse(spilled.body).at("content").at(0).at("text"), "local says: anyone else");
  EXPECT_EQ(anthropic_.requests(), 2u);
  EXPECT_EQ(local_.request_count(), 1u);
  // Admitted once (rpm 1): the next call is refused, and goes nowhere.
  auto limited = post("/v1/messages", ask, "sk-once");
  EXPECT_EQ(limited.status, 429u) << limited.body;
  EXPECT_EQ(anthropic_.requests(), 2u);
  test::eventually([&] { return gw_->meter().totals("once", "local", "llama-3").requests == 1; }, 5s);
  EXPECT_EQ(gw_->meter().totals("once", "claude", "claude-sonnet-4").requests, 0);

  auto streamed = post("/v1/messages", R"({"model":"sonnet-or-local","max_tokens":64,"stream":true,
      "messages":[{"role":"user","content":"stream instead"}]})");
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  auto ev = events_of(streamed.body);
  EXPECT_EQ(deltas_of(ev, "text_delta", "text"), "local says: stream instead");
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().first, "message_stop");
  EXPECT_EQ(anthropic_.requests(), 3u);

  // A 200 whose first event is an error (Anthropic overloaded): nothing
  // went out yet, so it fails over too; an error after the first token is
  // relayed to the client as it came.
  anthropic_.set_faults({.error_event_after = 0});
  auto first_event = post("/v1/messages", R"({"model":"sonnet-or-local","max_tokens":64,"stream":true,
      "messages":[{"role":"user","content":"overloaded at once"}]})");
  ASSERT_EQ(first_event.status, 200u) << first_event.body;
  EXPECT_EQ(first_event.header("x-spectra-provider"), "local");
  EXPECT_EQ(deltas_of(events_of(first_event.body), "text_delta", "text"), "local says: overloaded at once");
  EXPECT_EQ(first_event.body.find("overloaded_error"), std::string::npos) << first_event.body;
  // Three failures in a row eject Anthropic's endpoint: until its cool-down
  // ends the fallback answers without Anthropic being asked (as on chat).
  auto skipped = post("/v1/messages", R"({"model":"sonnet-or-local","max_tokens":64,"messages":[{"role":"user","content":"skip it"}]})");
  EXPECT_EQ(skipped.header("x-spectra-provider"), "local");
  EXPECT_EQ(anthropic_.requests(), 4u);
  clock_.advance(6s);
  anthropic_.set_faults({.error_event_after = 1});
  auto later = post("/v1/messages", R"({"model":"sonnet-or-local","max_tokens":64,"stream":true,
      "messages":[{"role":"user","content":"overloaded a bit later"}]})");
  ASSERT_EQ(later.status, 200u);
  EXPECT_EQ(later.header("x-spectra-provider"), "claude");
  EXPECT_NE(later.body.find("overloaded_error"), std::string::npos) << later.body;
  EXPECT_EQ(anthropic_.requests(), 5u);
  EXPECT_EQ(local_.request_count(), 4u);

  anthropic_.set_faults({});
  auto private_call = post("/v1/messages", ask, "sk-private");
  ASSERT_EQ(private_call.status, 200u) << private_call.body;
  EXPECT_EQ(bj::parse(private_call.body).at("content").at(0).at("text"), "local says: who is there");
  EXPECT_EQ(anthropic_.requests(), 5u) << "a local-only key's prompt went to Anthropic";

  // The audit names the fallback taken.
  std::size_t fell_back = 0;
  for (const auto& r : audit_records(8)) {
    if (r.at("fallback") == "local/llama-3") ++fell_back;
  }
  EXPECT_EQ(fell_back, 4u);
  // And /metrics counts them, by route and the fallback that answered.
  EXPECT_NE(metrics_.render().find(R"(spectra_ai_fallbacks_total{route="sonnet-or-local",fallback="local/llama-3"} 4)"),
            std::string::npos)
      << metrics_.render();
}

// A local reasoning model (vLLM's reasoning parser: reasoning_content) for
// Anthropic's SDKs and tools: its thinking as a thinking block before the
// text (unsigned: nothing for Anthropic to verify), streamed as
// thinking_delta events, the same from the cache either way.
TEST_F(MessagesTest, ALocalReasoningModelsThinkingIsAThinkingBlock) {
  const std::string ask = R"({"model":"local/deepseek-r1","max_tokens":64,"messages":[{"role":"user","content":"why"}]})";
  auto whole = post("/v1/messages", ask);
  ASSERT_EQ(whole.status, 200u) << whole.body;
  EXPECT_EQ(bj::parse(whole.body).at("content"), bj::parse(R"([{"type":"thinking","thinking":"local thinks about: why","signature":""},
      {"type":"text","text":"local says: why"}])"));
  bj::object streamed_ask = bj::parse(ask).as_object();
  streamed_ask["stream"] = true;
  auto streamed = post("/v1/messages", bj::serialize(streamed_ask));  // from the cache, as events
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  EXPECT_EQ(streamed.header("x-spectra-cache"), "hit");
  const auto events = events_of(streamed.body);
  EXPECT_EQ(deltas_of(events, "thinking_delta", "thinking"), "local thinks about: why");
  EXPECT_EQ(deltas_of(events, "text_delta", "text"), "local says: why");
  EXPECT_EQ(events.at(1).second.at("content_block"), bj::parse(R"({"type":"thinking","thinking":"","signature":""})"));
  // Streamed from the model itself: the thinking as it comes, first.
  streamed_ask["messages"] = bj::parse(R"([{"role":"user","content":"think live"}])");
  auto live = post("/v1/messages", bj::serialize(streamed_ask));
  ASSERT_EQ(live.status, 200u) << live.body;
  EXPECT_EQ(live.header("x-spectra-cache"), "miss");
  const auto live_events = events_of(live.body);
  EXPECT_EQ(deltas_of(live_events, "thinking_delta", "thinking"), "local thinks about: think live");
  EXPECT_LT(live.body.find("thinking_delta"), live.body.find("text_delta"));
}

// Claude on Bedrock through the Messages API (Claude Code's set-up): the
// request's thinking goes to Bedrock as Anthropic's API takes it, the
// signed thinking comes back as a thinking block (whole and as
// thinking_delta + signature_delta events), and the assistant turn sent
// back with its tool results keeps it, as Bedrock (which verifies the
// signature) requires. The same request to a local model carries none of
// Claude's fields; its thinking goes as the reasoning_effort vLLM takes.
TEST_F(MessagesTest, ClaudeOnBedrockThinksThroughTheMessagesApi) {
  const std::string claude = "aws/anthropic.claude-3-7-sonnet-20250219-v1:0";
  const std::string tools = R"("tools":[{"name":"get_weather","input_schema":{"type":"object",
      "properties":{"location":{"type":"string"}}}}])";
  const std::string thinking = R"("max_tokens":3000,"thinking":{"type":"enabled","budget_tokens":2048},)";
  auto call = post("/v1/messages", R"({"model":")" + claude + R"(",)" + thinking + tools +
                                       R"(,"messages":[{"role":"user","content":"weather in Paris"}]})");
  ASSERT_EQ(call.status, 200u) << call.body;
  const auto sent = bj::parse(bedrock_.requests().back().body).as_object();
  EXPECT_EQ(sent.at("additionalModelRequestFields"), bj::parse(R"({"thinking":{"type":"enabled","budget_tokens":2048}})"));
  EXPECT_EQ(sent.at("inferenceConfig").at("maxTokens"), 3000);
  const auto content = bj::parse(call.body).at("content").as_array();
  const std::string thought = "Thinking about: weather in Paris";
  ASSERT_GE(content.size(), 2u) << call.body;
  EXPECT_EQ(content.at(0), bj::parse(R"({"type":"thinking","thinking":")" + thought + R"(","signature":")" +
                                     fakes::reasoning_signature(thought) + R"("})"));
  const auto& use = content.back().as_object();
  ASSERT_EQ(use.at("type"), "tool_use") << call.body;

  auto follow_up = [&](const bj::array& turn) {
    bj::object req = bj::parse(R"({"model":")" + claude + R"(",)" + thinking + tools + "}").as_object();
    req["messages"] = bj::array{
        bj::object{{"role", "user"}, {"content", "weather in Paris"}}, bj::object{{"role", "assistant"}, {"content", turn}},
        bj::object{{"role", "user"},
                   {"content", bj::array{bj::object{{"type", "tool_result"}, {"tool_use_id", use.at("id")}, {"content", "18C"}}}}}};
    return post("/v1/messages", bj::serialize(req));
  };
  auto answer = follow_up(content);
  ASSERT_EQ(answer.status, 200u) << answer.body;
  EXPECT_EQ(bj::parse(answer.body).at("content").as_array().back().at("text"), "Tool result received: 18C");
  EXPECT_EQ(bj::parse(bedrock_.requests().back().body).at("messages").at(1).at("content").at(0),
            bj::parse(R"({"reasoningContent":{"reasoningText":{"text":")" + thought + R"(","signature":")" +
                      fakes::reasoning_signature(thought) + R"("}}})"));
  bj::array altered = content;
  altered[0].as_object()["thinking"] = "something else";
  EXPECT_EQ(follow_up(altered).status, 400u) << "Bedrock checks the signature";

  auto streamed = post("/v1/messages", R"({"model":")" + claude + R"(","stream":true,)" + thinking +
                                           R"("messages":[{"role":"user","content":"stream your thoughts"}]})");
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  const auto ev = events_of(streamed.body);
  EXPECT_EQ(deltas_of(ev, "thinking_delta", "thinking"), "Thinking about: stream your thoughts");
  EXPECT_EQ(deltas_of(ev, "signature_delta", "signature"), fakes::reasoning_signature("Thinking about: stream your thoughts"));
  EXPECT_LT(streamed.body.find("thinking_delta"), streamed.body.find("text_delta"));

  // A local model: the same request, with Claude's fields left out and its
  // 2,048-token budget as an effort.
  bj::object local = bj::parse(R"({"model":"llama",)" + thinking + R"("output_config":{"effort":"low"},"messages":[]})").as_object();
  local["messages"] = bj::array{bj::object{{"role", "user"}, {"content", "weather in Paris"}},
                                bj::object{{"role", "assistant"}, {"content", content}},
                                bj::object{{"role", "user"}, {"content", "and tomorrow"}}};
  local.erase("tools");
  local["messages"].as_array()[1].as_object()["content"] =
      bj::array{content.at(0), bj::object{{"type", "text"}, {"text", "Sunny."}}};
  auto on_local = post("/v1/messages", bj::serialize(local));
  ASSERT_EQ(on_local.status, 200u) << on_local.body;
  const auto to_local = bj::parse(local_.last_body()).as_object();
  EXPECT_FALSE(to_local.contains("thinking")) << local_.last_body();
  EXPECT_FALSE(to_local.contains("output_config")) << local_.last_body();
  EXPECT_EQ(to_local.at("reasoning_effort"), "low") << local_.last_body();
  EXPECT_EQ(to_local.at("messages").at(1), bj::parse(R"({"role":"assistant","content":"Sunny."})"));
  // Thinking off: no effort either.
  auto off = post("/v1/messages", R"({"model":"llama","max_tokens":50,"thinking":{"type":"disabled"},
      "messages":[{"role":"user","content":"no thinking"}]})");
  ASSERT_EQ(off.status, 200u) << off.body;
  EXPECT_FALSE(bj::parse(local_.last_body()).as_object().contains("reasoning_effort")) << local_.last_body();
}

// Qwen3 on vLLM thinks unless its chat template is told not to
// (enable_thinking, named for it in thinking_kwargs). Claude Code's
// thinking turned off, or a chat client's reasoning_effort "none", turns it
// off; turned on, on; not asked, the model's default; a client's own
// chat_template_kwargs stand; a model with no keyword gets none.
TEST_F(MessagesTest, ThinkingOnOrOffReachesALocalModelsChatTemplate) {
  auto thoughts_of = [](const http::ClientResponse& r) {
    std::string text;
    const bj::value answer = bj::parse(r.body);
    for (const auto& b : answer.at("content").as_array()) {
      if (b.at("type") == "thinking") text += std::string(b.at("thinking").as_string());
    }
    return text;
  };
  auto sent_kwargs = [&]() -> bj::value {
    const auto body = bj::parse(local_.last_body()).as_object();
    const auto* k = body.if_contains("chat_template_kwargs");
    return k ? *k : bj::value();
  };
  auto off = post("/v1/messages", R"({"model":"local/qwen3-32b","max_tokens":50,"thinking":{"type":"disabled"},
      "messages":[{"role":"user","content":"answer at once"}]})");
  ASSERT_EQ(off.status, 200u) << off.body;
  EXPECT_EQ(sent_kwargs(), bj::parse(R"({"enable_thinking":false})"));
  EXPECT_EQ(thoughts_of(off), "") << off.body;

  auto on = post("/v1/messages", R"({"model":"local/qwen3-32b","max_tokens":3000,
      "thinking":{"type":"enabled","budget_tokens":2048},"messages":[{"role":"user","content":"think first"}]})");
  ASSERT_EQ(on.status, 200u) << on.body;
  EXPECT_EQ(sent_kwargs(), bj::parse(R"({"enable_thinking":true})"));
  EXPECT_EQ(bj::parse(local_.last_body()).at("reasoning_effort"), "low");
  EXPECT_EQ(thoughts_of(on), "local thinks about: think first");

  auto unasked = post("/v1/messages", R"({"model":"local/qwen3-32b","max_tokens":50,
      "messages":[{"role":"user","content":"as you like"}]})");
  ASSERT_EQ(unasked.status, 200u) << unasked.body;
  EXPECT_TRUE(sent_kwargs().is_null()) << local_.last_body();
  EXPECT_EQ(thoughts_of(unasked), "local thinks about: as you like") << "Qwen3's default";

  // A chat client: reasoning_effort "none" is thinking off; its own
  // chat_template_kwargs win.
  auto chat_off = post_openai("/v1/chat/completions", R"({"model":"local/qwen3-32b","reasoning_effort":"none",
      "messages":[{"role":"user","content":"quick"}]})");
  ASSERT_EQ(chat_off.status, 200u) << chat_off.body;
  EXPECT_EQ(sent_kwargs(), bj::parse(R"({"enable_thinking":false})"));
  EXPECT_FALSE(bj::parse(chat_off.body).at("choices").at(0).at("message").as_object().contains("reasoning_content"));
  auto own = post_openai("/v1/chat/completions", R"({"model":"local/qwen3-32b","reasoning_effort":"none",
      "chat_template_kwargs":{"enable_thinking":true,"other":1},"messages":[{"role":"user","content":"mine"}]})");
  ASSERT_EQ(own.status, 200u) << own.body;
  EXPECT_EQ(sent_kwargs(), bj::parse(R"({"enable_thinking":true,"other":1})"));

  // Counted as the template will render it.
  auto counted = post("/v1/messages/count_tokens", R"({"model":"local/qwen3-32b","thinking":{"type":"disabled"},
      "messages":[{"role":"user","content":"a b c"}]})");
  ASSERT_EQ(counted.status, 200u) << counted.body;
  EXPECT_EQ(sent_kwargs(), bj::parse(R"({"enable_thinking":false})")) << local_.last_body();

  auto llama = post("/v1/messages", R"({"model":"llama","max_tokens":50,"thinking":{"type":"disabled"},
      "messages":[{"role":"user","content":"no keyword here"}]})");
  ASSERT_EQ(llama.status, 200u) << llama.body;
  EXPECT_TRUE(sent_kwargs().is_null()) << local_.last_body();
}

// top_k through the Messages API in translation: a local model gets it as
// vLLM takes it, Claude on Bedrock in additionalModelRequestFields.
TEST_F(MessagesTest, TopKReachesTheModelsThatTakeIt) {
  auto local = post("/v1/messages", R"({"model":"llama","max_tokens":20,"top_k":7,
      "messages":[{"role":"user","content":"sample narrowly"}]})");
  ASSERT_EQ(local.status, 200u) << local.body;
  EXPECT_EQ(bj::parse(local_.last_body()).at("top_k"), 7) << local_.last_body();
  auto claude = post("/v1/messages", R"({"model":"aws/anthropic.claude-3-7-sonnet-20250219-v1:0","max_tokens":20,
      "top_k":7,"messages":[{"role":"user","content":"sample narrowly"}]})");
  ASSERT_EQ(claude.status, 200u) << claude.body;
  EXPECT_EQ(bj::parse(bedrock_.requests().back().body).at("additionalModelRequestFields"), bj::parse(R"({"top_k":7})"));
}

// Prompt caching through the Messages API to Claude on Bedrock, as Claude
// Code marks its requests: cache_control on the system prompt, the tools
// and the last user block become Bedrock cache points; the next call with
// the same system prompt and tools reads them from Bedrock's cache (the
// fake bills reads and writes as Bedrock does) and the answer's usage says
// so. A local model gets no cache_control at all.
// An alias balanced between Claude on Anthropic and a local model: the
// Messages call whose turn is Anthropic's is relayed there as it is, the
// next one is served by the local model in translation, and an overloaded
// Anthropic's turn is answered by the local model (its other target).
TEST_F(MessagesTest, ABalancedAliasTakesTurnsAndFailsOverToItsOtherTarget) {
  const std::string ask = R"({"model":"mixed","max_tokens":64,"messages":[{"role":"user","content":"whose turn"}]})";
  auto first = post("/v1/messages", ask);
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(anthropic_.requests(), 1u);
  EXPECT_EQ(first.header("x-spectra-provider"), "claude");
  const auto local_before = local_.request_count();
  auto second = post("/v1/messages", R"({"model":"mixed","max_tokens":64,"messages":[{"role":"user","content":"and now"}]})");
  ASSERT_EQ(second.status, 200u) << second.body;
  EXPECT_EQ(anthropic_.requests(), 1u) << "its turn was the local model's";
  EXPECT_EQ(local_.request_count(), local_before + 1);
  EXPECT_EQ(bj::parse(second.body).at("content").at(0).at("text"), "local says: and now");
  EXPECT_EQ(bj::parse(second.body).at("type"), "message") << "in the client's API";

  anthropic_.set_faults({.error_status = 529});
  auto third = post("/v1/messages", R"({"model":"mixed","max_tokens":64,"messages":[{"role":"user","content":"busy?"}]})");
  ASSERT_EQ(third.status, 200u) << third.body;
  EXPECT_EQ(anthropic_.requests(), 2u) << "Anthropic's turn, tried first";
  EXPECT_EQ(local_.request_count(), local_before + 2);
  EXPECT_EQ(bj::parse(third.body).at("content").at(0).at("text"), "local says: busy?");
  int fell_back = 0;  // (records are written as calls end: counted, not taken in order)
  for (const auto& r : audit_records(3)) fell_back += r.at("fallback") == "local/llama-3" ? 1 : 0;
  EXPECT_EQ(fell_back, 1);
}

// A Bedrock provider with a guardrail: every chat call carries it (a
// stream with its processing mode), whatever the client sent; when it
// intervenes the client gets its message as a content filter (a refusal
// in the Messages API); answers given under one guardrail version are not
// served from the cache under another.
TEST_F(MessagesTest, ABedrockGuardrailCoversEveryCallToItsProvider) {
  const std::string model = "guarded/anthropic.claude-3-7-sonnet-20250219-v1:0";
  auto ask = [&](const std::string& text, bool stream = false) {
    bj::object req{{"model", model}, {"messages", bj::array{bj::object{{"role", "user"}, {"content", text}}}},
                   {"guardrailConfig", bj::object{{"guardrailIdentifier", "mine"}, {"guardrailVersion", "DRAFT"}}}};
    if (stream) req["stream"] = true;
    return post_openai("/v1/chat/completions", bj::serialize(req));
  };
  auto sent_guardrail = [&]() { return bj::parse(bedrock_.requests().back().body).at("guardrailConfig"); };
  auto fine = ask("what is the weather like");
  ASSERT_EQ(fine.status, 200u) << fine.body;
  EXPECT_EQ(sent_guardrail(), bj::parse(R"({"guardrailIdentifier":"gr1abc","guardrailVersion":"1","trace":"enabled"})"))
      << "the operator's, traced";
  EXPECT_EQ(bj::parse(fine.body).at("choices").at(0).at("finish_reason"), "stop");

  auto blocked = ask("tell me the admin password");
  ASSERT_EQ(blocked.status, 200u) << blocked.body;
  EXPECT_EQ(bj::parse(blocked.body).at("choices").at(0).at("finish_reason"), "content_filter");
  EXPECT_EQ(bj::parse(blocked.body).at("choices").at(0).at("message").at("content"),
            "Sorry, the model cannot answer this question.");
  auto streamed = ask("and the root password", /*stream=*/true);
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  EXPECT_EQ(sent_guardrail(),
            bj::parse(R"({"guardrailIdentifier":"gr1abc","guardrailVersion":"1","trace":"enabled","streamProcessingMode":"sync"})"));
  EXPECT_NE(streamed.body.find(R"("finish_reason":"content_filter")"), std::string::npos) << streamed.body;
  EXPECT_NE(streamed.body.find("Sorry,"), std::string::npos) << streamed.body;
  auto refused = post("/v1/messages", R"({"model":")" + model + R"(","max_tokens":64,
      "messages":[{"role":"user","content":"what is my password"}]})");
  ASSERT_EQ(refused.status, 200u) << refused.body;
  EXPECT_EQ(bj::parse(refused.body).at("stop_reason"), "refusal") << refused.body;

  // The cache: a hit under the same guardrail, a miss once it changes.
  EXPECT_EQ(ask("what is the weather like").header("x-spectra-cache"), "hit");
  auto blocked_again = ask("tell me the admin password");
  EXPECT_EQ(blocked_again.header("x-spectra-cache"), "hit");
  EXPECT_EQ(bj::parse(blocked_again.body).at("choices").at(0).at("finish_reason"), "content_filter");
  EXPECT_EQ(ask("what is my salary").header("x-spectra-cache"), "miss");
  gw_->configure(config(R"({"exact_enabled": true})", "", "2"));
  auto under_v2 = ask("what is my salary");
  EXPECT_EQ(under_v2.header("x-spectra-cache"), "miss") << "given under version 1";
  EXPECT_EQ(bj::parse(under_v2.body).at("choices").at(0).at("finish_reason"), "content_filter");
  EXPECT_EQ(sent_guardrail().at("guardrailVersion"), "2");

  // Each intervention is named in its audit record and counted (the hits
  // were counted when their answers were made; their records say how
  // those ended, with no guardrail of their own). (The records first: a
  // call's metrics are in before its record is written.)
  const std::string model_id = "anthropic.claude-3-7-sonnet-20250219-v1:0";
  // With them, the guardrail's trace: which policy acted (never the words
  // it matched) and the text units it was billed — the input's, and the
  // answer's when it was not blocked.
  std::vector<std::string> reasons;
  std::int64_t units = 0;
  for (const auto& r : audit_records(8)) {
    if (r.at("resolved").as_string() != "guarded/" + model_id) continue;
    std::string seen = r.contains("finish_reason") ? std::string(r.at("finish_reason").as_string()) : "-";
    if (const auto* g = r.if_contains("guardrail")) {
      units += g->at("text_units").as_int64();
      // Its word filter's units at the provider's price (the model has none).
      EXPECT_DOUBLE_EQ(r.at("cost_usd").to_number<double>(), static_cast<double>(g->at("text_units").as_int64()) * 0.5 / 1000)
          << bj::serialize(r);
      seen += " " + std::to_string(g->at("text_units").as_int64());
      for (const auto& a : g->at("acted").as_array()) seen += " " + std::string(a.as_string());
    }
    reasons.push_back(seen);
  }
  // (Records are written as calls end, which may be after the client has
  // its answer and sent the next: compared as a multiset.)
  const std::string blocked_by_word = "content_filter 1 wordPolicy:customWords";
  const std::multiset<std::string> expected = {"stop 2",        blocked_by_word, blocked_by_word, blocked_by_word, "stop",
                                               "content_filter", "stop 2",        blocked_by_word};
  EXPECT_EQ(std::multiset<std::string>(reasons.begin(), reasons.end()), expected);
  const std::string metrics = metrics_.render();
  EXPECT_NE(metrics.find(R"(spectra_ai_content_filtered_total{provider="guarded",model=")" + model_id + R"("} 4)"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find(R"(spectra_ai_guardrail_text_units_total{provider="guarded"} )" + std::to_string(units)), std::string::npos)
      << metrics;
  EXPECT_DOUBLE_EQ(gw_->meter().totals("team-a", "guarded", model_id).cost_usd, static_cast<double>(units) * 0.5 / 1000)
      << "in the key's metered spend (and so its budget)";
  std::ifstream log(dir_ / "audit.jsonl");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("password"), std::string::npos) << "what the guardrail matched stays out of the record";
}

// Claude Code asks for the 1M-token context with an anthropic-beta flag
// among others Bedrock does not take. The flags the operator lists for the
// model reach Bedrock; the others, and every flag to a model with no list,
// do not (Bedrock would refuse the whole request over them).
TEST_F(MessagesTest, BetaFlagsReachClaudeOnBedrockAsListed) {
  std::string long_prompt;
  for (int i = 0; i < 200010; ++i) long_prompt += "x ";  // over Claude's 200k-token window
  auto ask = [&](std::string_view model, const std::string& text, const std::string& beta) {
    bj::object req{{"model", "aws/" + std::string(model)}, {"max_tokens", 16},
                   {"messages", bj::array{bj::object{{"role", "user"}, {"content", text}}}}};
    return post("/v1/messages", bj::serialize(req), "sk-team-a", beta);
  };
  const std::string claude_code = "claude-code-20250219,context-1m-2025-08-07,fine-grained-tool-streaming-2025-05-14";
  auto sent_betas = [&]() -> bj::value {
    const auto body = bj::parse(bedrock_.requests().back().body).as_object();
    const auto* extra = body.if_contains("additionalModelRequestFields");
    const auto* betas = extra ? extra->as_object().if_contains("anthropic_beta") : nullptr;
    return betas ? *betas : bj::value();
  };

  auto long_context = ask(kSonnetOnBedrock, long_prompt, claude_code);
  ASSERT_EQ(long_context.status, 200u) << long_context.body.substr(0, 300);
  EXPECT_EQ(sent_betas(), bj::parse(R"(["context-1m-2025-08-07"])")) << "listed and asked for: that one only";
  EXPECT_EQ(bj::parse(long_context.body).at("usage").at("input_tokens"), 200010);

  auto without = ask(kSonnetOnBedrock, long_prompt, "");
  EXPECT_EQ(without.status, 400u);
  EXPECT_TRUE(sent_betas().is_null());
  EXPECT_NE(without.body.find("Input is too long for requested model."), std::string::npos) << without.body;

  // No list for Haiku 4.5: its request carries no flag (context-1m would be
  // "invalid beta flag" there), so a short prompt is answered.
  const std::string haiku = "us.anthropic.claude-haiku-4-5-20251001-v1:0";
  auto unlisted = ask(haiku, "one two", claude_code);
  ASSERT_EQ(unlisted.status, 200u) << unlisted.body;
  EXPECT_TRUE(sent_betas().is_null());

  // A header that holds no flags is the client's error, named.
  const auto requests = bedrock_.requests().size();
  auto bad = ask(kSonnetOnBedrock, "one two", "context-1m-2025-08-07,not a flag");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(bj::parse(bad.body).at("error").at("type"), "invalid_request_error") << bad.body;
  EXPECT_NE(bad.body.find("anthropic-beta"), std::string::npos) << bad.body;
  EXPECT_EQ(bedrock_.requests().size(), requests);

  // A chat client's own flags reach Anthropic as its header, and an
  // OpenAI-compatible upstream gets none of them.
  auto to_anthropic = post_openai("/v1/chat/completions", R"({"model":"claude/claude-sonnet-4",
      "anthropic_beta":["interleaved-thinking-2025-05-14","context-1m-2025-08-07"],
      "messages":[{"role":"user","content":"one two"}]})");
  ASSERT_EQ(to_anthropic.status, 200u) << to_anthropic.body;
  EXPECT_EQ(anthropic_.last_request().header("anthropic-beta"), "interleaved-thinking-2025-05-14,context-1m-2025-08-07");
  EXPECT_FALSE(bj::parse(anthropic_.last_request().body).as_object().contains("anthropic_beta"));
  auto to_local = post("/v1/messages", R"({"model":"llama","max_tokens":16,"messages":[{"role":"user","content":"one two"}]})",
                       "sk-team-a", claude_code);
  ASSERT_EQ(to_local.status, 200u) << to_local.body;
  EXPECT_EQ(local_.last_body().find("anthropic_beta"), std::string::npos) << local_.last_body();
}

TEST_F(MessagesTest, PromptCachingReachesClaudeOnBedrock) {
  gw_->configure(config(R"({"exact_enabled": true})", R"(, "prices": [{"model": "aws/anthropic.claude-3-7-sonnet-20250219-v1:0",
      "input_per_mtok_usd": 3, "output_per_mtok_usd": 15, "cached_input_per_mtok_usd": 0.3, "cache_write_per_mtok_usd": 3.75}])"));
  std::string rules;
  for (int i = 0; i < 1100; ++i) rules += "rule" + std::to_string(i) + " ";
  auto ask = [&](const std::string& model, const std::string& question, bool stream = false) {
    bj::object req = bj::parse(R"({"max_tokens":64,
        "tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"location":{"type":"string"}}},
                  "cache_control":{"type":"ephemeral"}}]})").as_object();
    req["model"] = model;
    req["system"] = bj::array{bj::object{{"type", "text"}, {"text", rules}, {"cache_control", {{"type", "ephemeral"}}}}};
    req["messages"] = bj::array{bj::object{
        {"role", "user"},
        {"content", bj::array{bj::object{{"type", "text"}, {"text", question}, {"cache_control", {{"type", "ephemeral"}}}}}}}};
    if (stream) req["stream"] = true;
    return post("/v1/messages", bj::serialize(req));
  };
  const std::string claude = "aws/anthropic.claude-3-7-sonnet-20250219-v1:0";
  auto first = ask(claude, "what do the rules say");
  ASSERT_EQ(first.status, 200u) << first.body;
  const auto sent = bj::parse(bedrock_.requests().back().body).as_object();
  const bj::value point = bj::parse(R"({"cachePoint":{"type":"default"}})");
  EXPECT_EQ(sent.at("system").as_array().size(), 2u);
  EXPECT_EQ(sent.at("system").as_array().back(), point);
  EXPECT_EQ(sent.at("toolConfig").at("tools").as_array().back(), point);
  EXPECT_EQ(sent.at("messages").at(0).at("content").as_array().back(), point);
  // Anthropic's usage convention: input_tokens is what was neither read
  // from nor written to the cache.
  const auto first_usage = bj::parse(first.body).at("usage");
  EXPECT_EQ(first_usage.at("cache_read_input_tokens"), 0) << first.body;
  EXPECT_EQ(first_usage.at("cache_creation_input_tokens"), 1100 + 5) << "everything up to the last point written";
  EXPECT_EQ(first_usage.at("input_tokens"), 0);

  auto second = ask(claude, "and what else");
  ASSERT_EQ(second.status, 200u) << second.body;
  const auto usage = bj::parse(second.body).at("usage");
  EXPECT_EQ(usage.at("cache_read_input_tokens"), 1100) << second.body;
  EXPECT_EQ(usage.at("cache_creation_input_tokens"), 3) << "the new question, written after the cached system prompt";
  EXPECT_EQ(usage.at("input_tokens"), 0);
  const auto t = gw_->meter().totals("team-a", "aws", "anthropic.claude-3-7-sonnet-20250219-v1:0");
  EXPECT_EQ(t.prompt_tokens, 1105 + 1103);
  EXPECT_EQ(t.cached_prompt_tokens, 1100);
  EXPECT_EQ(t.cache_write_tokens, 1105 + 3);

  // The gateway's own cache answers the first question again as the call
  // that filled it was billed, whole and streamed, and counts what it saved
  // at the prices of what it saved: 1,105 tokens written, the answer.
  auto hit = ask(claude, "what do the rules say");
  EXPECT_EQ(hit.header("x-spectra-cache"), "hit");
  EXPECT_EQ(bj::parse(hit.body).at("usage"), first_usage) << hit.body;
  auto streamed_hit = ask(claude, "what do the rules say", /*stream=*/true);
  EXPECT_EQ(streamed_hit.header("x-spectra-cache"), "hit");
  const auto ev = events_of(streamed_hit.body);
  ASSERT_GE(ev.size(), 2u) << streamed_hit.body;
  ASSERT_EQ(ev[ev.size() - 2].first, "message_delta") << streamed_hit.body;
  const auto& final_usage = ev[ev.size() - 2].second.at("usage");  // the totals, as in translation
  EXPECT_EQ(final_usage.at("cache_creation_input_tokens"), 1105) << streamed_hit.body;
  EXPECT_EQ(final_usage.at("input_tokens"), 0) << streamed_hit.body;
  const auto saved = gw_->meter().totals("team-a", "aws", "anthropic.claude-3-7-sonnet-20250219-v1:0");
  EXPECT_EQ(saved.exact_hits, 2);
  const std::int64_t out = first_usage.at("output_tokens").as_int64();
  EXPECT_NEAR(saved.saved_usd, 2 * (1105 * 3.75 + out * 15) / 1e6, 1e-12);

  auto local = ask("llama", "what do the rules say");
  ASSERT_EQ(local.status, 200u) << local.body;
  EXPECT_EQ(local_.last_body().find("cache_control"), std::string::npos) << local_.last_body();
}

// count_tokens for a local model: counted by the vLLM replica's own
// tokenizer (POST /tokenize at its origin, the translated messages with the
// generation prompt), not metered; OpenAI models have no counter (404).
TEST_F(MessagesTest, CountTokensOnALocalModelAsksItsTokenizer) {
  auto count = post("/v1/messages/count_tokens", R"({"model":"llama","system":"be brief",
      "messages":[{"role":"user","content":"count these four words"}]})", "sk-private");
  ASSERT_EQ(count.status, 200u) << count.body;
  EXPECT_EQ(bj::parse(count.body), bj::parse(R"({"input_tokens":6})"));
  auto sent = bj::parse(local_.last_body()).as_object();
  EXPECT_EQ(sent.at("model"), "llama-3");
  EXPECT_EQ(sent.at("add_generation_prompt"), true);
  EXPECT_EQ(sent.at("messages"), bj::parse(R"([{"role":"system","content":"be brief"},
      {"role":"user","content":"count these four words"}])"));
  EXPECT_EQ(gw_->meter().totals("private", "local", "llama-3").requests, 0);
  auto remote = post("/v1/messages/count_tokens", R"({"model":"gpt","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(remote.status, 404u);
  EXPECT_EQ(bj::parse(remote.body).at("error").at("type"), "not_found_error");
  local_.stop();
  auto down = post("/v1/messages/count_tokens", R"({"model":"llama","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(down.status, 502u) << down.body;
  EXPECT_EQ(bj::parse(down.body).at("error").at("type"), "api_error");
}

// count_tokens for a Bedrock model: the request translated as for
// /v1/messages and counted by Bedrock's CountTokens (signed; the Converse
// messages, system and tools, nothing of inference), not metered. A model
// Bedrock has no counter for (Nova) is refused with Bedrock's reason;
// Bedrock failing is a 502; a local-only key is refused before anything
// goes out.
TEST_F(MessagesTest, CountTokensOnABedrockModelAsksBedrock) {
  const std::string claude = "aws/anthropic.claude-3-5-haiku-20241022-v1:0";
  auto count = post("/v1/messages/count_tokens", R"({"model":")" + claude + R"(","system":"be brief",
      "tools":[{"name":"get_weather","input_schema":{"type":"object"}}],
      "messages":[{"role":"user","content":"count these four words"}]})");
  ASSERT_EQ(count.status, 200u) << count.body;
  EXPECT_EQ(bj::parse(count.body), bj::parse(R"({"input_tokens":6})"));
  EXPECT_EQ(count.header("x-spectra-provider"), "aws");
  ASSERT_EQ(bedrock_.request_count(), 1u);
  const auto sent = bedrock_.requests().back();
  EXPECT_TRUE(sent.signature_ok);
  EXPECT_EQ(sent.target, "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/count-tokens");
  const auto converse = bj::parse(sent.body).at("input").at("converse").as_object();
  EXPECT_EQ(converse.at("system"), bj::parse(R"([{"text":"be brief"}])"));
  EXPECT_EQ(converse.at("messages"), bj::parse(R"([{"role":"user","content":[{"text":"count these four words"}]}])"));
  EXPECT_EQ(converse.at("toolConfig").at("tools").at(0).at("toolSpec").at("name"), "get_weather");
  EXPECT_FALSE(converse.contains("inferenceConfig")) << sent.body;
  EXPECT_EQ(gw_->meter().totals("team-a", "aws", "anthropic.claude-3-5-haiku-20241022-v1:0").requests, 0);

  auto nova = post("/v1/messages/count_tokens", R"({"model":"aws/us.amazon.nova-pro-v1:0",
      "messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(nova.status, 400u) << nova.body;
  EXPECT_EQ(bj::parse(nova.body).at("error").at("type"), "invalid_request_error");
  EXPECT_NE(nova.body.find("doesn't support counting tokens"), std::string::npos) << nova.body;

  bedrock_.set_faults({.error_status = 503});
  auto down = post("/v1/messages/count_tokens", R"({"model":")" + claude + R"(","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(down.status, 502u) << down.body;
  EXPECT_EQ(bj::parse(down.body).at("error").at("type"), "api_error");

  const auto before = bedrock_.request_count();
  auto private_call = post("/v1/messages/count_tokens", R"({"model":")" + claude +
                                                            R"(","messages":[{"role":"user","content":"x"}]})",
                           "sk-private");
  EXPECT_EQ(private_call.status, 403u) << private_call.body;
  EXPECT_EQ(bedrock_.request_count(), before);
}

// What has no chat equivalent is refused with the field named, before any
// upstream is asked.
TEST_F(MessagesTest, UntranslatableRequestsAreRefused) {
  auto doc = post("/v1/messages", R"({"model":"llama","max_tokens":8,"messages":[{"role":"user","content":[
      {"type":"document","source":{"type":"text","media_type":"text/plain","data":"x"}}]}]})");
  EXPECT_EQ(doc.status, 400u);
  EXPECT_EQ(bj::parse(doc.body).at("error").at("type"), "invalid_request_error");
  EXPECT_NE(doc.body.find("messages[0].content[0].type"), std::string::npos) << doc.body;
  auto server_tool = post("/v1/messages", R"({"model":"llama","max_tokens":8,"tools":[{"type":"web_search_20250305","name":"web_search"}],
      "messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(server_tool.status, 400u);
  EXPECT_NE(server_tool.body.find("tools[0].type"), std::string::npos) << server_tool.body;
  auto no_max = post("/v1/messages", R"({"model":"llama","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(no_max.status, 400u);
  EXPECT_NE(no_max.body.find("max_tokens"), std::string::npos) << no_max.body;
  EXPECT_EQ(local_.request_count(), 0u);
}

// Many clients at once, on both paths (relayed and translated, whole and
// streamed): every answer is whole and right, and the meter adds up to
// exactly what the upstreams reported. (Also run under ThreadSanitizer.)
TEST_F(MessagesTest, ConcurrentCallsOnBothPathsAreAnsweredAndMeteredExactly) {
  constexpr int kThreads = 8, kEach = 6;
  std::atomic<int> good{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      http::Client c({"127.0.0.1", server_->port(), ""}, 10s);
      for (int i = 0; i < kEach; ++i) {
        const bool stream = i % 2 == 1;
        const std::string model = (t + i) % 2 == 0 ? "sonnet" : "llama";
        const std::string words = "client " + std::to_string(t) + " call " + std::to_string(i);  // 4 words, unique
        auto r = c.send(http::Verb::post, "/v1/messages",
                        R"({"model":")" + model + R"(","max_tokens":64,"stream":)" + (stream ? "true" : "false") +
                            R"(,"messages":[{"role":"user","content":")" + words + R"("}]})",
                        {{"x-api-key", "sk-team-a"}, {"anthropic-version", "2023-06-01"}});
        if (!r.ok() || r->status != 200) continue;
        const std::string want = (model == "sonnet" ? "Echo: " : "local says: ") + words;
        const std::string got = stream ? deltas_of(events_of(r->body), "text_delta", "text")
                                       : std::string(bj::parse(r->body).at("content").at(0).at("text").as_string());
        if (got == want) ++good;
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(good.load(), kThreads * kEach);
  // Each path got half the calls: 4 words in; "Echo: ..." is 5 words out,
  // "local says: ..." 6.
  constexpr int kHalf = kThreads * kEach / 2;
  test::eventually([&] {
    return gw_->meter().totals("team-a", "claude", "claude-sonnet-4").requests == kHalf &&
           gw_->meter().totals("team-a", "local", "llama-3").requests == kHalf;
  }, 5s);
  const auto claude = gw_->meter().totals("team-a", "claude", "claude-sonnet-4");
  const auto local = gw_->meter().totals("team-a", "local", "llama-3");
  EXPECT_EQ(claude.requests, kHalf);
  EXPECT_EQ(claude.prompt_tokens, 4 * kHalf);
  EXPECT_EQ(claude.completion_tokens, 5 * kHalf);
  EXPECT_EQ(local.requests, kHalf);
  EXPECT_EQ(local.prompt_tokens, 4 * kHalf);
  EXPECT_EQ(local.completion_tokens, 6 * kHalf);
  EXPECT_EQ(anthropic_.requests() + local_.request_count(), static_cast<std::uint64_t>(kThreads * kEach));
}

// Identical concurrent misses go upstream once, as on chat: the others get
// the leader's answer as a hit. A leader that fails leaves its followers
// to try on their own.
TEST_F(MessagesTest, IdenticalConcurrentMissesGoUpstreamOnce) {
  auto all_at_once = [&](const std::string& ask) {
    std::vector<http::ClientResponse> out(5);
    std::vector<std::thread> clients;
    for (std::size_t i = 0; i < out.size(); ++i) clients.emplace_back([&, i] { out[i] = post("/v1/messages", ask); });
    for (auto& t : clients) t.join();
    return out;
  };
  anthropic_.set_faults({.first_byte_delay = 800ms});
  auto answers = all_at_once(R"({"model":"sonnet","max_tokens":64,"messages":[{"role":"user","content":"all at once"}]})");
  EXPECT_EQ(anthropic_.requests(), 1u);
  int hits = 0;
  for (const auto& r : answers) {
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(bj::parse(r.body).at("content").at(0).at("text"), "Echo: all at once");
    hits += r.header("x-spectra-cache") == "hit";
  }
  EXPECT_EQ(hits, 4);

  anthropic_.set_faults({.first_byte_delay = 800ms, .error_status = 529, .error_count = 1});
  answers = all_at_once(R"({"model":"sonnet","max_tokens":64,"messages":[{"role":"user","content":"first one fails"}]})");
  int ok = 0, overloaded = 0;
  for (const auto& r : answers) {
    ok += r.status == 200;
    overloaded += r.status == 529;
  }
  EXPECT_EQ(overloaded, 1);
  EXPECT_EQ(ok, 4);
  EXPECT_EQ(anthropic_.requests(), 1u + 5u);
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
