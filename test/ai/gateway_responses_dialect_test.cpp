// OpenAI's Responses API (/v1/responses) for models that do not speak it:
// an Anthropic model (the fake Anthropic) answers through the chat pipeline
// in translation — whole, as typed events, with tool calls, from the cache,
// failing over to a route's fallbacks — metered exactly and audited as
// "api": "responses"; what cannot be translated is refused before anything
// goes upstream; a local-only key is served by in-account fallbacks.
#include <boost/json/serialize.hpp>

#include "dialect_test_fixture.h"
#include "redis_server.h"

namespace spectra::ai {
namespace {

using namespace std::chrono_literals;

class ResponsesDialectTest : public DialectTest {};

// The typed events of a Responses stream, in order.
std::vector<bj::object> typed_events(const std::string& body) {
  std::vector<bj::object> out;
  for (auto& [type, data] : events_of(body)) out.push_back(std::move(data));
  return out;
}

std::string joined(const std::vector<bj::object>& events, const char* type, const char* field) {
  std::string out;
  for (const auto& e : events) {
    if (e.at("type") == type) out += e.at(field).as_string();
  }
  return out;
}

TEST_F(ResponsesDialectTest, AnAnthropicModelAnswersWholeAndStreamed) {
  auto whole = post_openai("/v1/responses", R"({"model":"sonnet","input":"one two three","max_output_tokens":64,
      "instructions":"be brief","temperature":0.5})");
  ASSERT_EQ(whole.status, 200u) << whole.body;
  EXPECT_EQ(whole.header("x-spectra-provider"), "claude");
  auto r = bj::parse(whole.body).as_object();
  EXPECT_EQ(r.at("object"), "response");
  EXPECT_EQ(r.at("status"), "completed");
  EXPECT_EQ(r.at("model"), "sonnet");
  EXPECT_EQ(r.at("instructions"), "be brief");
  EXPECT_EQ(r.at("store"), true);
  EXPECT_TRUE(r.at("id").as_string().starts_with("resp_")) << whole.body;
  ASSERT_EQ(r.at("output").as_array().size(), 1u) << whole.body;
  EXPECT_EQ(r.at("output").at(0).at("content").at(0).at("text"), "Echo: one two three");
  // What Anthropic was sent: its own Messages request, system apart.
  auto sent = bj::parse(anthropic_.last_request().body).as_object();
  EXPECT_EQ(sent.at("model"), "claude-sonnet-4");
  EXPECT_EQ(sent.at("system"), "be brief");
  EXPECT_EQ(sent.at("max_tokens"), 64);
  EXPECT_EQ(sent.at("temperature"), 0.5);
  auto t = metered(1);
  EXPECT_EQ(r.at("usage").at("input_tokens"), t.prompt_tokens);
  EXPECT_EQ(r.at("usage").at("output_tokens"), t.completion_tokens);
  EXPECT_EQ(r.at("usage").at("total_tokens"), t.prompt_tokens + t.completion_tokens);
  EXPECT_EQ(t.completion_tokens, 4);

  auto streamed = post_openai("/v1/responses", R"({"model":"sonnet","input":"four five six seven","stream":true,"max_output_tokens":64})");
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  EXPECT_EQ(streamed.header("content-type"), "text/event-stream");
  auto ev = typed_events(streamed.body);
  ASSERT_GE(ev.size(), 9u) << streamed.body;
  EXPECT_EQ(ev.front().at("type"), "response.created");
  EXPECT_EQ(ev.back().at("type"), "response.completed");
  for (std::size_t i = 0; i < ev.size(); ++i) EXPECT_EQ(ev[i].at("sequence_number"), static_cast<std::int64_t>(i));
  EXPECT_EQ(joined(ev, "response.output_text.delta", "delta"), "Echo: four five six seven");
  const auto& done = ev.back().at("response");
  EXPECT_EQ(done.at("output").at(0).at("content").at(0).at("text"), "Echo: four five six seven");
  EXPECT_EQ(streamed.body.find("[DONE]"), std::string::npos) << "the Responses API has no [DONE]";
  // Streamed usage is Anthropic's own (message_delta), counted exactly.
  auto after = metered(2);
  EXPECT_EQ(done.at("usage").at("input_tokens"), after.prompt_tokens - t.prompt_tokens);
  EXPECT_EQ(done.at("usage").at("output_tokens"), after.completion_tokens - t.completion_tokens);
  EXPECT_EQ(after.completion_tokens - t.completion_tokens, 5);

