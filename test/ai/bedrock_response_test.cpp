// Converse responses, Bedrock errors, Titan embeddings, request signing.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstring>

#include "ai/bedrock_adapter.h"
#include "ai/bedrock_embeddings.h"
#include "ai/bedrock_sign.h"
#include "aws/sigv4_canonical.h"
#include "bedrock_test_util.h"
#include "common/crypto.h"

namespace spectra::ai {
namespace {

using bedrock_testing::test_target;

// A guardrail's trace as Bedrock returns it (trace: enabled): the policies
// that acted, by type or name, from the input and every output assessment,
// once each; the text units billed (free ones not); never what they matched.
TEST(BedrockResponse, AGuardrailTraceSaysWhichPoliciesActedAndWhatWasBilled) {
  BedrockAdapter a;
  Usage usage;
  UpstreamError err;
  auto out = a.parse_chat(200, R"({
      "output":{"message":{"role":"assistant","content":[{"text":"Sorry, I cannot help with that."}]}},
      "stopReason":"guardrail_intervened",
      "usage":{"inputTokens":12,"outputTokens":7,"totalTokens":19},
      "trace":{"guardrail":{
        "modelOutput":["the model's own words, never shown"],
        "inputAssessment":{"gr1abc":{
          "topicPolicy":{"topics":[{"name":"Investment advice","type":"DENY","action":"BLOCKED","detected":true}]},
          "contentPolicy":{"filters":[{"type":"VIOLENCE","confidence":"HIGH","filterStrength":"HIGH","action":"BLOCKED"},
                                      {"type":"INSULTS","confidence":"NONE","filterStrength":"LOW","action":"NONE"}]},
          "sensitiveInformationPolicy":{"piiEntities":[{"match":"jane@example.com","type":"EMAIL","action":"ANONYMIZED"}],
                                        "regexes":[{"name":"employee-id","match":"E-1234","regex":"E-\\d+","action":"BLOCKED"}]},
          "invocationMetrics":{"guardrailProcessingLatency":240,
            "usage":{"topicPolicyUnits":1,"contentPolicyUnits":1,"wordPolicyUnits":0,"sensitiveInformationPolicyUnits":1,
                     "sensitiveInformationPolicyFreeUnits":1,"contextualGroundingPolicyUnits":0},
            "guardrailCoverage":{"textCharacters":{"guarded":120,"total":120}}}}},
        "outputAssessments":{"gr1abc":[{
          "contentPolicy":{"filters":[{"type":"VIOLENCE","confidence":"MEDIUM","action":"BLOCKED"}]},
          "wordPolicy":{"customWords":[{"match":"secret-project","action":"BLOCKED"}],
                        "managedWordLists":[{"match":"darn","type":"PROFANITY","action":"BLOCKED"}]},
          "invocationMetrics":{"usage":{"contentPolicyUnits":2,"wordPolicyUnits":2,"topicPolicyUnits":-5}}}]}}},
      "metrics":{"latencyMs":100}})",
                          test_target(), &usage, &err);
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  EXPECT_EQ(out->at("choices").at(0).at("finish_reason"), "content_filter");
  EXPECT_TRUE(usage.guardrail_traced);
  EXPECT_EQ(usage.guardrail_units, 1 + 1 + 1 + 2 + 2) << "free units and a negative count are not billed";
  using ByPolicy = std::vector<std::pair<std::string, std::int64_t>>;
  EXPECT_EQ(usage.guardrail_policy_units,
            (ByPolicy{{"topicPolicy", 1}, {"contentPolicy", 1 + 2}, {"sensitiveInformationPolicy", 1}, {"wordPolicy", 2}}))
      << "the input's and the output's, summed by policy; zero counts left out";
  EXPECT_EQ(usage.guardrail_acted,
            (std::vector<std::string>{"topicPolicy:Investment advice", "contentPolicy:VIOLENCE",
                                      "sensitiveInformationPolicy:EMAIL", "sensitiveInformationPolicy:employee-id",
                                      "wordPolicy:customWords", "wordPolicy:PROFANITY"}))
      << "in the trace's order: the input's, then the output's not seen yet";
  for (const auto& acted : usage.guardrail_acted) {
    EXPECT_EQ(acted.find("jane@"), std::string::npos);
    EXPECT_EQ(acted.find("secret-project"), std::string::npos);
  }
  EXPECT_EQ(bj::serialize(*out).find("never shown"), std::string::npos);

