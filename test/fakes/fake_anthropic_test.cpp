// The fake Anthropic server over loopback: auth, validation, answers, the
// streamed event sequence, every injected fault and the counters; then the
// AnthropicAdapter against it, end to end, with usage checked exactly.
#include "fake_anthropic.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <thread>

#include "ai/anthropic_adapter.h"
#include "http/client.h"
#include "raw_tcp.h"
#include "wire/sse.h"

namespace spectra::fakes {
namespace {

using namespace std::chrono_literals;
using Headers = std::vector<std::pair<std::string, std::string>>;
namespace bj = boost::json;

const char kBody[] =
    R"({"model":"claude-test","max_tokens":50,"messages":[{"role":"user","content":"hello fake world"}]})";
const char kStreamBody[] =
    R"({"model":"claude-test","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"one two three four"}]})";

Headers good_headers() {
  return {{"x-api-key", "test-anthropic-key"},
          {"anthropic-version", "2023-06-01"},
          {"content-type", "application/json"}};
}

std::vector<wire::sse::Event> events_of(const std::string& body) {
  wire::sse::Parser p;
  std::vector<wire::sse::Event> out;
  EXPECT_TRUE(p.feed(body, &out).ok());
  return out;
}

std::vector<std::string> types_of(const std::vector<wire::sse::Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.type);
  return out;
}

class FakeAnthropicTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fake_.start().ok()); }
  void TearDown() override { fake_.stop(); }

  Result<http::ClientResponse> post(const std::string& body,
                                    const Headers& headers = good_headers(),
                                    const std::string& target = "/v1/messages") {
    http::Client c({"127.0.0.1", fake_.port(), ""}, 5s);
    return c.send(http::Verb::post, target, body, headers);
  }

  // Raw HTTP/1.1 exchange: everything read until the peer closes.
  std::string raw_post(const std::string& body) {
    std::string req =
        "POST /v1/messages HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        "x-api-key: test-anthropic-key\r\nanthropic-version: 2023-06-01\r\n"
        "content-type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    return spectra::testing::raw_tcp_exchange(fake_.port(), req);
  }

  FakeAnthropic fake_;
};

