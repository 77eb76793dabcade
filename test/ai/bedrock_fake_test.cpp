// The Bedrock adapter, the signer and the fake Bedrock together over real
// loopback HTTP: what the gateway core will do, minus the core.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <tuple>

#include "ai/bedrock_adapter.h"
#include "ai/bedrock_embeddings.h"
#include "ai/bedrock_sign.h"
#include "bedrock_test_util.h"
#include "fakes/fake_bedrock.h"
#include "fakes/fake_bedrock_replies.h"
#include "http/client.h"
#include "raw_tcp.h"

namespace spectra::ai {
namespace {

using namespace bedrock_testing;
using namespace std::chrono_literals;

class BedrockFakeTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fake_.start().ok()); }

  ModelTarget target(std::string model = "anthropic.claude-3-haiku-20240307-v1:0") const {
    ModelTarget t;
    t.kind = "bedrock";
    t.model = std::move(model);
    t.region = "us-east-1";
    t.base_url = fake_.base_url();
    return t;
  }

  UpstreamRequest chat(std::string_view openai_json, bool stream, bool sign = true,
                       const aws::sigv4::Credentials* creds = nullptr) {
    auto up = adapter_.build_chat(bj::parse(openai_json).as_object(), target(), stream);
    EXPECT_TRUE(up.ok()) << up.status().to_string();
    if (sign) {
      const aws::sigv4::Credentials c = creds ? *creds : fake_.credentials();
      EXPECT_TRUE(bedrock::sign_upstream_request(*up, c, "us-east-1").ok());
    }
    return up.ok() ? *up : UpstreamRequest{};
  }

  static Result<http::ClientResponse> send(const UpstreamRequest& up) {
    auto url = bedrock::split_url(up.url);
    if (!url.ok()) return url.status();
    auto ep = http::parse_base_url("http://" + url->host);
    if (!ep.ok()) return ep.status();
    http::Client client(*ep, 10s);
    std::string target = url->path + (url->query.empty() ? "" : "?" + url->query);
    return client.send(http::Verb::post, target, up.body, up.headers);
  }

  // Reads the raw response until the server closes, then de-chunks whatever
  // complete chunks arrived: what a reader of a dropped stream has in hand.
  std::string raw_body(const UpstreamRequest& up) {
    auto url = bedrock::split_url(up.url);
    std::string req = up.method + " " + url->path + " HTTP/1.1\r\n";
    for (const auto& [k, v] : up.headers) req += k + ": " + v + "\r\n";
    req += "content-length: " + std::to_string(up.body.size()) + "\r\nconnection: close\r\n\r\n";
    req += up.body;
    const std::string raw = spectra::testing::raw_tcp_exchange(fake_.port(), req);
    const auto head_end = raw.find("\r\n\r\n");
    EXPECT_NE(head_end, std::string::npos);
    std::string_view rest = std::string_view(raw).substr(head_end + 4);
    std::string body;
    for (;;) {
      const auto eol = rest.find("\r\n");
      if (eol == std::string_view::npos) break;
      const std::size_t size = std::stoul(std::string(rest.substr(0, eol)), nullptr, 16);
      if (size == 0 || rest.size() < eol + 2 + size + 2) break;
      body.append(rest.substr(eol + 2, size));
      rest.remove_prefix(eol + 2 + size + 2);
    }
    return body;
  }

  struct StreamResult {
    Status status;
    std::vector<bj::object> chunks;
    UpstreamError error;
    Usage usage;
  };

  StreamResult translate(std::string_view body, std::size_t piece = 0) {
    auto t = adapter_.stream_translator(target(), "chatcmpl-x", 1);
    StreamResult r;
    const std::size_t step = piece == 0 ? std::max<std::size_t>(body.size(), 1) : piece;
    for (std::size_t pos = 0; pos < body.size() && r.status.ok(); pos += step) {
      r.status = t->feed(body.substr(pos, step), &r.chunks, &r.error);
    }
    if (r.status.ok()) r.status = t->finish(&r.chunks, &r.error);
    r.usage = t->usage();
    return r;
  }

  static constexpr std::string_view kProfile =
      "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/team7";
  static fakes::FakeBedrockOptions with_profile() {
    fakes::FakeBedrockOptions o;
    o.inference_profiles[std::string(kProfile)] = "anthropic.claude-opus-4-7-v1:0";
    return o;
  }

  BedrockAdapter adapter_;
  fakes::FakeBedrock fake_{with_profile()};
};