  const auto translated = translated_records(2);
  for (const auto& rec : translated) {
    EXPECT_EQ(rec.at("api"), "responses");
    EXPECT_EQ(rec.at("resolved"), "claude/claude-sonnet-4");
    EXPECT_EQ(rec.at("route"), "sonnet");
    EXPECT_EQ(rec.at("egress"), "127.0.0.1");
  }
  EXPECT_EQ(translated.size(), 2u);
}

// The model's tool call comes back as a function_call item (whole and
// streamed), and the client's function_call_output goes up as a tool result.
TEST_F(ResponsesDialectTest, FunctionCallsAreTranslatedBothWays) {
  const std::string tools = R"("tools":[{"type":"function","name":"get_weather","description":"Weather of a city",
      "parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}])";
  auto call = post_openai("/v1/responses", R"({"model":"sonnet","max_output_tokens":64,)" + tools +
                                               R"(,"input":"what is the weather in Paris"})");
  ASSERT_EQ(call.status, 200u) << call.body;
  auto r = bj::parse(call.body).as_object();
  const auto& items = r.at("output").as_array();
  ASSERT_EQ(items.size(), 1u) << call.body;
  const auto& fc = items[0].as_object();
  EXPECT_EQ(fc.at("type"), "function_call");
  EXPECT_EQ(fc.at("name"), "get_weather");
  EXPECT_TRUE(fc.at("call_id").as_string().starts_with("toolu_fake_")) << call.body;
  EXPECT_TRUE(bj::parse(fc.at("arguments").as_string()).as_object().contains("location"));
  auto sent = bj::parse(anthropic_.last_request().body).as_object();
  EXPECT_EQ(sent.at("tools").at(0).at("name"), "get_weather");
  EXPECT_EQ(sent.at("tools").at(0).at("input_schema").at("required").at(0), "location");

  const std::string call_id(fc.at("call_id").as_string());
  auto answer = post_openai("/v1/responses", R"({"model":"sonnet","max_output_tokens":64,)" + tools + R"(,"input":[
      {"role":"user","content":"what is the weather in Paris"},
      {"type":"function_call","call_id":")" + call_id + R"(","name":"get_weather","arguments":)" +
                                                 bj::serialize(fc.at("arguments")) + R"(},
      {"type":"function_call_output","call_id":")" + call_id + R"(","output":"18C and sunny"}]})");
  ASSERT_EQ(answer.status, 200u) << answer.body;
  EXPECT_EQ(bj::parse(answer.body).at("output").at(0).at("content").at(0).at("text"), "The tool returned: 18C and sunny");
  sent = bj::parse(anthropic_.last_request().body).as_object();
  EXPECT_EQ(sent.at("messages").at(1).at("content").at(0).at("type"), "tool_use");
  EXPECT_EQ(sent.at("messages").at(1).at("content").at(0).at("id"), bj::value(call_id));
  EXPECT_EQ(sent.at("messages").at(2).at("content").at(0).at("type"), "tool_result");
  EXPECT_EQ(sent.at("messages").at(2).at("content").at(0).at("tool_use_id"), bj::value(call_id));

  auto streamed = post_openai("/v1/responses", R"({"model":"sonnet","max_output_tokens":64,"stream":true,)" + tools +
                                                   R"(,"input":"and the weather in Paris now"})");
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  auto ev = typed_events(streamed.body);
  std::size_t added = 0;
  for (const auto& e : ev) {
    if (e.at("type") != "response.output_item.added") continue;
    ++added;
    EXPECT_EQ(e.at("item").at("type"), "function_call");
    EXPECT_EQ(e.at("item").at("name"), "get_weather");
  }
  EXPECT_EQ(added, 1u) << streamed.body;
  EXPECT_EQ(bj::parse(joined(ev, "response.function_call_arguments.delta", "delta")),
            bj::parse(ev.back().at("response").at("output").at(0).at("arguments").as_string()));
}