  // No trace: nothing said; a hostile one: bounded.
  Usage plain;
  ASSERT_TRUE(a.parse_chat(200, R"({"output":{"message":{"role":"assistant","content":[{"text":"hi"}]}},"stopReason":"end_turn",
      "usage":{"inputTokens":1,"outputTokens":1}})", test_target(), &plain, &err).ok());
  EXPECT_FALSE(plain.guardrail_traced);
  std::string filters;
  for (int i = 0; i < 40; ++i) filters += std::string(i ? "," : "") + R"({"type":")" + std::string(300, 'A' + i % 26) + std::to_string(i) + R"(","action":"BLOCKED"})";
  Usage hostile;
  ASSERT_TRUE(a.parse_chat(200, R"({"output":{"message":{"role":"assistant","content":[{"text":"x"}]}},"stopReason":"guardrail_intervened",
      "usage":{"inputTokens":1,"outputTokens":1},"trace":{"guardrail":{"inputAssessment":{"g":{"contentPolicy":{"filters":[)" + filters + R"(]}}}}}})",
                           test_target(), &hostile, &err).ok());
  EXPECT_EQ(hostile.guardrail_acted.size(), 16u);
  for (const auto& acted : hostile.guardrail_acted) EXPECT_LE(acted.size(), 128u);
  std::string units;
  for (int i = 0; i < 40; ++i) units += std::string(i ? "," : "") + "\"" + std::string(200, 'a' + i % 26) + std::to_string(i) + "Units\":3";
  Usage many;
  ASSERT_TRUE(a.parse_chat(200, R"({"output":{"message":{"role":"assistant","content":[{"text":"x"}]}},"stopReason":"end_turn",
      "usage":{"inputTokens":1,"outputTokens":1},"trace":{"guardrail":{"inputAssessment":{"g":{"invocationMetrics":{"usage":{)" + units + R"(}}}}}}})",
                           test_target(), &many, &err).ok());
  EXPECT_EQ(many.guardrail_units, 40 * 3);
  EXPECT_EQ(many.guardrail_policy_units.size(), 16u);
  for (const auto& [policy, n] : many.guardrail_policy_units) EXPECT_LE(policy.size(), 64u);
}

TEST(BedrockResponse, TextAndToolUseAndUsage) {
  BedrockAdapter a;
  Usage usage;
  UpstreamError err;
  auto out = a.parse_chat(200, R"({
      "output":{"message":{"role":"assistant","content":[
        {"text":"Let me "},{"text":"check."},
        {"reasoningContent":{"reasoningText":{"text":"hidden"}}},
        {"toolUse":{"toolUseId":"tu_1","name":"get_weather","input":{"city":"Paris","days":2}}}]}},
      "stopReason":"tool_use",
      "usage":{"inputTokens":30,"outputTokens":12,"totalTokens":62,"cacheReadInputTokens":20},
      "metrics":{"latencyMs":100}})",
                          test_target(), &usage, &err);
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  const bj::object& c = *out;
  EXPECT_EQ(c.at("object").as_string(), "chat.completion");
  EXPECT_TRUE(c.at("id").as_string().starts_with("chatcmpl-"));
  EXPECT_EQ(c.at("model").as_string(), test_target().model);
  const bj::object& choice = c.at("choices").at(0).as_object();
  EXPECT_EQ(choice.at("finish_reason").as_string(), "tool_calls");
  const bj::object& msg = choice.at("message").as_object();
  EXPECT_EQ(msg.at("role").as_string(), "assistant");
  EXPECT_EQ(msg.at("content").as_string(), "Let me check.");
  const bj::object& call = msg.at("tool_calls").at(0).as_object();
  EXPECT_EQ(call.at("id").as_string(), "tu_1");
  EXPECT_EQ(call.at("type").as_string(), "function");
  EXPECT_EQ(call.at("function").at("name").as_string(), "get_weather");
  EXPECT_EQ(bj::parse(call.at("function").at("arguments").as_string()),
            bj::parse(R"({"city":"Paris","days":2})"));
  EXPECT_TRUE(usage.reported);
  EXPECT_EQ(usage.prompt_tokens, 50);
  EXPECT_EQ(usage.cached_prompt_tokens, 20);
  EXPECT_EQ(usage.completion_tokens, 12);
  EXPECT_EQ(bj::serialize(c.at("usage")),
            R"({"prompt_tokens":50,"completion_tokens":12,"total_tokens":62,)"
            R"("prompt_tokens_details":{"cached_tokens":20}})");
}