constexpr std::string_view kHello =
    R"({"model":"bedrock/haiku","messages":[{"role":"system","content":"Be kind"},{"role":"user","content":"hello there friend"}]})";
constexpr std::string_view kWeather =
    R"({"model":"m","messages":[{"role":"user","content":"What is the weather in Paris?"}],
        "tools":[{"type":"function","function":{"name":"lookup"}},
                 {"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]})";

TEST_F(BedrockFakeTest, ConverseRoundTripWithExactUsage) {
  auto res = send(chat(kHello, false));
  ASSERT_TRUE(res.ok()) << res.status().to_string();
  ASSERT_EQ(res->status, 200u) << res->body;
  Usage usage;
  UpstreamError err;
  auto completion = adapter_.parse_chat(res->status, res->body, target(), &usage, &err);
  ASSERT_TRUE(completion.ok()) << completion.status().to_string();
  const bj::object& msg = completion->at("choices").at(0).at("message").as_object();
  EXPECT_EQ(msg.at("content").as_string(), "You said: hello there friend");
  EXPECT_EQ(completion->at("choices").at(0).at("finish_reason").as_string(), "stop");
  EXPECT_EQ(usage.prompt_tokens, 5);      // "Be kind" + "hello there friend"
  EXPECT_EQ(usage.completion_tokens, 5);  // "You said: hello there friend"
  ASSERT_EQ(fake_.requests().size(), 1u);
  EXPECT_TRUE(fake_.requests()[0].signature_ok);
  EXPECT_EQ(fake_.requests()[0].target, "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse");
}

TEST_F(BedrockFakeTest, StreamRoundTripMatchesTheNonStreamedAnswer) {
  auto res = send(chat(kHello, true));
  ASSERT_TRUE(res.ok());
  ASSERT_EQ(res->status, 200u);
  EXPECT_EQ(res->header("content-type"), "application/vnd.amazon.eventstream");
  for (std::size_t piece : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{100}}) {
    StreamResult r = translate(res->body, piece);
    ASSERT_TRUE(r.status.ok()) << r.status.to_string();
    Summary s = summarize(r.chunks);
    EXPECT_EQ(s.content, "You said: hello there friend");
    EXPECT_EQ(s.finish_reason, "stop");
    EXPECT_EQ(r.usage.prompt_tokens, 5);
    EXPECT_EQ(r.usage.completion_tokens, 5);
    EXPECT_EQ(s.prompt_tokens, 5);
  }
}

TEST_F(BedrockFakeTest, ToolUseStreamedAndNot) {
  auto res = send(chat(kWeather, true));
  ASSERT_TRUE(res.ok());
  ASSERT_EQ(res->status, 200u) << res->body;
  StreamResult r = translate(res->body, 3);
  ASSERT_TRUE(r.status.ok()) << r.status.to_string();
  Summary s = summarize(r.chunks);
  EXPECT_EQ(s.content, "Checking the weather.");
  ASSERT_EQ(s.tool_calls.size(), 1u);
  EXPECT_EQ(s.tool_calls[0].name, "get_weather");
  EXPECT_EQ(s.tool_calls[0].arguments, R"({"location":"Paris"})");
  EXPECT_TRUE(s.tool_calls[0].id.starts_with("tooluse_"));
  EXPECT_EQ(s.finish_reason, "tool_calls");

  auto whole = send(chat(kWeather, false));
  ASSERT_TRUE(whole.ok());
  Usage usage;
  auto completion = adapter_.parse_chat(whole->status, whole->body, target(), &usage, nullptr);
  ASSERT_TRUE(completion.ok());
  const bj::object& call =
      completion->at("choices").at(0).at("message").at("tool_calls").at(0).as_object();
  EXPECT_EQ(call.at("id").as_string(), s.tool_calls[0].id);
  EXPECT_EQ(usage.prompt_tokens, r.usage.prompt_tokens);
  EXPECT_EQ(usage.completion_tokens, r.usage.completion_tokens);

  // The tool result goes back; the fake acknowledges it.
  const std::string follow_up =
      R"({"messages":[
      {"role":"user","content":"What is the weather in Paris?"},
      {"role":"assistant","content":null,"tool_calls":[{"id":")" +
      std::string(call.at("id").as_string()) +
      R"(","type":"function","function":{"name":"get_weather","arguments":")" +
      R"({\"location\":\"Paris\"}"}}]},
      {"role":"tool","tool_call_id":")" +
      std::string(call.at("id").as_string()) + R"(","content":"18C and sunny"}],
    "tools":[{"type":"function","function":{"name":"get_weather"}}]})";
  auto answer = send(chat(follow_up, false));
  ASSERT_TRUE(answer.ok());
  ASSERT_EQ(answer->status, 200u) << answer->body;
  auto done = adapter_.parse_chat(answer->status, answer->body, target(), &usage, nullptr);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->at("choices").at(0).at("message").at("content").as_string(),
            "Tool result received: 18C and sunny");
}