// The exact cache holds chat answers, so a Responses call is a hit whether
// the first call was made whole, streamed, or through chat itself, and is
// replayed either way.
TEST_F(ResponsesDialectTest, AnswersAreCachedAcrossApisAndReplayedEitherWay) {
  const std::string ask = R"({"model":"sonnet","max_output_tokens":64,"input":"cache me"})";
  auto first = post_openai("/v1/responses", ask);
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(first.header("x-spectra-cache"), "miss");
  test::eventually([&] { return gw_->cache()->stats().entries == 1; }, 5s);
  auto again = post_openai("/v1/responses", ask);
  EXPECT_EQ(again.header("x-spectra-cache"), "hit");
  // The same answer, under this call's own ids.
  EXPECT_EQ(bj::parse(again.body).at("output").at(0).at("content"), bj::parse(first.body).at("output").at(0).at("content"));
  EXPECT_NE(bj::parse(again.body).at("id"), bj::parse(first.body).at("id"));
  EXPECT_EQ(bj::parse(again.body).at("usage"), bj::parse(first.body).at("usage"));
  auto replay = post_openai("/v1/responses", R"({"model":"sonnet","max_output_tokens":64,"input":"cache me","stream":true})");
  EXPECT_EQ(replay.header("x-spectra-cache"), "hit");
  auto ev = typed_events(replay.body);
  ASSERT_FALSE(ev.empty()) << replay.body;
  EXPECT_EQ(joined(ev, "response.output_text.delta", "delta"), "Echo: cache me");
  EXPECT_EQ(ev.back().at("type"), "response.completed");
  // The same question from a chat client is the same cache entry.
  auto chat = post_openai("/v1/chat/completions",
                          R"({"model":"sonnet","max_tokens":64,"messages":[{"role":"user","content":"cache me"}]})");
  EXPECT_EQ(chat.header("x-spectra-cache"), "hit") << chat.body;
  EXPECT_EQ(anthropic_.requests(), 1u);
  // A hit is metered as one, with the answer's usage.
  test::eventually([&] { return gw_->meter().totals("team-a", "claude", "claude-sonnet-4").requests >= 4; }, 5s);
  EXPECT_EQ(gw_->meter().totals("team-a", "claude", "claude-sonnet-4").exact_hits, 3);
}

