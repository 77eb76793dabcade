// ConverseStream event-stream -> OpenAI chunks: every split point, CRC
// corruption, in-stream exceptions, truncation, exact usage.
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "ai/bedrock_adapter.h"
#include "bedrock_test_util.h"

namespace spectra::ai {
namespace {

using namespace bedrock_testing;

struct Outcome {
  std::vector<bj::object> chunks;
  Status status;
  UpstreamError error;
  Usage usage;
  bool done = false;
};

// Feeds `pieces` in order, then finish() (unless a feed failed).
Outcome run(const std::vector<std::string_view>& pieces) {
  BedrockAdapter adapter;
  auto t = adapter.stream_translator(test_target(), "chatcmpl-req1", 1700000000);
  Outcome r;
  for (std::string_view p : pieces) {
    r.status = t->feed(p, &r.chunks, &r.error);
    if (!r.status.ok()) break;
  }
  if (r.status.ok()) r.status = t->finish(&r.chunks, &r.error);
  r.usage = t->usage();
  r.done = t->done();
  return r;
}

Outcome run_whole(std::string_view bytes) { return run({bytes}); }

TEST(BedrockStream, TextStreamBecomesRoleContentFinishAndUsageChunks) {
  Outcome r = run_whole(text_stream());
  ASSERT_TRUE(r.status.ok()) << r.status.to_string();
  Summary s = summarize(r.chunks);
  EXPECT_EQ(s.role_chunks, 1);
  EXPECT_EQ(s.content, "Hello world");
  EXPECT_EQ(s.finish_reason, "stop");
  EXPECT_EQ(s.usage_chunks, 1);
  EXPECT_EQ(s.prompt_tokens, 12);
  EXPECT_EQ(s.completion_tokens, 5);
  EXPECT_EQ(s.total_tokens, 17);
  EXPECT_TRUE(r.usage.reported);
  EXPECT_EQ(r.usage.prompt_tokens, 12);
  EXPECT_EQ(r.usage.completion_tokens, 5);
  EXPECT_TRUE(r.done);
  // Every chunk carries the id, created and model the core chose.
  for (const auto& c : r.chunks) {
    EXPECT_EQ(c.at("id").as_string(), "chatcmpl-req1");
    EXPECT_EQ(c.at("created").as_int64(), 1700000000);
    EXPECT_EQ(c.at("model").as_string(), test_target().model);
  }
  // The role chunk comes first, the usage chunk last.
  EXPECT_EQ(r.chunks.front().at("choices").at(0).at("delta").at("role").as_string(), "assistant");
  EXPECT_TRUE(r.chunks.back().at("choices").as_array().empty());
}

// Claude's thinking: text deltas out as reasoning_content, the block whole
// and signed (or redacted) at its contentBlockStop; a reasoning delta for a
// tool block is malformed.
TEST(BedrockStream, ReasoningContentBecomesReasoningAndThinkingBlocks) {
  Outcome r = run_whole(
      event("messageStart", R"({"role":"assistant"})") +
      event("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"let me"}}})") +
      event("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"reasoningContent":{"text":" see"}}})") +
      event("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"sig"}}})") +
      event("contentBlockStop", R"({"contentBlockIndex":0})") +
      event("contentBlockDelta", R"({"contentBlockIndex":1,"delta":{"reasoningContent":{"redactedContent":"ZW5j"}}})") +
      event("contentBlockStop", R"({"contentBlockIndex":1})") +
      event("contentBlockDelta", R"({"contentBlockIndex":2,"delta":{"text":"done"}})") +
      event("messageStop", R"({"stopReason":"end_turn"})") +
      event("metadata", R"({"usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3}})"));
  ASSERT_TRUE(r.status.ok()) << r.status.to_string();
  std::string reasoning;
  bj::array blocks;
  for (const auto& c : r.chunks) {
    for (const auto& ch : c.at("choices").as_array()) {
      const auto& d = ch.at("delta").as_object();
      if (const auto* t = d.if_contains("reasoning_content")) reasoning += t->as_string();
      if (const auto* b = d.if_contains("thinking_blocks")) blocks.insert(blocks.end(), b->as_array().begin(), b->as_array().end());
    }
  }
  EXPECT_EQ(reasoning, "let me see");
  EXPECT_EQ(bj::value(blocks), bj::parse(R"([{"type":"thinking","thinking":"let me see","signature":"sig"},
                                             {"type":"redacted_thinking","data":"ZW5j"}])"));
  EXPECT_EQ(summarize(r.chunks).content, "done");

  Outcome bad = run_whole(
      event("messageStart", R"({"role":"assistant"})") +
      event("contentBlockStart", R"({"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"t","name":"f"}}})") +
      event("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"x"}}})"));
  EXPECT_FALSE(bad.status.ok());
}