TEST(BedrockResponse, ToolOnlyAnswerHasNullContent) {
  BedrockAdapter a;
  Usage usage;
  auto out = a.parse_chat(200, R"({"output":{"message":{"role":"assistant","content":[
      {"toolUse":{"toolUseId":"t","name":"f","input":{}}}]}},"stopReason":"tool_use",
      "usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3}})",
                          test_target(), &usage, nullptr);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->at("choices").at(0).at("message").at("content").is_null());
}

TEST(BedrockResponse, StopReasons) {
  const std::pair<const char*, const char*> cases[] = {{"end_turn", "stop"},
                                                       {"stop_sequence", "stop"},
                                                       {"max_tokens", "length"},
                                                       {"tool_use", "tool_calls"},
                                                       {"content_filtered", "content_filter"},
                                                       {"guardrail_intervened", "content_filter"},
                                                       {"model_context_window_exceeded", "length"},
                                                       {"brand_new_reason", "stop"}};
  BedrockAdapter a;
  for (const auto& [bedrock, openai] : cases) {
    EXPECT_EQ(bedrock::finish_reason(bedrock), openai);
    Usage u;
    auto out = a.parse_chat(
        200,
        std::string(
            R"({"output":{"message":{"role":"assistant","content":[{"text":"x"}]}},"stopReason":")") +
            bedrock + R"("})",
        test_target(), &u, nullptr);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out->at("choices").at(0).at("finish_reason").as_string(), openai);
    EXPECT_FALSE(u.reported);  // no usage in the body: nothing invented
  }
}

TEST(BedrockResponse, MalformedBodiesAre502) {
  BedrockAdapter a;
  for (const char* body :
       {"", "[]", "{", R"({"output":{}})", R"({"output":{"message":{"content":[1]}}})",
        R"({"output":{"message":{"content":[{"toolUse":{"name":"x"}}]}}})"}) {
    UpstreamError err;
    Usage u;
    auto out = a.parse_chat(200, body, test_target(), &u, &err);
    EXPECT_FALSE(out.ok()) << body;
    EXPECT_EQ(out.status().code(), Code::kIo) << body;
    EXPECT_EQ(err.http_status, 502u) << body;
    EXPECT_FALSE(err.retryable);
  }
}

TEST(BedrockResponse, ErrorStatusesMapToOpenAiErrors) {
  struct Case {
    unsigned status;
    unsigned openai_status;
    const char* type;
    bool retryable;
  };
  const Case cases[] = {
      {400, 400, "invalid_request_error", false},
      {403, 403, "permission_error", false},
      {404, 404, "invalid_request_error", false},
      {429, 429, "rate_limit_error", true},
      {500, 500, "api_error", true},
      {503, 503, "api_error", true},
      {408, 504, "api_error", true},
      {502, 502, "api_error", true},
      {413, 413, "invalid_request_error", false},
  };
  BedrockAdapter a;
  for (const Case& c : cases) {
    UpstreamError e = a.parse_error(c.status, R"({"message":"Bedrock says no"})");
    EXPECT_EQ(e.http_status, c.openai_status) << c.status;
    EXPECT_EQ(e.type, c.type) << c.status;
    EXPECT_EQ(e.retryable, c.retryable) << c.status;
    EXPECT_NE(e.message.find("Bedrock says no"), std::string::npos) << e.message;
    // parse_chat on an error status fills the same error.
    UpstreamError via_chat;
    Usage u;
    auto out =
        a.parse_chat(c.status, R"({"message":"Bedrock says no"})", test_target(), &u, &via_chat);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), c.retryable ? Code::kUnavailable : Code::kInvalidArgument);
    EXPECT_EQ(via_chat.http_status, c.openai_status);
  }
  EXPECT_NE(a.parse_error(404, R"({"Message":"capital M"})").message.find("capital M"),
            std::string::npos);
  EXPECT_NE(a.parse_error(500, "<html>oops</html>").message.find("HTTP 500"), std::string::npos);
  EXPECT_EQ(a.parse_error(404, "{}").code, "model_not_found");
  const bj::object shape = a.parse_error(429, R"({"message":"slow"})").to_openai();
  EXPECT_EQ(shape.at("error").at("type").as_string(), "rate_limit_error");
  EXPECT_TRUE(shape.at("error").at("param").is_null());
}