// With store (the default) the gateway keeps a translated answer and the
// conversation it ends: it is read, listed, continued (previous_response_id:
// the earlier turns go upstream first) and deleted by id, only with the key
// that made it; store: false keeps nothing.
TEST_F(ResponsesDialectTest, KeptAnswersAreReadListedContinuedAndDeletedByTheirKey) {
  auto get = [&](const std::string& path, const std::string& key = "sk-team-a", http::Verb verb = http::Verb::get) {
    http::Client c({"127.0.0.1", server_->port(), ""}, 10s);
    auto r = c.send(verb, path, "", {{"authorization", "Bearer " + key}});
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : http::ClientResponse{};
  };
  auto first = post_openai("/v1/responses", R"({"model":"sonnet","max_output_tokens":64,"input":"my name is Ada"})");
  ASSERT_EQ(first.status, 200u) << first.body;
  const std::string id(bj::parse(first.body).at("id").as_string());
  auto read = get("/v1/responses/" + id);
  ASSERT_EQ(read.status, 200u) << read.body;
  EXPECT_EQ(bj::parse(read.body), bj::parse(first.body));
  // Retrieved as a stream (?stream=true): its typed events, ending with the same answer.
  auto replayed = get("/v1/responses/" + id + "?stream=true");
  ASSERT_EQ(replayed.status, 200u) << replayed.body;
  EXPECT_EQ(replayed.header("content-type"), "text/event-stream");
  auto replay_events = typed_events(replayed.body);
  ASSERT_FALSE(replay_events.empty()) << replayed.body;
  EXPECT_EQ(joined(replay_events, "response.output_text.delta", "delta"), "Echo: my name is Ada");
  EXPECT_EQ(replay_events.back().at("response"), bj::parse(first.body));
  // Resumed after an event (the SDK's starting_after): the events after it, as numbered the first time.
  auto resumed = get("/v1/responses/" + id + "?stream=true&starting_after=2");
  ASSERT_EQ(resumed.status, 200u) << resumed.body;
  auto resumed_events = typed_events(resumed.body);
  ASSERT_EQ(resumed_events.size() + 3, replay_events.size()) << resumed.body;
  EXPECT_EQ(resumed_events.front(), replay_events[3]);
  EXPECT_EQ(resumed_events.back().at("response"), bj::parse(first.body));
  for (const char* bad : {"-1", "x", "", "3x"}) {
    auto refused = get("/v1/responses/" + id + "?stream=true&starting_after=" + bad);
    EXPECT_EQ(refused.status, 400u) << bad;
    EXPECT_EQ(bj::parse(refused.body).at("error").at("param"), "starting_after") << refused.body;
  }
  auto items = get("/v1/responses/" + id + "/input_items");
  ASSERT_EQ(items.status, 200u) << items.body;
  auto list = bj::parse(items.body);
  EXPECT_EQ(list.at("object"), "list");
  ASSERT_EQ(list.at("data").as_array().size(), 1u);
  EXPECT_EQ(list.at("data").at(0).at("content").at(0).at("text"), "my name is Ada");
  EXPECT_EQ(list.at("has_more"), false);

  // Continued, streamed: the earlier turns go first, the answer names them.
  auto next = post_openai("/v1/responses", R"({"model":"sonnet","max_output_tokens":64,"stream":true,
      "previous_response_id":")" + id + R"(","input":"what is my name"})");
  ASSERT_EQ(next.status, 200u) << next.body;
  auto sent = bj::parse(anthropic_.last_request().body).as_object();
  EXPECT_EQ(sent.at("messages"), bj::parse(R"([{"role":"user","content":"my name is Ada"},
      {"role":"assistant","content":"Echo: my name is Ada"},{"role":"user","content":"what is my name"}])"))
      << anthropic_.last_request().body;
  auto done = typed_events(next.body).back().at("response");
  EXPECT_EQ(done.at("previous_response_id"), bj::value(id));
  const std::string second(done.at("id").as_string());
  // ... and again from that one: the whole conversation, once each turn.
  auto third = post_openai("/v1/responses", R"({"model":"sonnet","max_output_tokens":64,"previous_response_id":")" + second +
                                                R"(","input":"thanks"})");
  ASSERT_EQ(third.status, 200u) << third.body;
  EXPECT_EQ(bj::parse(anthropic_.last_request().body).at("messages").as_array().size(), 5u);

  // Another key: the same 404 as an unknown id, reading, continuing or deleting.
  EXPECT_EQ(get("/v1/responses/" + id, "sk-once").status, 404u);
  EXPECT_EQ(get("/v1/responses/" + id, "sk-once", http::Verb::delete_).status, 404u);
  auto stranger = post_openai("/v1/responses", R"({"model":"sonnet","previous_response_id":")" + id + R"(","input":"x"})", "sk-once");
  EXPECT_EQ(stranger.status, 404u) << stranger.body;
  EXPECT_EQ(bj::parse(stranger.body).at("error").at("code"), "previous_response_not_found");
  // A vLLM model cannot continue it (its state is the gateway's, not the replica's).
  auto native = post_openai("/v1/responses", R"({"model":"llama","previous_response_id":")" + id + R"(","input":"x"})");
  EXPECT_EQ(native.status, 400u) << native.body;
  EXPECT_EQ(local_.request_count(), 0u);

  auto deleted = get("/v1/responses/" + id, "sk-team-a", http::Verb::delete_);
  ASSERT_EQ(deleted.status, 200u) << deleted.body;
  EXPECT_EQ(bj::parse(deleted.body), bj::parse(R"({"id":")" + id + R"(","object":"response","deleted":true})"));
  EXPECT_EQ(get("/v1/responses/" + id).status, 404u);
  EXPECT_EQ(post_openai("/v1/responses", R"({"model":"sonnet","previous_response_id":")" + id + R"(","input":"x"})").status, 404u);
  EXPECT_EQ(get("/v1/responses/" + second).status, 200u) << "the later answers stay";

  auto unkept = post_openai("/v1/responses", R"({"model":"sonnet","input":"forget me","store":false})");
  ASSERT_EQ(unkept.status, 200u);
  EXPECT_EQ(bj::parse(unkept.body).at("store"), false);
  EXPECT_EQ(get("/v1/responses/" + std::string(bj::parse(unkept.body).at("id").as_string())).status, 404u);
  EXPECT_EQ(anthropic_.requests(), 4u);
  EXPECT_NE(metrics_.render().find("\nspectra_ai_kept_responses 2\n"), std::string::npos)
      << "the second and the third answers are kept";

  // The operator's budget for them: 0 keeps none (and drops what was kept).
  gw_->configure(config(R"({"exact_enabled": true})", R"(, "responses": {"kept_max_bytes": 0})"));
  EXPECT_EQ(get("/v1/responses/" + second).status, 404u);
  auto none = post_openai("/v1/responses", R"({"model":"sonnet","input":"not kept"})");
  ASSERT_EQ(none.status, 200u);
  EXPECT_EQ(get("/v1/responses/" + std::string(bj::parse(none.body).at("id").as_string())).status, 404u);
}