TEST(BedrockStream, ToolUseBecomesToolCallDeltas) {
  Outcome r = run_whole(tool_stream());
  ASSERT_TRUE(r.status.ok()) << r.status.to_string();
  Summary s = summarize(r.chunks);
  EXPECT_EQ(s.content, "Let me check.");
  ASSERT_EQ(s.tool_calls.size(), 1u);  // block 1 is tool call 0
  EXPECT_EQ(s.tool_calls[0].id, "tooluse_abc");
  EXPECT_EQ(s.tool_calls[0].name, "get_weather");
  EXPECT_EQ(s.tool_calls[0].arguments, R"({"location":"Paris"})");
  EXPECT_EQ(s.finish_reason, "tool_calls");
  EXPECT_EQ(r.usage.prompt_tokens, 40);
  EXPECT_EQ(r.usage.completion_tokens, 22);
}

TEST(BedrockStream, EverySplitPointGivesTheSameChunks) {
  for (const std::string& bytes : {text_stream(), tool_stream()}) {
    const Outcome whole = run_whole(bytes);
    ASSERT_TRUE(whole.status.ok());
    const std::string expected = serialize_all(whole.chunks);
    for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
      const std::string_view all(bytes);
      Outcome r = run({all.substr(0, cut), all.substr(cut)});
      ASSERT_TRUE(r.status.ok()) << "cut at " << cut << ": " << r.status.to_string();
      ASSERT_EQ(serialize_all(r.chunks), expected) << "cut at " << cut;
      ASSERT_EQ(r.usage.prompt_tokens, whole.usage.prompt_tokens);
    }
    // And one byte at a time.
    std::vector<std::string_view> bytewise;
    for (std::size_t i = 0; i < bytes.size(); ++i)
      bytewise.push_back(std::string_view(bytes).substr(i, 1));
    EXPECT_EQ(serialize_all(run(bytewise).chunks), expected);
  }
}

TEST(BedrockStream, CorruptedMessageCrcIsAnError) {
  const std::string first = event("messageStart", R"({"role":"assistant"})");
  std::string second =
      event("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hi"}})");
  second[second.size() - 20] ^= 0x01;  // a payload byte: the message CRC no longer matches
  Outcome r = run_whole(first + second + event("messageStop", R"({"stopReason":"end_turn"})"));
  EXPECT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.code(), Code::kIo);
  EXPECT_NE(r.status.message().find("CRC"), std::string::npos) << r.status.message();
  EXPECT_EQ(r.error.http_status, 502u);
  EXPECT_EQ(r.error.type, "api_error");
  // The frame before the corruption was translated.
  EXPECT_EQ(summarize(r.chunks).role_chunks, 1);
  EXPECT_EQ(summarize(r.chunks).content, "");
}

TEST(BedrockStream, CorruptedPreludeCrcIsAnErrorAndErrorsAreFinal) {
  std::string bytes = text_stream();
  bytes[9] ^= 0x40;  // prelude CRC of the first frame
  BedrockAdapter adapter;
  auto t = adapter.stream_translator(test_target(), "id", 1);
  std::vector<bj::object> chunks;
  UpstreamError err;
  EXPECT_FALSE(t->feed(bytes, &chunks, &err).ok());
  EXPECT_TRUE(chunks.empty());
  UpstreamError again;
  Status s = t->feed(event("messageStart", "{}"), &chunks, &again);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(again.http_status, 502u);
  EXPECT_FALSE(t->finish(&chunks, &again).ok());
  EXPECT_TRUE(chunks.empty());
}

struct ExceptionCase {
  const char* type;
  unsigned status;
  const char* openai_type;
  bool retryable;
};

TEST(BedrockStream, ExceptionsMapToUpstreamErrors) {
  const ExceptionCase cases[] = {
      {"throttlingException", 429, "rate_limit_error", true},
      {"serviceUnavailableException", 503, "api_error", true},
      {"internalServerException", 500, "api_error", true},
      {"modelStreamErrorException", 500, "api_error", true},
      {"validationException", 400, "invalid_request_error", false},
      {"somethingNewException", 502, "api_error", false},
  };
  for (const auto& c : cases) {
    const std::string bytes =
        event("messageStart", R"({"role":"assistant"})") +
        event("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Par"}})") +
        exception(c.type, R"({"message":"it went wrong"})");
    Outcome r = run_whole(bytes);
    ASSERT_FALSE(r.status.ok()) << c.type;
    EXPECT_EQ(r.status.code(), c.retryable ? Code::kUnavailable : Code::kInvalidArgument) << c.type;
    EXPECT_EQ(r.error.http_status, c.status) << c.type;
    EXPECT_EQ(r.error.type, c.openai_type) << c.type;
    EXPECT_EQ(r.error.retryable, c.retryable) << c.type;
    EXPECT_NE(r.error.message.find("it went wrong"), std::string::npos) << r.error.message;
    // What came before the exception was delivered.
    EXPECT_EQ(summarize(r.chunks).content, "Par") << c.type;
    EXPECT_FALSE(r.done);
    // The OpenAI error body is well formed.
    const bj::object body = r.error.to_openai();
    EXPECT_EQ(body.at("error").at("type").as_string(), c.openai_type);
  }
}