TEST_F(FakeAnthropicTest, RejectsMissingKeyAndVersion) {
  auto r = post(kBody, {{"anthropic-version", "2023-06-01"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401u);
  EXPECT_EQ(bj::parse(r->body).at("error").at("type"), "authentication_error");
  r = post(kBody, {{"x-api-key", "wrong"}, {"anthropic-version", "2023-06-01"}});
  EXPECT_EQ(r->status, 401u);
  r = post(kBody, {{"x-api-key", "test-anthropic-key"}});
  EXPECT_EQ(r->status, 400u);
  EXPECT_EQ(bj::parse(r->body).at("error").at("message"), "anthropic-version: header is required");
  r = post(kBody, good_headers(), "/v1/complete");
  EXPECT_EQ(r->status, 404u);
  EXPECT_EQ(bj::parse(r->body).at("error").at("type"), "not_found_error");
}

TEST_F(FakeAnthropicTest, ValidatesTheBody) {
  auto r = post(R"({"model":"m","messages":[{"role":"user","content":"x"}]})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400u);
  bj::value b = bj::parse(r->body);
  EXPECT_EQ(b.at("type"), "error");
  EXPECT_EQ(b.at("error").at("type"), "invalid_request_error");
  EXPECT_EQ(b.at("error").at("message"), "max_tokens: Field required");
  r = post(
      R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"},{"role":"user","content":"y"}]})");
  EXPECT_EQ(r->status, 400u);
  r = post("not json");
  EXPECT_EQ(r->status, 400u);
}

TEST_F(FakeAnthropicTest, AnswersWithAMessage) {
  auto r = post(kBody);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->header("content-type"), "application/json");
  EXPECT_EQ(r->header("request-id"), "req_fake_1");
  EXPECT_EQ(bj::parse(r->body), bj::parse(R"({"id":"msg_fake_1","type":"message","role":"assistant",
    "model":"claude-test","content":[{"type":"text","text":"Echo: hello fake world"}],
    "stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,
    "cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":4}})"));
  EXPECT_EQ(fake_.last_request().header("x-api-key"), "test-anthropic-key");
  EXPECT_EQ(fake_.last_request().body, kBody);
}

TEST_F(FakeAnthropicTest, StreamsTheRealEventSequenceChunked) {
  std::string raw = raw_post(kStreamBody);
  EXPECT_NE(raw.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(raw.find("text/event-stream"), std::string::npos);
  EXPECT_NE(raw.find("\r\n0\r\n\r\n"), std::string::npos);  // a complete chunked body
  auto r = post(kStreamBody);
  ASSERT_TRUE(r.ok());
  auto events = events_of(r->body);
  EXPECT_EQ(types_of(events),
            (std::vector<std::string>{
                "message_start", "content_block_start", "ping", "content_block_delta",
                "content_block_delta", "content_block_delta", "content_block_delta",
                "content_block_delta", "content_block_stop", "message_delta", "message_stop"}));
}

TEST_F(FakeAnthropicTest, InjectedHttpErrorsBeforeTheFirstToken) {
  FakeAnthropicFaults f;
  f.error_status = 529;
  f.error_count = 1;
  fake_.set_faults(f);
  auto r = post(kBody);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 529u);
  EXPECT_EQ(bj::parse(r->body).at("error").at("type"), "overloaded_error");
  EXPECT_EQ(post(kBody)->status, 200u);  // only the first request failed
  f.error_status = 429;
  f.error_count = -1;
  fake_.set_faults(f);
  for (int i = 0; i < 2; ++i) {
    r = post(kStreamBody);
    EXPECT_EQ(r->status, 429u);
    EXPECT_EQ(r->header("retry-after"), "1");
    EXPECT_EQ(bj::parse(r->body).at("error").at("type"), "rate_limit_error");
  }
  f.error_status = 500;
  fake_.set_faults(f);
  EXPECT_EQ(bj::parse(post(kBody)->body).at("error").at("type"), "api_error");
  fake_.clear_faults();
  EXPECT_EQ(post(kBody)->status, 200u);
}

TEST_F(FakeAnthropicTest, LatencyBeforeTheFirstByte) {
  FakeAnthropicFaults f;
  f.first_byte_delay = 300ms;
  fake_.set_faults(f);
  auto start = std::chrono::steady_clock::now();
  auto r = post(kBody);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
}

TEST_F(FakeAnthropicTest, ErrorEventAfterNDeltas) {
  FakeAnthropicFaults f;
  f.error_event_after = 2;
  fake_.set_faults(f);
  auto r = post(kStreamBody);
  ASSERT_TRUE(r.ok());  // the stream itself ends properly
  auto events = events_of(r->body);
  EXPECT_EQ(types_of(events),
            (std::vector<std::string>{"message_start", "content_block_start", "ping",
                                      "content_block_delta", "content_block_delta", "error"}));
  EXPECT_EQ(
      bj::parse(events.back().data),
      bj::parse(R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"));
  f.error_event_after = 0;
  f.error_event_type = "api_error";
  fake_.set_faults(f);
  events = events_of(post(kStreamBody)->body);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "error");
  EXPECT_EQ(bj::parse(events[0].data).at("error").at("type"), "api_error");
}

TEST_F(FakeAnthropicTest, DroppedConnectionAfterNDeltas) {
  FakeAnthropicFaults f;
  f.drop_after = 2;
  fake_.set_faults(f);
  std::string raw = raw_post(kStreamBody);
  EXPECT_NE(raw.find("200 OK"), std::string::npos);
  std::size_t deltas = 0;
  for (std::size_t at = raw.find("event: content_block_delta"); at != std::string::npos;
       at = raw.find("event: content_block_delta", at + 1)) {
    ++deltas;
  }
  EXPECT_EQ(deltas, 2u);
  EXPECT_EQ(raw.find("\r\n0\r\n\r\n"), std::string::npos);  // no terminating chunk
  EXPECT_EQ(raw.find("message_stop"), std::string::npos);
  EXPECT_FALSE(post(kStreamBody).ok());
  // A non-streamed answer is cut in the middle of its body.
  raw = raw_post(kBody);
  EXPECT_NE(raw.find("\"id\":\"msg_fake_"), std::string::npos);
  EXPECT_EQ(raw.find("\"usage\""), std::string::npos);
  EXPECT_FALSE(post(kBody).ok());
  f.drop_after = 0;
  fake_.set_faults(f);
  raw = raw_post(kStreamBody);
  EXPECT_NE(raw.find("200 OK"), std::string::npos);
  EXPECT_EQ(raw.find("message_start"), std::string::npos);
}

TEST_F(FakeAnthropicTest, CountersProveWhatReachedTheUpstream) {
  EXPECT_EQ(fake_.requests(), 0u);
  EXPECT_EQ(fake_.connections(), 0u);
  ASSERT_TRUE(post(kBody).ok());
  ASSERT_TRUE(post(kBody, {}).ok());
  EXPECT_EQ(fake_.requests(), 2u);
  EXPECT_EQ(fake_.connections(), 2u);
  EXPECT_EQ(fake_.recorded().size(), 2u);
  fake_.reset_counters();
  EXPECT_EQ(fake_.requests(), 0u);
  EXPECT_EQ(fake_.connections(), 0u);
  EXPECT_TRUE(fake_.recorded().empty());
}

TEST_F(FakeAnthropicTest, FaultsChangeSafelyWhileServing) {
  std::atomic<bool> stop{false};
  std::thread flipper([&] {
    FakeAnthropicFaults f;
    int i = 0;
    while (!stop.load()) {
      f.error_status = (i++ % 2) ? 529 : 0;
      fake_.set_faults(f);
      std::this_thread::sleep_for(1ms);  // pacing, not synchronisation
    }
  });
  int ok = 0, overloaded = 0;
  for (int i = 0; i < 40; ++i) {
    auto r = post(kBody);
    ASSERT_TRUE(r.ok());
    if (r->status == 200u)
      ++ok;
    else if (r->status == 529u)
      ++overloaded;
  }
  stop.store(true);
  flipper.join();
  EXPECT_EQ(ok + overloaded, 40);
  EXPECT_EQ(fake_.requests(), 40u);
}

TEST(FakeAnthropicLifecycle, StopIsIdempotentAndStartTwiceFails) {
  FakeAnthropic fake;
  ASSERT_TRUE(fake.start().ok());
  EXPECT_NE(fake.port(), 0);
  EXPECT_EQ(fake.base_url(), "http://127.0.0.1:" + std::to_string(fake.port()));
  EXPECT_FALSE(fake.start().ok());
  fake.stop();
  fake.stop();
  EXPECT_EQ(fake.port(), 0);
}

// The adapter and the fake, end to end: OpenAI request -> build_chat -> the
// fake -> parse_chat / the stream translator -> OpenAI answer with the fake's
// exact usage.
class AdapterAgainstFakeTest : public FakeAnthropicTest {
 protected:
  ai::ModelTarget target() const {
    ai::ModelTarget t;
    t.kind = "anthropic";
    t.model = "claude-3-5-haiku-20241022";
    t.base_url = fake_.base_url();
    return t;
  }
  Result<http::ClientResponse> send(const ai::UpstreamRequest& up) {
    std::string prefix = fake_.base_url();
    EXPECT_EQ(up.url.substr(0, prefix.size()), prefix);
    Headers h = up.headers;
    h.emplace_back("x-api-key", "test-anthropic-key");  // what the core adds
    return post(up.body, h, up.url.substr(prefix.size()));
  }
  ai::AnthropicAdapter adapter_;
};

const char kToolRequest[] = R"({"model":"anthropic/claude-3-5-haiku","messages":[
  {"role":"system","content":"You answer weather questions."},
  {"role":"user","content":"What is the weather in Paris?"}],
  "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object",
    "properties":{"location":{"type":"string"}},"required":["location"]}}}]})";