TEST_F(BedrockFakeTest, BadSignaturesAreRefusedLikeBedrock) {
  const aws::sigv4::Credentials wrong{fake_.options().access_key_id, "not-the-secret", ""};
  auto res = send(chat(kHello, false, true, &wrong));
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 403u);
  EXPECT_EQ(res->header("x-amzn-errortype").rfind("InvalidSignatureException", 0), 0u);
  EXPECT_NE(res->body.find("The request signature we calculated does not match"),
            std::string::npos);
  UpstreamError e = adapter_.parse_error(res->status, res->body);
  EXPECT_EQ(e.http_status, 403u);
  EXPECT_FALSE(e.retryable);

  UpstreamRequest tampered = chat(kHello, false);
  tampered.body.replace(tampered.body.find("hello"), 5, "HELLO");
  EXPECT_EQ(send(tampered)->status, 403u);

  auto unsigned_res = send(chat(kHello, false, false));
  EXPECT_EQ(unsigned_res->status, 403u);
  EXPECT_NE(unsigned_res->body.find("Missing Authentication Token"), std::string::npos);

  const aws::sigv4::Credentials other_key{"AKIDSOMEONEELSE", fake_.options().secret_access_key, ""};
  EXPECT_NE(send(chat(kHello, false, true, &other_key))->body.find("security token"),
            std::string::npos);
  EXPECT_EQ(fake_.request_count(), 4u);
  for (const auto& r : fake_.requests()) EXPECT_FALSE(r.signature_ok);
}

TEST_F(BedrockFakeTest, ErrorsBeforeTheFirstToken) {
  for (unsigned status : {429u, 503u, 500u}) {
    fakes::FakeBedrockFaults f;
    f.error_status = status;
    fake_.set_faults(f);
    auto res = send(chat(kHello, true));
    ASSERT_TRUE(res.ok());
    EXPECT_EQ(res->status, status);
    UpstreamError e = adapter_.parse_error(res->status, res->body);
    EXPECT_EQ(e.http_status, status);
    EXPECT_TRUE(e.retryable);
  }
  fake_.clear_faults();
  EXPECT_EQ(send(chat(kHello, true))->status, 200u);
}

TEST_F(BedrockFakeTest, ExceptionEventAfterDeltas) {
  fakes::FakeBedrockFaults f;
  f.exception_after_deltas = 2;
  fake_.set_faults(f);
  auto res = send(chat(kHello, true));
  ASSERT_TRUE(res.ok());
  ASSERT_EQ(res->status, 200u);
  StreamResult r = translate(res->body, 5);
  ASSERT_FALSE(r.status.ok());
  EXPECT_EQ(summarize(r.chunks).content, "You said:");
  EXPECT_EQ(r.error.http_status, 500u);
  EXPECT_TRUE(r.error.retryable);

  f.exception_type = "throttlingException";
  f.exception_after_deltas = 0;
  fake_.set_faults(f);
  StreamResult first = translate(send(chat(kHello, true))->body);
  ASSERT_FALSE(first.status.ok());
  EXPECT_EQ(first.error.http_status, 429u);
  EXPECT_EQ(summarize(first.chunks).content, "");  // nothing reached a client yet
}