// With the Redis backend a kept answer belongs to the fleet: another
// gateway reads and continues it, and a deletion on one is seen by all.
TEST_F(ResponsesDialectTest, KeptAnswersAreSharedByTheFleet) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.start());
  const std::string cache = R"({"exact_enabled": false, "backend": "redis", "redis_url": ")" + redis.url() +
                            R"(", "redis_timeout_ms": 500})";
  gw_->configure(config(cache));
  Peer& other = start_peer(config(cache));
  auto first = post_openai("/v1/responses", R"({"model":"sonnet","max_output_tokens":64,"input":"my name is Ada"})");
  ASSERT_EQ(first.status, 200u) << first.body;
  const std::string id(bj::parse(first.body).at("id").as_string());
  // Written to Redis in the background: wait (bounded) for the record and its owner.
  auto in_redis = [&] {
    return redis.command({"EXISTS", "spectra:ai:cache:translated-response:" + id}) == ":1\r\n" &&
           redis.command({"EXISTS", "spectra:ai:cache:response-owner:" + id}) == ":1\r\n";
  };
  test::eventually(in_redis, 5s);
  ASSERT_TRUE(in_redis());
  http::Client c({"127.0.0.1", other.server->port(), ""}, 10s);
  auto read = c.send(http::Verb::get, "/v1/responses/" + id, "", {{"authorization", "Bearer sk-team-a"}});
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->status, 200u) << read->body;
  EXPECT_EQ(bj::parse(read->body), bj::parse(first.body));
  auto next = post_openai("/v1/responses", R"({"model":"sonnet","max_output_tokens":64,"previous_response_id":")" + id +
                                               R"(","input":"what is my name"})", "sk-team-a", other.server.get());
  ASSERT_EQ(next.status, 200u) << next.body;
  EXPECT_EQ(bj::parse(anthropic_.last_request().body).at("messages").as_array().size(), 3u);
  // Deleted on the other gateway: gone for this one too.
  auto deleted = c.send(http::Verb::delete_, "/v1/responses/" + id, "", {{"authorization", "Bearer sk-team-a"}});
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->status, 200u) << deleted->body;
  test::eventually([&] { return redis.command({"EXISTS", "spectra:ai:cache:translated-response:" + id}) == ":0\r\n"; }, 5s);
  clock_.advance(11s);  // (past this gateway's own copy, kept while Redis writes)
  http::Client here({"127.0.0.1", server_->port(), ""}, 10s);
  auto gone = here.send(http::Verb::get, "/v1/responses/" + id, "", {{"authorization", "Bearer sk-team-a"}});
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->status, 404u) << gone->body;
}

