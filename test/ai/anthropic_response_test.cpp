// AnthropicAdapter::parse_chat and parse_error: whole answers, usage, stop
// reasons and the error table.
#include "ai/anthropic_adapter.h"
#include "anthropic_test_util.h"

namespace spectra::ai::testing {
namespace {

std::string message_with(const std::string& content, const std::string& stop_reason,
                         const std::string& usage = R"({"input_tokens":3,"output_tokens":4})") {
  return R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":)" +
         content + R"(,"stop_reason":)" + stop_reason + R"(,"stop_sequence":null,"usage":)" +
         usage + "}";
}

TEST(AnthropicResponse, GoldenToolUseMessage) {
  AnthropicAdapter a;
  Usage usage;
  UpstreamError err;
  auto r =
      a.parse_chat(200, read_testdata("anthropic_message_tool_use.json"), target(), &usage, &err);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  bj::value want = bj::parse(read_testdata("anthropic_message_tool_use.openai.json"));
  EXPECT_EQ(bj::value(*r), want) << bj::serialize(*r);
  EXPECT_TRUE(usage.reported);
  EXPECT_EQ(usage.prompt_tokens, 2095 + 5 + 1000);
  EXPECT_EQ(usage.completion_tokens, 503);
  EXPECT_EQ(usage.cached_prompt_tokens, 1000);
}

TEST(AnthropicResponse, TextBlocksAreConcatenated) {
  AnthropicAdapter a;
  Usage usage;
  auto r = a.parse_chat(
      200,
      message_with(R"([{"type":"text","text":"Hello, "},{"type":"text","text":"world"}])",
                   R"("end_turn")"),
      target(), &usage, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const bj::object& choice = r->at("choices").at(0).as_object();
  EXPECT_EQ(choice.at("message").at("content"), "Hello, world");
  EXPECT_FALSE(choice.at("message").as_object().contains("tool_calls"));
  EXPECT_EQ(choice.at("finish_reason"), "stop");
  EXPECT_EQ(r->at("usage"), bj::parse(R"({"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,
    "prompt_tokens_details":{"cached_tokens":0}})"));
  EXPECT_EQ(usage.prompt_tokens, 3);
  EXPECT_EQ(usage.completion_tokens, 4);
}

TEST(AnthropicResponse, EmptyContentIsAnEmptyString) {
  AnthropicAdapter a;
  auto r = a.parse_chat(200, message_with("[]", R"("end_turn")"), target(), nullptr, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->at("choices").at(0).at("message").at("content"), "");
}

TEST(AnthropicResponse, StopReasonMapping) {
  AnthropicAdapter a;
  const std::pair<const char*, const char*> cases[] = {{R"("end_turn")", "stop"},
                                                       {R"("stop_sequence")", "stop"},
                                                       {R"("max_tokens")", "length"},
                                                       {R"("tool_use")", "tool_calls"},
                                                       {R"("pause_turn")", "stop"},
                                                       {R"("refusal")", "content_filter"},
                                                       {"null", "stop"},
                                                       {R"("some_future_reason")", "stop"}};
  for (const auto& [anthropic, openai] : cases) {
    auto r = a.parse_chat(200, message_with(R"([{"type":"text","text":"x"}])", anthropic), target(),
                          nullptr, nullptr);
    ASSERT_TRUE(r.ok()) << anthropic;
    EXPECT_EQ(r->at("choices").at(0).at("finish_reason"), openai) << anthropic;
  }
}

TEST(AnthropicResponse, UsageCountsCacheTokensAsPrompt) {
  AnthropicAdapter a;
  Usage usage;
  auto r = a.parse_chat(200,
                        message_with(R"([{"type":"text","text":"x"}])", R"("end_turn")",
                                     R"({"input_tokens":10,"cache_creation_input_tokens":20,
                                              "cache_read_input_tokens":30,"output_tokens":40})"),
                        target(), &usage, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(usage.prompt_tokens, 60);
  EXPECT_EQ(usage.completion_tokens, 40);
  EXPECT_EQ(usage.cached_prompt_tokens, 30);
  EXPECT_EQ(r->at("usage"), bj::parse(R"({"prompt_tokens":60,"completion_tokens":40,
    "total_tokens":100,"prompt_tokens_details":{"cached_tokens":30,"cache_write_tokens":20}})"));
  // Null cache counts (as Anthropic sends them) count as zero.
  r = a.parse_chat(200,
                   message_with("[]", R"("end_turn")",
                                R"({"input_tokens":1,"cache_creation_input_tokens":null,
                                         "cache_read_input_tokens":null,"output_tokens":2})"),
                   target(), &usage, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(usage.prompt_tokens, 1);
  EXPECT_EQ(usage.cached_prompt_tokens, 0);
}

TEST(AnthropicResponse, ModelFallsBackToTheTarget) {
  AnthropicAdapter a;
  auto r = a.parse_chat(200, R"({"type":"message","content":[],"stop_reason":"end_turn"})",
                        target(), nullptr, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->at("model"), bj::value(target().model));
  EXPECT_EQ(r->at("object"), "chat.completion");
}

TEST(AnthropicResponse, ErrorStatusFillsTheError) {
  AnthropicAdapter a;
  UpstreamError err;
  auto r = a.parse_chat(
      529,
      R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"})",
      target(), nullptr, &err);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(err.http_status, 503u);
  EXPECT_TRUE(err.retryable);
  EXPECT_EQ(err.message, "Overloaded");
  r = a.parse_chat(
      400,
      R"({"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}})",
      target(), nullptr, &err);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(err.http_status, 400u);
  EXPECT_FALSE(err.retryable);
  EXPECT_EQ(err.to_openai(), bj::parse(R"({"error":{"message":"max_tokens: Field required",
    "type":"invalid_request_error","param":null,"code":null}})"));
}