TEST(BedrockStream, GenericErrorMessageTypeIsAnError) {
  const std::string bytes = frame({{":message-type", std::string("error")},
                                   {":error-code", std::string("ThrottlingException")},
                                   {":error-message", std::string("slow down")}},
                                  "");
  Outcome r = run_whole(bytes);
  ASSERT_FALSE(r.status.ok());
  EXPECT_EQ(r.error.http_status, 429u);
  EXPECT_TRUE(r.error.retryable);
}

TEST(BedrockStream, TruncatedStreamsFailAtFinish) {
  const std::string bytes = text_stream();
  // Ends before messageStop: the connection dropped between frames.
  const std::string before_stop =
      event("messageStart", R"({"role":"assistant"})") +
      event("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hi"}})");
  Outcome r = run_whole(before_stop);
  ASSERT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("messageStop"), std::string::npos);
  EXPECT_TRUE(r.error.retryable);
  EXPECT_EQ(summarize(r.chunks).content, "Hi");
  // Ends inside a frame.
  Outcome mid = run_whole(std::string_view(bytes).substr(0, bytes.size() - 3));
  ASSERT_FALSE(mid.status.ok());
  EXPECT_NE(mid.status.message().find("middle"), std::string::npos) << mid.status.message();
}

TEST(BedrockStream, MessageStopWithoutMetadataIsCompleteButUsageUnreported) {
  const std::string bytes =
      event("messageStart", R"({"role":"assistant"})") +
      event("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"x"}})") +
      event("messageStop", R"({"stopReason":"max_tokens"})");
  Outcome r = run_whole(bytes);
  ASSERT_TRUE(r.status.ok());
  EXPECT_FALSE(r.usage.reported);
  EXPECT_FALSE(r.done);
  EXPECT_EQ(summarize(r.chunks).finish_reason, "length");
}

TEST(BedrockStream, CacheTokensCountAsPromptTokens) {
  const std::string bytes =
      event("messageStart", R"({"role":"assistant"})") +
      event("messageStop", R"({"stopReason":"end_turn"})") +
      event("metadata", R"({"usage":{"inputTokens":10,"outputTokens":3,"totalTokens":1113,)"
                        R"("cacheReadInputTokens":1000,"cacheWriteInputTokens":100}})");
  Outcome r = run_whole(bytes);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.usage.prompt_tokens, 1110);
  EXPECT_EQ(r.usage.cached_prompt_tokens, 1000);
  EXPECT_EQ(r.usage.completion_tokens, 3);
  const bj::object& u = r.chunks.back().at("usage").as_object();
  EXPECT_EQ(u.at("total_tokens").as_int64(), 1113);
  EXPECT_EQ(u.at("prompt_tokens_details").at("cached_tokens").as_int64(), 1000);
}

TEST(BedrockStream, MalformedEventsAreErrors) {
  const std::string start = event("messageStart", R"({"role":"assistant"})");
  const std::vector<std::string> bad = {
      frame({{":event-type", std::string("messageStart")}}, "{}"),  // no :message-type
      frame({{":message-type", std::string("event")}}, "{}"),       // no :event-type
      event("contentBlockDelta", "not json"),
      event("contentBlockDelta", R"({"contentBlockIndex":3,"delta":{"toolUse":{"input":"{}"}}})"),
      event("contentBlockStart", R"({"contentBlockIndex":1,"start":{"toolUse":{"name":"x"}}})"),
      frame({{":message-type", std::string("surprise")}}, "{}"),
  };
  for (const std::string& b : bad) {
    Outcome r = run_whole(start + b);
    EXPECT_FALSE(r.status.ok());
    EXPECT_EQ(r.error.http_status, 502u);
  }
}

TEST(BedrockStream, UnknownEventsAndBlocksAreIgnored) {
  const std::string bytes =
      event("messageStart", R"({"role":"assistant"})") + event("futureEvent", R"({"x":1})") +
      event("contentBlockDelta",
            R"({"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"hmm"}}})") +
      event("contentBlockDelta", R"({"contentBlockIndex":1,"delta":{"text":"ok"}})") +
      event("messageStop", R"({"stopReason":"guardrail_intervened"})") +
      event("metadata", R"({"usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2}})");
  Outcome r = run_whole(bytes);
  ASSERT_TRUE(r.status.ok()) << r.status.to_string();
  Summary s = summarize(r.chunks);
  EXPECT_EQ(s.content, "ok");
  EXPECT_EQ(s.finish_reason, "content_filter");
}

TEST(BedrockStream, EmptyInputIsTruncated) {
  Outcome r = run_whole("");
  EXPECT_FALSE(r.status.ok());
  EXPECT_TRUE(r.chunks.empty());
}

}  // namespace
}  // namespace spectra::ai