// /v1/responses/input_tokens on an Anthropic model: the translated request
// counted by Anthropic's count_tokens, a kept conversation included, not
// metered; a local-only key is refused before anything goes out.
TEST_F(ResponsesDialectTest, InputTokensAreCountedByAnthropic) {
  auto count = [&](const std::string& body, const std::string& key = "sk-team-a") {
    auto r = post_openai("/v1/responses/input_tokens", body, key);
    EXPECT_EQ(r.status, 200u) << r.body;
    auto v = bj::parse(r.body);
    EXPECT_EQ(v.at("object"), "response.input_tokens") << r.body;
    return v.at("input_tokens").as_int64();
  };
  EXPECT_EQ(count(R"({"model":"sonnet","instructions":"be brief","input":"count these four words"})"), 6);
  const auto sent = anthropic_.last_request();
  EXPECT_EQ(sent.target, "/v1/messages/count_tokens");
  auto body = bj::parse(sent.body).as_object();
  EXPECT_EQ(body.at("model"), "claude-sonnet-4");
  EXPECT_EQ(body.at("system"), "be brief");
  EXPECT_FALSE(body.contains("max_tokens")) << sent.body;

  // A continuation counts the kept turns, as if the client had sent them.
  auto first = post_openai("/v1/responses", R"({"model":"sonnet","max_output_tokens":64,"input":"my name is Ada"})");
  ASSERT_EQ(first.status, 200u) << first.body;
  const std::string id(bj::parse(first.body).at("id").as_string());
  const auto continued = count(R"({"model":"sonnet","previous_response_id":")" + id + R"(","input":"and now"})");
  const auto spelled_out = count(R"({"model":"sonnet","input":[{"role":"user","content":"my name is Ada"},
      {"role":"assistant","content":"Echo: my name is Ada"},{"role":"user","content":"and now"}]})");
  EXPECT_EQ(continued, spelled_out);
  EXPECT_GT(continued, 2);
  // Counting generates nothing: only the one answer is metered.
  EXPECT_EQ(gw_->meter().totals("team-a", "claude", "claude-sonnet-4").requests, 1);

  const auto before = anthropic_.requests();
  auto private_call = post_openai("/v1/responses/input_tokens", R"({"model":"sonnet","input":"x"})", "sk-private");
  EXPECT_EQ(private_call.status, 403u) << private_call.body;
  auto stranger = post_openai("/v1/responses/input_tokens", R"({"model":"sonnet","previous_response_id":")" + id +
                                                                 R"(","input":"x"})", "sk-once");
  EXPECT_EQ(stranger.status, 404u) << stranger.body;
  EXPECT_EQ(anthropic_.requests(), before);
}