TEST_F(AdapterAgainstFakeTest, ToolCallRoundTripNonStreaming) {
  auto up = adapter_.build_chat(bj::parse(kToolRequest).as_object(), target(), false);
  ASSERT_TRUE(up.ok()) << up.status().to_string();
  auto res = send(*up);
  ASSERT_TRUE(res.ok());
  ASSERT_EQ(res->status, 200u) << res->body;
  ai::Usage usage;
  ai::UpstreamError err;
  auto chat = adapter_.parse_chat(res->status, res->body, target(), &usage, &err);
  ASSERT_TRUE(chat.ok()) << chat.status().to_string();
  const bj::value& choice = chat->at("choices").at(0);
  EXPECT_EQ(choice.at("finish_reason"), "tool_calls");
  const bj::value& call = choice.at("message").at("tool_calls").at(0);
  EXPECT_EQ(call.at("function").at("name"), "get_weather");
  EXPECT_EQ(bj::parse(call.at("function").at("arguments").as_string()),
            bj::parse(R"({"location":"San Francisco, CA"})"));
  // 4 system words + 6 user words; the tool input {"location":"San Francisco, CA"}
  // has 3 whitespace-separated words.
  EXPECT_EQ(usage.prompt_tokens, 10);
  EXPECT_EQ(usage.completion_tokens, 3);

  // Second turn: the assistant's tool call and the tool's answer go back.
  bj::object next = bj::parse(kToolRequest).as_object();
  bj::object assistant{{"role", "assistant"},
                       {"content", nullptr},
                       {"tool_calls", choice.at("message").at("tool_calls")}};
  next["messages"].as_array().push_back(std::move(assistant));
  next["messages"].as_array().push_back(
      bj::object{{"role", "tool"}, {"tool_call_id", call.at("id")}, {"content", "18 C and sunny"}});
  up = adapter_.build_chat(next, target(), false);
  ASSERT_TRUE(up.ok()) << up.status().to_string();
  res = send(*up);
  ASSERT_EQ(res->status, 200u) << res->body;
  chat = adapter_.parse_chat(res->status, res->body, target(), &usage, &err);
  ASSERT_TRUE(chat.ok());
  EXPECT_EQ(chat->at("choices").at(0).at("message").at("content"),
            "The tool returned: 18 C and sunny");
  EXPECT_EQ(chat->at("choices").at(0).at("finish_reason"), "stop");
  // 10 + tool_use (get_weather + 3 input words) + tool result 4 words.
  EXPECT_EQ(usage.prompt_tokens, 18);
  EXPECT_EQ(usage.completion_tokens, 7);
}