TEST_F(BedrockFakeTest, DroppedConnectionIsNeverASilentTruncation) {
  fakes::FakeBedrockFaults f;
  f.drop_after_deltas = 3;
  fake_.set_faults(f);
  // The blocking client sees a broken chunked body.
  EXPECT_FALSE(send(chat(kHello, true)).ok());
  // What did arrive translates, and the end of input is an error.
  const std::string body = raw_body(chat(kHello, true));
  StreamResult r = translate(body);
  EXPECT_FALSE(r.status.ok());
  EXPECT_TRUE(r.error.retryable);
  EXPECT_EQ(summarize(r.chunks).content, "You said: hello");
  EXPECT_EQ(summarize(r.chunks).finish_reason, "");
}

TEST_F(BedrockFakeTest, LatencyAndCounters) {
  fakes::FakeBedrockFaults f;
  f.latency = 150ms;
  fake_.set_faults(f);
  const auto start = std::chrono::steady_clock::now();
  auto res = send(chat(kHello, false));
  ASSERT_TRUE(res.ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
  EXPECT_EQ(fake_.request_count(), 1u);
  EXPECT_EQ(fake_.faults().latency, 150ms);
}

TEST_F(BedrockFakeTest, MaxTokensAndStopSequencesSetTheFinishReason) {
  const std::string base = R"({"messages":[{"role":"user","content":"hello there friend"}],)";
  for (bool stream : {false, true}) {
    for (const auto& [extra, content, reason] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {R"("max_tokens":2})", "You said:", "length"},
             {R"("stop":["there"]})", "You said: hello", "stop"}}) {
      auto res = send(chat(base + extra, stream));
      ASSERT_TRUE(res.ok());
      ASSERT_EQ(res->status, 200u) << res->body;
      std::string got_content, got_reason;
      Usage usage;
      if (stream) {
        StreamResult r = translate(res->body);
        ASSERT_TRUE(r.status.ok());
        got_content = summarize(r.chunks).content;
        got_reason = summarize(r.chunks).finish_reason;
        usage = r.usage;
      } else {
        auto c = adapter_.parse_chat(res->status, res->body, target(), &usage, nullptr);
        ASSERT_TRUE(c.ok());
        got_content = c->at("choices").at(0).at("message").at("content").as_string();
        got_reason = c->at("choices").at(0).at("finish_reason").as_string();
      }
      EXPECT_EQ(got_content, content) << extra;
      EXPECT_EQ(got_reason, reason) << extra;
      EXPECT_EQ(usage.completion_tokens, fakes::count_words(content)) << extra;
    }
  }
}

TEST_F(BedrockFakeTest, ValidationErrorsAre400) {
  UpstreamRequest up = chat(kHello, false, false);
  up.body = R"({"messages":[{"role":"assistant","content":[{"text":"first"}]}]})";
  ASSERT_TRUE(bedrock::sign_upstream_request(up, fake_.credentials(), "us-east-1").ok());
  auto res = send(up);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 400u);
  EXPECT_NE(res->body.find("must start with a user message"), std::string::npos);
  EXPECT_EQ(adapter_.parse_error(res->status, res->body).type, "invalid_request_error");
}