// /v1/responses/input_tokens on a Bedrock model: counted by Bedrock's
// CountTokens, instructions and a kept conversation included; a model
// Bedrock has no counter for is refused with its reason.
TEST_F(ResponsesDialectTest, InputTokensAreCountedByBedrock) {
  const std::string claude = "aws/anthropic.claude-3-5-haiku-20241022-v1:0";
  auto count = post_openai("/v1/responses/input_tokens",
                           R"({"model":")" + claude + R"(","instructions":"be brief","input":"count these four words"})");
  ASSERT_EQ(count.status, 200u) << count.body;
  EXPECT_EQ(bj::parse(count.body), bj::parse(R"({"object":"response.input_tokens","input_tokens":6})"));
  const auto sent = bedrock_.requests().back();
  EXPECT_TRUE(sent.signature_ok);
  EXPECT_EQ(sent.target, "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/count-tokens");
  EXPECT_EQ(bj::parse(sent.body).at("input").at("converse").at("system"), bj::parse(R"([{"text":"be brief"}])"));

  // A continuation of a conversation kept on Claude (Anthropic) counts its turns on Bedrock.
  auto first = post_openai("/v1/responses", R"({"model":"sonnet","max_output_tokens":64,"input":"my name is Ada"})");
  ASSERT_EQ(first.status, 200u) << first.body;
  const std::string id(bj::parse(first.body).at("id").as_string());
  auto continued = post_openai("/v1/responses/input_tokens",
                               R"({"model":")" + claude + R"(","previous_response_id":")" + id + R"(","input":"and now"})");
  ASSERT_EQ(continued.status, 200u) << continued.body;
  // "my name is Ada" + "Echo: my name is Ada" + "and now": 4 + 5 + 2 words.
  EXPECT_EQ(bj::parse(continued.body).at("input_tokens"), 11);

  auto nova = post_openai("/v1/responses/input_tokens", R"({"model":"aws/us.amazon.nova-pro-v1:0","input":"x"})");
  EXPECT_EQ(nova.status, 400u) << nova.body;
  EXPECT_EQ(bj::parse(nova.body).at("error").at("type"), "invalid_request_error");
  EXPECT_NE(nova.body.find("doesn't support counting tokens"), std::string::npos) << nova.body;
}

// Refusals name the field, in OpenAI's error shape, and nothing goes upstream.
TEST_F(ResponsesDialectTest, WhatCannotBeTranslatedIsRefusedBeforeAnythingGoesOut) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"model":"sonnet","input":"x","tools":[{"type":"web_search_preview"}]})", "tools[0].type"},
      {R"({"model":"sonnet","input":[{"role":"user","content":[{"type":"input_file","file_id":"file-1"}]}]})",
       "input[0].content[0].type"},
      {R"({"model":"sonnet","input":"x","background":true})", "background"},
  };
  for (const auto& [request, field] : cases) {
    auto r = post_openai("/v1/responses", request);
    EXPECT_EQ(r.status, 400u) << r.body;
    auto e = bj::parse(r.body).at("error");
    EXPECT_EQ(e.at("type"), "invalid_request_error") << r.body;
    EXPECT_EQ(e.at("param"), bj::value(field)) << r.body;
  }
  EXPECT_EQ(anthropic_.requests(), 0u);
  EXPECT_EQ(gw_->meter().totals("team-a", "claude", "claude-sonnet-4").requests, 0);
}

// The chat pipeline's routes: Anthropic failing before the first byte falls
// back to the route's local model; a local-only key is served by that
// local model without Anthropic being asked, and refused where the route
// has nothing in the account.
TEST_F(ResponsesDialectTest, RoutesFallBackAndLocalOnlyKeysStayInTheAccount) {
  anthropic_.set_faults({.error_status = 529, .error_count = 1});
  auto spilled = post_openai("/v1/responses", R"({"model":"sonnet-or-local","max_output_tokens":64,"input":"who is there"})");
  ASSERT_EQ(spilled.status, 200u) << spilled.body;
  EXPECT_EQ(spilled.header("x-spectra-provider"), "local");
  EXPECT_EQ(bj::parse(spilled.body).at("output").at(0).at("content").at(0).at("text"), "local says: who is there");
  EXPECT_EQ(anthropic_.requests(), 1u);

  auto private_call = post_openai("/v1/responses", R"({"model":"sonnet-or-local","input":"keep it here","stream":true})",
                                  "sk-private");
  ASSERT_EQ(private_call.status, 200u) << private_call.body;
  EXPECT_EQ(joined(typed_events(private_call.body), "response.output_text.delta", "delta"), "local says: keep it here");
  EXPECT_EQ(anthropic_.requests(), 1u) << "a local-only key's prompt never reached Anthropic";
  auto refused = post_openai("/v1/responses", R"({"model":"sonnet","input":"x"})", "sk-private");
  EXPECT_EQ(refused.status, 403u) << refused.body;
  EXPECT_EQ(anthropic_.requests(), 1u);
  bool audited = false;
  for (const auto& rec : audit_records(3)) {
    if (rec.at("key") == "private" && rec.at("status") == 200) {
      audited = true;
      EXPECT_EQ(rec.at("egress"), "none");
      EXPECT_EQ(rec.at("resolved"), "local/llama-3");
    }
  }
  EXPECT_TRUE(audited);
}