TEST_F(AdapterAgainstFakeTest, StreamingRoundTripWithExactUsage) {
  FakeAnthropicFaults f;
  f.cache_read_input_tokens = 5;
  f.cache_creation_input_tokens = 2;
  fake_.set_faults(f);
  bj::object req = bj::parse(R"({"model":"x","stream":true,"max_tokens":100,
    "messages":[{"role":"user","content":"stream me five words please"}]})")
                       .as_object();
  auto up = adapter_.build_chat(req, target(), true);
  ASSERT_TRUE(up.ok());
  auto res = send(*up);
  ASSERT_TRUE(res.ok());
  ASSERT_EQ(res->status, 200u) << res->body;
  auto t = adapter_.stream_translator(target(), "chatcmpl-1", 1);
  std::vector<bj::object> chunks;
  ai::UpstreamError err;
  for (std::size_t i = 0; i < res->body.size(); i += 7) {
    ASSERT_TRUE(t->feed(std::string_view(res->body).substr(i, 7), &chunks, &err).ok())
        << err.message;
  }
  ASSERT_TRUE(t->finish(&chunks, &err).ok());
  std::string text;
  for (const auto& c : chunks) {
    const bj::object& delta = c.at("choices").at(0).at("delta").as_object();
    if (const bj::value* content = delta.if_contains("content")) text += content->as_string();
  }
  EXPECT_EQ(text, "Echo: stream me five words please");
  EXPECT_EQ(chunks.back().at("choices").at(0).at("finish_reason"), "stop");
  EXPECT_EQ(t->usage().prompt_tokens, 5 + 5 + 2);
  EXPECT_EQ(t->usage().cached_prompt_tokens, 5);
  EXPECT_EQ(t->usage().completion_tokens, 6);
}

TEST_F(AdapterAgainstFakeTest, InjectedFaultsTranslateToRetryableErrors) {
  bj::object req =
      bj::parse(R"({"model":"x","messages":[{"role":"user","content":"hi there"}]})").as_object();
  FakeAnthropicFaults f;
  f.error_status = 529;
  fake_.set_faults(f);
  auto up = adapter_.build_chat(req, target(), false);
  ASSERT_TRUE(up.ok());
  auto res = send(*up);
  ai::UpstreamError err;
  EXPECT_FALSE(adapter_.parse_chat(res->status, res->body, target(), nullptr, &err).ok());
  EXPECT_EQ(err.http_status, 503u);
  EXPECT_TRUE(err.retryable);

  f = {};
  f.error_event_after = 1;
  fake_.set_faults(f);
  up = adapter_.build_chat(req, target(), true);
  res = send(*up);
  ASSERT_EQ(res->status, 200u);
  auto t = adapter_.stream_translator(target(), "c", 1);
  std::vector<bj::object> chunks;
  EXPECT_EQ(t->feed(res->body, &chunks, &err).code(), Code::kUnavailable);
  EXPECT_EQ(err.http_status, 503u);
  EXPECT_EQ(chunks.size(), 2u);  // role chunk + the one delta before the error
}

}  // namespace
}  // namespace spectra::fakes