TEST(BedrockEmbeddings, OneInvokeRequestPerInput) {
  ModelTarget t = test_target();
  t.model = "amazon.titan-embed-text-v2:0";
  auto reqs = bedrock::build_titan_embeddings(
      bj::parse(R"({"model":"x","input":["a b","c"],"dimensions":256})").as_object(), t);
  ASSERT_TRUE(reqs.ok()) << reqs.status().to_string();
  ASSERT_EQ(reqs->size(), 2u);
  EXPECT_EQ((*reqs)[0].url,
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.titan-embed-text-v2%3A0/"
            "invoke");
  EXPECT_EQ((*reqs)[0].body, R"({"inputText":"a b","dimensions":256})");
  EXPECT_EQ((*reqs)[1].body, R"({"inputText":"c","dimensions":256})");

  auto single = bedrock::build_titan_embeddings(bj::parse(R"({"input":"one"})").as_object(), t);
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->size(), 1u);

  ModelTarget v1 = t;
  v1.model = "amazon.titan-embed-text-v1";
  for (const char* bad : {R"({"input":[1,2,3]})", R"({"input":[]})", R"({"input":""})", R"({})",
                          R"({"input":"x","encoding_format":"int8"})"}) {
    EXPECT_FALSE(bedrock::build_titan_embeddings(bj::parse(bad).as_object(), t).ok()) << bad;
  }
  EXPECT_FALSE(bedrock::build_titan_embeddings(
                   bj::parse(R"({"input":"x","dimensions":256})").as_object(), v1)
                   .ok());
  EXPECT_FALSE(
      bedrock::build_titan_embeddings(bj::parse(R"({"input":"x","dimensions":100})").as_object(), t)
          .ok());
}

TEST(BedrockEmbeddings, ParseAndAssemble) {
  UpstreamError err;
  auto e1 = bedrock::parse_titan_embedding(
      200, R"({"embedding":[0.5,-1,2],"inputTextTokenCount":3})", &err);
  ASSERT_TRUE(e1.ok());
  EXPECT_EQ(e1->embedding, (std::vector<double>{0.5, -1.0, 2.0}));
  EXPECT_EQ(e1->input_tokens, 3);
  auto e2 =
      bedrock::parse_titan_embedding(200, R"({"embedding":[1.0],"inputTextTokenCount":4})", &err);
  ASSERT_TRUE(e2.ok());
  const bj::object resp = bedrock::embeddings_response({*e1, *e2}, "bedrock/titan", false);
  EXPECT_EQ(
      bj::serialize(resp),
      R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[5E-1,-1E0,2E0]},)"
      R"({"object":"embedding","index":1,"embedding":[1E0]}],"model":"bedrock/titan",)"
      R"("usage":{"prompt_tokens":7,"total_tokens":7}})");
  // base64: little-endian float32.
  const bj::object b64 = bedrock::embeddings_response({*e2}, "m", true);
  auto raw = crypto::base64_decode(b64.at("data").at(0).at("embedding").as_string());
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(raw->size(), 4u);
  float f = 0;
  std::memcpy(&f, raw->data(), 4);  // the test host is little-endian (x86-64)
  EXPECT_EQ(f, 1.0f);

  EXPECT_FALSE(bedrock::parse_titan_embedding(200, R"({"embedding":["x"]})", &err).ok());
  EXPECT_EQ(err.http_status, 502u);
  EXPECT_FALSE(bedrock::parse_titan_embedding(429, R"({"message":"slow"})", &err).ok());
  EXPECT_EQ(err.http_status, 429u);
  EXPECT_TRUE(err.retryable);
}