// Many clients at once on both Responses paths (translated for Claude,
// passed through to the vLLM that speaks it): every answer right, and the
// meter equal to the usage the answers reported.
TEST_F(ResponsesDialectTest, ConcurrentCallsOnBothPathsAreAnsweredAndMeteredExactly) {
  constexpr int kThreads = 8, kEach = 6;
  std::atomic<int> good{0};
  std::atomic<std::int64_t> in[2] = {0, 0}, out[2] = {0, 0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      http::Client c({"127.0.0.1", server_->port(), ""}, 10s);
      for (int i = 0; i < kEach; ++i) {
        const bool stream = i % 2 == 1;
        const int which = (t + i) % 2;  // 0: sonnet, 1: llama
        const std::string words = "client " + std::to_string(t) + " call " + std::to_string(i);  // unique
        auto r = c.send(http::Verb::post, "/v1/responses",
                        R"({"model":")" + std::string(which == 0 ? "sonnet" : "llama") + R"(","max_output_tokens":64,"stream":)" +
                            (stream ? "true" : "false") + R"(,"input":")" + words + R"("})",
                        {{"authorization", "Bearer sk-team-a"}});
        if (!r.ok() || r->status != 200) continue;
        bj::value response = stream ? typed_events(r->body).back().at("response") : bj::parse(r->body);
        const std::string want = (which == 0 ? "Echo: " : "local says: ") + words;
        if (response.at("output").at(0).at("content").at(0).at("text") != bj::value(want)) continue;
        in[which] += response.at("usage").at("input_tokens").as_int64();
        out[which] += response.at("usage").at("output_tokens").as_int64();
        ++good;
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(good.load(), kThreads * kEach);
  constexpr int kHalf = kThreads * kEach / 2;
  test::eventually([&] {
    return gw_->meter().totals("team-a", "claude", "claude-sonnet-4").requests == kHalf &&
           gw_->meter().totals("team-a", "local", "llama-3").requests == kHalf;
  }, 5s);
  const auto claude = gw_->meter().totals("team-a", "claude", "claude-sonnet-4");
  const auto local = gw_->meter().totals("team-a", "local", "llama-3");
  EXPECT_EQ(claude.requests, kHalf);
  EXPECT_EQ(claude.prompt_tokens, in[0].load());
  EXPECT_EQ(claude.completion_tokens, out[0].load());
  EXPECT_EQ(claude.completion_tokens, 5 * kHalf);  // "Echo: client t call i"
  EXPECT_EQ(local.requests, kHalf);
  EXPECT_EQ(local.prompt_tokens, in[1].load());
  EXPECT_EQ(local.completion_tokens, out[1].load());
  EXPECT_GT(local.completion_tokens, 0);
  EXPECT_EQ(anthropic_.requests() + local_.request_count(), static_cast<std::uint64_t>(kThreads * kEach));
}

// An upstream that drops the stream midway: the client gets an error event
// and response.failed with what it was sent, not a silent cut.
TEST_F(ResponsesDialectTest, ABrokenStreamEndsWithResponseFailed) {
  anthropic_.set_faults({.drop_after = 2});
  auto r = post_openai("/v1/responses", R"({"model":"sonnet","max_output_tokens":64,"stream":true,"input":"one two three four"})");
  ASSERT_EQ(r.status, 200u);
  auto ev = typed_events(r.body);
  ASSERT_GE(ev.size(), 2u) << r.body;
  EXPECT_EQ(ev[ev.size() - 2].at("type"), "error") << r.body;
  EXPECT_EQ(ev.back().at("type"), "response.failed");
  EXPECT_EQ(ev.back().at("response").at("status"), "failed");
  EXPECT_EQ(r.body.find("response.completed"), std::string::npos);
}

}  // namespace
}  // namespace spectra::ai