// CountTokens: the adapter's request (the Converse messages, system and
// tools under input.converse; nothing of inference) is counted as Converse
// would charge it; the fake refuses what Bedrock refuses (an extraneous
// key, a model without a counter).
TEST_F(BedrockFakeTest, CountTokens) {
  const bj::object chat = bj::parse(R"({"model":"m","max_tokens":9,"temperature":0.5,
      "messages":[{"role":"system","content":"be brief"},{"role":"user","content":"count these four words"}],
      "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]})").as_object();
  auto up = adapter_.build_count_tokens(chat, target("anthropic.claude-3-5-haiku-20241022-v1:0"));
  ASSERT_TRUE(up.ok()) << up.status().to_string();
  EXPECT_TRUE(up->url.ends_with("/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/count-tokens")) << up->url;
  const auto body = bj::parse(up->body).as_object();
  ASSERT_EQ(body.size(), 1u) << up->body;
  const auto& converse = body.at("input").at("converse").as_object();
  EXPECT_EQ(converse.size(), 3u) << up->body;  // messages, system, toolConfig
  EXPECT_FALSE(converse.contains("inferenceConfig"));
  ASSERT_TRUE(bedrock::sign_upstream_request(*up, fake_.credentials(), "us-east-1").ok());
  auto res = send(*up);
  ASSERT_TRUE(res.ok());
  ASSERT_EQ(res->status, 200u) << res->body;
  auto n = adapter_.parse_count_tokens(res->body);
  ASSERT_TRUE(n.ok()) << res->body;
  EXPECT_EQ(*n, 6);
  EXPECT_FALSE(adapter_.parse_count_tokens(R"({"inputTokens":-1})").ok());
  EXPECT_FALSE(adapter_.parse_count_tokens("not json").ok());

  UpstreamRequest extra = *up;
  extra.body = R"({"input":{"converse":{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{}}}})";
  ASSERT_TRUE(bedrock::sign_upstream_request(extra, fake_.credentials(), "us-east-1").ok());
  res = send(extra);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 400u);
  EXPECT_NE(res->body.find("extraneous key [inferenceConfig]"), std::string::npos) << res->body;

  auto nova = adapter_.build_count_tokens(chat, target("us.amazon.nova-pro-v1:0"));
  ASSERT_TRUE(nova.ok());
  ASSERT_TRUE(bedrock::sign_upstream_request(*nova, fake_.credentials(), "us-east-1").ok());
  res = send(*nova);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 400u);
  EXPECT_NE(adapter_.parse_error(res->status, res->body).message.find("The provided model doesn't support counting tokens."),
            std::string::npos);
}

// An application inference profile runs the model it was made for; its
// thinking is that model's (Opus 4.7: adaptive only), and no other model
// takes Claude's thinking. With its base model named, the adapter sends the
// profile what Opus 4.7 takes and counts tokens on the model itself.
TEST_F(BedrockFakeTest, AProfileRunsItsModelAndThinksAsThatModel) {
  const bj::object ask = bj::parse(R"({"model":"m","reasoning_effort":"low",
      "messages":[{"role":"user","content":"plan the week"}]})").as_object();
  ModelTarget t = target(std::string(kProfile));
  t.base_model = "anthropic.claude-opus-4-7-v1:0";
  auto up = adapter_.build_chat(ask, t, /*stream=*/false);
  ASSERT_TRUE(up.ok()) << up.status().to_string();
  ASSERT_TRUE(bedrock::sign_upstream_request(*up, fake_.credentials(), "us-east-1").ok());
  auto res = send(*up);
  ASSERT_TRUE(res.ok());
  ASSERT_EQ(res->status, 200u) << res->body;
  Usage usage;
  UpstreamError error;
  auto answer = adapter_.parse_chat(res->status, res->body, t, &usage, &error);
  ASSERT_TRUE(answer.ok()) << answer.status().to_string();
  EXPECT_EQ(answer->at("choices").at(0).at("message").at("reasoning_content"), "Thinking about: plan the week");

  auto count = adapter_.build_count_tokens(ask, t);
  ASSERT_TRUE(count.ok()) << count.status().to_string();
  EXPECT_TRUE(count->url.ends_with("/model/anthropic.claude-opus-4-7-v1%3A0/count-tokens")) << count->url;
  ASSERT_TRUE(bedrock::sign_upstream_request(*count, fake_.credentials(), "us-east-1").ok());
  res = send(*count);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 200u) << res->body;

  // The fake's own rules, on bodies as sent.
  auto converse = [&](std::string_view model, std::string_view extra) {
    UpstreamRequest r;
    r.url = fake_.base_url() + bedrock::model_path(model, "converse");
    r.headers = {{"content-type", "application/json"}};
    r.body = R"({"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":4000})" +
             std::string(extra) + "}";
    EXPECT_TRUE(bedrock::sign_upstream_request(r, fake_.credentials(), "us-east-1").ok());
    auto out = send(r);
    EXPECT_TRUE(out.ok());
    return out.ok() ? std::make_pair(out->status, out->body) : std::make_pair(0u, std::string());
  };
  const std::string budget = R"(,"additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":2048}})";
  const std::string adaptive = R"(,"additionalModelRequestFields":{"thinking":{"type":"adaptive"}})";
  EXPECT_EQ(converse(kProfile, adaptive).first, 200u);
  auto [status, body] = converse(kProfile, budget);
  EXPECT_EQ(status, 400u);
  EXPECT_NE(body.find("thinking.type.adaptive"), std::string::npos) << body;
  std::tie(status, body) = converse(std::string(kProfile) + "x", "");
  EXPECT_EQ(status, 400u);
  EXPECT_NE(body.find("The provided model identifier is invalid."), std::string::npos) << body;
  std::tie(status, body) = converse("anthropic.claude-3-7-sonnet-20250219-v1:0", adaptive);
  EXPECT_EQ(status, 400u);
  EXPECT_NE(body.find("adaptive thinking is not supported"), std::string::npos) << body;
  EXPECT_EQ(converse("anthropic.claude-3-7-sonnet-20250219-v1:0", budget).first, 200u);
  std::tie(status, body) = converse("amazon.nova-pro-v1:0", budget);
  EXPECT_EQ(status, 400u);
  EXPECT_NE(body.find("extraneous key [thinking]"), std::string::npos) << body;
}