TEST(AnthropicResponse, ErrorBodyWithSuccessStatusIsAnError) {
  AnthropicAdapter a;
  UpstreamError err;
  auto r =
      a.parse_chat(200, R"({"type":"error","error":{"type":"api_error","message":"Internal"}})",
                   target(), nullptr, &err);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(err.http_status, 500u);
  EXPECT_TRUE(err.retryable);
}

TEST(AnthropicResponse, MalformedSuccessBodiesAreRetryableProtocolErrors) {
  AnthropicAdapter a;
  for (const char* body : {"", "not json", "[1,2]", R"({"type":"message"})",
                           R"({"type":"message","content":[{"type":"text"}]})",
                           R"({"type":"message","content":[{"type":"tool_use","id":"t"}]})",
                           R"({"type":"message","content":[7]})", R"({"id":"x"})"}) {
    UpstreamError err;
    auto r = a.parse_chat(200, body, target(), nullptr, &err);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), Code::kUnavailable) << body;
    EXPECT_EQ(err.http_status, 502u) << body;
    EXPECT_TRUE(err.retryable) << body;
    EXPECT_FALSE(err.message.empty());
  }
}

struct ErrorCase {
  const char* type;
  unsigned upstream_status;
  unsigned client_status;
  const char* openai_type;
  bool retryable;
};

TEST(AnthropicError, EveryDocumentedTypeMapsToItsStatus) {
  AnthropicAdapter a;
  const ErrorCase cases[] = {
      {"invalid_request_error", 400, 400, "invalid_request_error", false},
      {"authentication_error", 401, 401, "authentication_error", false},
      {"billing_error", 402, 402, "invalid_request_error", false},
      {"permission_error", 403, 403, "permission_error", false},
      {"not_found_error", 404, 404, "not_found_error", false},
      {"request_too_large", 413, 413, "invalid_request_error", false},
      {"rate_limit_error", 429, 429, "rate_limit_error", true},
      {"api_error", 500, 500, "api_error", true},
      {"timeout_error", 504, 504, "api_error", true},
      {"overloaded_error", 529, 503, "api_error", true},
  };
  for (const ErrorCase& c : cases) {
    std::string body = std::string(R"({"type":"error","error":{"type":")") + c.type +
                       R"(","message":"m-)" + c.type + R"("},"request_id":"req_x"})";
    UpstreamError e = a.parse_error(c.upstream_status, body);
    EXPECT_EQ(e.http_status, c.client_status) << c.type;
    EXPECT_EQ(e.type, c.openai_type) << c.type;
    EXPECT_EQ(e.retryable, c.retryable) << c.type;
    EXPECT_EQ(e.message, std::string("m-") + c.type);
  }
  UpstreamError e = a.parse_error(
      529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  EXPECT_EQ(e.code, "overloaded_error");
  EXPECT_EQ(e.to_openai().at("error").at("code"), "overloaded_error");
  e = a.parse_error(413,
                    R"({"type":"error","error":{"type":"request_too_large","message":"big"}})");
  EXPECT_EQ(e.code, "request_too_large");
}

TEST(AnthropicError, BodiesWithoutAnErrorObjectMapByStatus) {
  AnthropicAdapter a;
  const ErrorCase cases[] = {
      {"", 400, 400, "invalid_request_error", false},
      {"", 401, 401, "authentication_error", false},
      {"", 403, 403, "permission_error", false},
      {"", 404, 404, "not_found_error", false},
      {"", 413, 413, "invalid_request_error", false},
      {"", 429, 429, "rate_limit_error", true},
      {"", 500, 500, "api_error", true},
      {"", 502, 502, "api_error", true},
      {"", 503, 503, "api_error", true},
      {"", 504, 504, "api_error", true},
      {"", 529, 503, "api_error", true},
      {"", 520, 502, "api_error", true},
      {"", 418, 418, "invalid_request_error", false},
      {"", 302, 502, "api_error", true},
  };
  for (const ErrorCase& c : cases) {
    UpstreamError e = a.parse_error(c.upstream_status, "<html>\x01gateway</html>");
    EXPECT_EQ(e.http_status, c.client_status) << c.upstream_status;
    EXPECT_EQ(e.type, c.openai_type) << c.upstream_status;
    EXPECT_EQ(e.retryable, c.retryable) << c.upstream_status;
    EXPECT_NE(e.message.find("HTTP " + std::to_string(c.upstream_status)), std::string::npos);
    EXPECT_EQ(e.message.find('\x01'), std::string::npos);  // control bytes never pass through
  }
  UpstreamError e = a.parse_error(500, std::string(5000, 'x'));
  EXPECT_LT(e.message.size(), 300u);
  e = a.parse_error(500, "");
  EXPECT_EQ(e.message, "Anthropic upstream answered HTTP 500");
}

TEST(AnthropicError, UnknownTypeKeepsTheStatusAndNamesTheType) {
  AnthropicAdapter a;
  UpstreamError e =
      a.parse_error(409, R"({"type":"error","error":{"type":"conflict_error","message":"c"}})");
  EXPECT_EQ(e.http_status, 409u);
  EXPECT_EQ(e.code, "conflict_error");
  EXPECT_FALSE(e.retryable);
  e = a.parse_error(503, R"({"type":"error","error":{"type":"brand_new_error"}})");
  EXPECT_EQ(e.http_status, 503u);
  EXPECT_TRUE(e.retryable);
  EXPECT_NE(e.message.find("brand_new_error"), std::string::npos);
}

}  // namespace
}  // namespace spectra::ai::testing