// The signature is recomputed here from the AWS recipe step by step, not
// with the signer's own helpers for the request.
TEST(BedrockSign, SignedRequestVerifies) {
  BedrockAdapter a;
  auto up = a.build_chat(bj::parse(R"({"messages":[{"role":"user","content":"hi"}]})").as_object(),
                         test_target(), false);
  ASSERT_TRUE(up.ok());
  up->headers.emplace_back("Authorization", "stale");  // replaced, not kept
  const aws::sigv4::Credentials creds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                      "session-token-1"};
  using namespace std::chrono;
  const auto when = sys_days(year{2024} / 5 / 17) + hours(15) + minutes(9) + seconds(54);
  ASSERT_TRUE(bedrock::sign_upstream_request(*up, creds, "us-east-1", "bedrock", when).ok());

  auto header = [&up](std::string_view name) {
    std::string found;
    int count = 0;
    for (const auto& [k, v] : up->headers) {
      if (aws::sigv4::lower_ascii(k) == name) {
        found = v;
        ++count;
      }
    }
    EXPECT_EQ(count, 1) << name;
    return found;
  };
  EXPECT_EQ(header("host"), "bedrock-runtime.us-east-1.amazonaws.com");
  EXPECT_EQ(header("x-amz-date"), "20240517T150954Z");
  EXPECT_EQ(header("x-amz-security-token"), "session-token-1");

  const std::string canonical =
      "POST\n"
      "/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse\n"  // encoded twice
      "\n"
      "accept:application/json\n"
      "content-type:application/json\n"
      "host:bedrock-runtime.us-east-1.amazonaws.com\n"
      "x-amz-date:20240517T150954Z\n"
      "x-amz-security-token:session-token-1\n"
      "\n"
      "accept;content-type;host;x-amz-date;x-amz-security-token\n" +
      crypto::sha256_hex(up->body);
  const std::string sts =
      "AWS4-HMAC-SHA256\n20240517T150954Z\n20240517/us-east-1/bedrock/aws4_request\n" +
      crypto::sha256_hex(canonical);
  auto hmac = [](std::string_view key, std::string_view data) {
    const auto d = crypto::hmac_sha256(key, data);
    return std::string(reinterpret_cast<const char*>(d.data()), d.size());
  };
  const std::string k =
      hmac(hmac(hmac(hmac("AWS4" + creds.secret_access_key, "20240517"), "us-east-1"), "bedrock"),
           "aws4_request");
  const std::string signature = crypto::hex(hmac(k, sts));
  EXPECT_EQ(header("authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240517/us-east-1/bedrock/aws4_request, "
            "SignedHeaders=accept;content-type;host;x-amz-date;x-amz-security-token, Signature=" +
                signature);
}

TEST(BedrockSign, UrlSplitting) {
  auto u = bedrock::split_url("https://h.example.com:443/a%3Ab?x=1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "h.example.com");
  EXPECT_EQ(u->path, "/a%3Ab");
  EXPECT_EQ(u->query, "x=1");
  EXPECT_EQ(bedrock::split_url("http://127.0.0.1:8080")->host, "127.0.0.1:8080");
  EXPECT_EQ(bedrock::split_url("http://127.0.0.1:8080")->path, "/");
  EXPECT_EQ(bedrock::split_url("http://h:80/x")->host, "h");
  EXPECT_FALSE(bedrock::split_url("no-scheme").ok());
  EXPECT_FALSE(bedrock::split_url("http://user@h/").ok());
  UpstreamRequest r;
  r.url = "http://h/x";
  EXPECT_FALSE(bedrock::sign_upstream_request(r, {"", "", ""}, "us-east-1").ok());
}

}  // namespace
}  // namespace spectra::ai