TEST_F(BedrockFakeTest, TitanEmbeddings) {
  const bj::object req =
      bj::parse(R"({"model":"m","input":["the quick fox","jumps"],"dimensions":256})").as_object();
  auto reqs = bedrock::build_titan_embeddings(req, target("amazon.titan-embed-text-v2:0"));
  ASSERT_TRUE(reqs.ok());
  std::vector<bedrock::TitanEmbedding> items;
  for (auto& up : *reqs) {
    ASSERT_TRUE(bedrock::sign_upstream_request(up, fake_.credentials(), "us-east-1").ok());
    auto res = send(up);
    ASSERT_TRUE(res.ok());
    UpstreamError err;
    auto e = bedrock::parse_titan_embedding(res->status, res->body, &err);
    ASSERT_TRUE(e.ok()) << res->body;
    items.push_back(std::move(*e));
  }
  ASSERT_EQ(items[0].embedding.size(), 256u);
  // Boost.JSON 1.81 parses doubles to within an ulp or so, not bit-exactly.
  const std::vector<double> expected = fakes::titan_vector("the quick fox", 256);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    ASSERT_NEAR(items[0].embedding[i], expected[i], 1e-12) << i;
  }
  const bj::object out = bedrock::embeddings_response(items, "bedrock/titan", false);
  EXPECT_EQ(out.at("usage").at("prompt_tokens").as_int64(), 4);
  EXPECT_EQ(out.at("data").at(1).at("index").as_int64(), 1);
}

TEST(FakeBedrockSession, TemporaryCredentialsNeedTheToken) {
  fakes::FakeBedrockOptions o;
  o.session_token = "FQoGZXIvYXdzEJr-session";
  fakes::FakeBedrock fake(o);
  ASSERT_TRUE(fake.start().ok());
  BedrockAdapter a;
  ModelTarget t;
  t.model = "m";
  t.region = "us-east-1";
  t.base_url = fake.base_url();
  auto up = a.build_chat(bj::parse(kHello).as_object(), t, false);
  ASSERT_TRUE(up.ok());
  UpstreamRequest without = *up;
  ASSERT_TRUE(bedrock::sign_upstream_request(*up, fake.credentials(), "us-east-1").ok());
  ASSERT_TRUE(bedrock::sign_upstream_request(without, {o.access_key_id, o.secret_access_key, ""},
                                             "us-east-1")
                  .ok());
  auto ep = http::parse_base_url(fake.base_url());
  http::Client client(*ep);
  EXPECT_EQ(client.send(http::Verb::post, "/model/m/converse", up->body, up->headers)->status,
            200u);
  EXPECT_EQ(
      client.send(http::Verb::post, "/model/m/converse", without.body, without.headers)->status,
      403u);
}

}  // namespace
}  // namespace spectra::ai
