// The Anthropic stream translator: the event sequence -> OpenAI chunks, at
// every byte split, with exact usage, error events and protocol violations.
#include <algorithm>
#include <random>

#include "ai/anthropic_adapter.h"
#include "ai/anthropic_replay.h"
#include "anthropic_test_util.h"

namespace spectra::ai::testing {
namespace {

struct Outcome {
  std::vector<bj::object> chunks;
  Status status;  // first non-ok status of feed() or finish()
  UpstreamError error;
  Usage usage;
  bool done = false;
};

Outcome translate(const std::vector<std::string_view>& pieces, bool call_finish = true) {
  AnthropicAdapter a;
  auto t = a.stream_translator(target(), "chatcmpl-req1", 1700000000);
  Outcome run;
  for (std::string_view p : pieces) {
    run.status = t->feed(p, &run.chunks, &run.error);
    if (!run.status.ok()) break;
  }
  if (run.status.ok() && call_finish) run.status = t->finish(&run.chunks, &run.error);
  run.usage = t->usage();
  run.done = t->done();
  return run;
}

Outcome translate(std::string_view whole) {
  return translate(std::vector<std::string_view>{whole});
}

std::string dump(const std::vector<bj::object>& chunks) {
  std::string out;
  for (const auto& c : chunks) out += bj::serialize(c) + "\n";
  return out;
}

bj::object expected_chunk(const std::string& delta, const std::string& finish = "null") {
  return obj(R"({"id":"chatcmpl-req1","object":"chat.completion.chunk","created":1700000000,
    "model":"claude-3-5-sonnet-20241022","choices":[{"index":0,"delta":)" +
             delta + R"(,"logprobs":null,"finish_reason":)" + finish + "}]}");
}

std::vector<bj::object> expected_text_tool_chunks() {
  return {
      expected_chunk(R"({"role":"assistant","content":""})"),
      expected_chunk(R"({"content":"Okay, let me check"})"),
      expected_chunk(R"({"content":" the weather \u00e9\u2603."})"),
      expected_chunk(R"({"tool_calls":[{"index":0,"id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6",
        "type":"function","function":{"name":"get_weather","arguments":""}}]})"),
      expected_chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"location\":"}}]})"),
      expected_chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":" \"Paris\"}"}}]})"),
      expected_chunk("{}", R"("tool_calls")"),
  };
}

// Events built by hand for the shorter cases (line breaks in `data` are
// dropped, so the JSON below may span lines).
std::string ev(const std::string& type, std::string data) {
  data.erase(std::remove(data.begin(), data.end(), '\n'), data.end());
  return "event: " + type + "\ndata: " + data + "\n\n";
}
const char kStart[] =
    R"({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant",
"content":[],"model":"claude-3-5-sonnet-20241022","stop_reason":null,"stop_sequence":null,
"usage":{"input_tokens":7,"output_tokens":1}}})";
std::string start() { return ev("message_start", kStart); }
std::string text_block(int index, const std::string& text) {
  return ev("content_block_start", R"({"type":"content_block_start","index":)" +
                                       std::to_string(index) +
                                       R"(,"content_block":{"type":"text","text":""}})") +
         ev("content_block_delta",
            R"({"type":"content_block_delta","index":)" + std::to_string(index) +
                R"(,"delta":{"type":"text_delta","text":")" + text + R"("}})") +
         ev("content_block_stop",
            R"({"type":"content_block_stop","index":)" + std::to_string(index) + "}");
}
std::string end(const std::string& stop_reason = "end_turn", int output_tokens = 5) {
  return ev("message_delta", R"({"type":"message_delta","delta":{"stop_reason":")" + stop_reason +
                                 R"(","stop_sequence":null},"usage":{"output_tokens":)" +
                                 std::to_string(output_tokens) + "}}") +
         ev("message_stop", R"({"type":"message_stop"})");
}

TEST(AnthropicStream, TextAndToolUseGolden) {
  Outcome r = translate(read_testdata("anthropic_stream_text_tool.sse"));
  ASSERT_TRUE(r.status.ok()) << r.status.to_string();
  EXPECT_TRUE(r.done);
  EXPECT_EQ(dump(r.chunks), dump(expected_text_tool_chunks()));
  // Usage exactly as reported: prompt = 472 input + 100 cache read + 10 cache
  // creation (message_start); completion = message_delta's 89, not message_start's 2.
  EXPECT_TRUE(r.usage.reported);
  EXPECT_EQ(r.usage.prompt_tokens, 582);
  EXPECT_EQ(r.usage.completion_tokens, 89);
  EXPECT_EQ(r.usage.cached_prompt_tokens, 100);
}

TEST(AnthropicStream, EverySplitPointGivesTheSameChunks) {
  const std::string s = read_testdata("anthropic_stream_text_tool.sse");
  const std::string want = dump(expected_text_tool_chunks());
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    std::string_view v(s);
    Outcome r = translate(std::vector<std::string_view>{v.substr(0, cut), v.substr(cut)});
    ASSERT_TRUE(r.status.ok()) << "cut " << cut << ": " << r.status.to_string();
    ASSERT_EQ(dump(r.chunks), want) << "cut " << cut;
    ASSERT_EQ(r.usage.prompt_tokens, 582);
    ASSERT_EQ(r.usage.completion_tokens, 89);
  }
}

TEST(AnthropicStream, ByteByByteAndRandomSplitsGiveTheSameChunks) {
  std::string s = read_testdata("anthropic_stream_text_tool.sse");
  const std::string want = dump(expected_text_tool_chunks());
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < s.size(); ++i) bytes.push_back(std::string_view(s).substr(i, 1));
  Outcome r = translate(bytes);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(dump(r.chunks), want);

  // CRLF line endings, as some proxies rewrite them, split at random points.
  std::string crlf;
  for (char c : s) {
    if (c == '\n')
      crlf += "\r\n";
    else
      crlf.push_back(c);
  }
  std::mt19937 rng(42);
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string_view> pieces;
    std::size_t pos = 0;
    while (pos < crlf.size()) {
      std::size_t n = std::uniform_int_distribution<std::size_t>(0, 40)(rng);
      n = std::min(n, crlf.size() - pos);
      pieces.push_back(std::string_view(crlf).substr(pos, n));
      pos += n;
    }
    Outcome rr = translate(pieces);
    ASSERT_TRUE(rr.status.ok()) << round;
    ASSERT_EQ(dump(rr.chunks), want) << round;
  }
}

TEST(AnthropicStream, FinishReasonsAndMessageStopWithoutDelta) {
  Outcome r = translate(start() + text_block(0, "hi") + end("max_tokens", 3));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.chunks.back().at("choices").at(0).at("finish_reason"), "length");
  EXPECT_EQ(r.usage.prompt_tokens, 7);
  EXPECT_EQ(r.usage.completion_tokens, 3);
  r = translate(start() + text_block(0, "hi") + ev("message_stop", R"({"type":"message_stop"})"));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.chunks.back().at("choices").at(0).at("finish_reason"), "stop");
  EXPECT_EQ(r.usage.completion_tokens, 1);  // message_start's count: the only one reported
  // One finish chunk even if message_delta repeats.
  r = translate(
      start() + text_block(0, "hi") +
      ev("message_delta",
         R"({"type":"message_delta","delta":{"stop_reason":"stop_sequence"},"usage":{"output_tokens":2}})") +
      end("end_turn", 4));
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(r.chunks.size(), 3u);
  EXPECT_EQ(r.chunks.back().at("choices").at(0).at("finish_reason"), "stop");
  EXPECT_EQ(r.usage.completion_tokens, 4);
}

TEST(AnthropicStream, CumulativeUsageInMessageDeltaUpdatesPrompt) {
  Outcome r =
      translate(start() + text_block(0, "x") +
                ev("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"end_turn"},
                      "usage":{"input_tokens":9,"cache_read_input_tokens":4,"output_tokens":6}})") +
                ev("message_stop", R"({"type":"message_stop"})"));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.usage.prompt_tokens, 13);
  EXPECT_EQ(r.usage.cached_prompt_tokens, 4);
  EXPECT_EQ(r.usage.completion_tokens, 6);
}

// Pings, unknown events and comments are skipped; thinking goes out as
// reasoning_content deltas, then the block whole and signed.
TEST(AnthropicStream, PingsAndUnknownEventsAreSkippedThinkingIsReasoning) {
  std::string s = ev("ping", R"({"type":"ping"})") + start() + ev("ping", R"({"type": "ping"})") +
                  ev("content_block_start", R"({"type":"content_block_start","index":0,
                     "content_block":{"type":"thinking","thinking":""}})") +
                  ev("content_block_delta", R"({"type":"content_block_delta","index":0,
                     "delta":{"type":"thinking_delta","thinking":"hmm"}})") +
                  ev("content_block_delta", R"({"type":"content_block_delta","index":0,
                     "delta":{"type":"signature_delta","signature":"abc"}})") +
                  ev("content_block_stop", R"({"type":"content_block_stop","index":0})") +
                  ev("future_event", R"({"type":"future_event","x":1})") + ": a comment\n\n" +
                  "event: ping\ndata: not json\n\n" + text_block(1, "answer") + end();
  Outcome r = translate(s);
  ASSERT_TRUE(r.status.ok()) << r.status.to_string();
  ASSERT_EQ(r.chunks.size(), 5u) << dump(r.chunks);
  EXPECT_EQ(r.chunks[1].at("choices").at(0).at("delta"), bj::parse(R"({"reasoning_content":"hmm"})"));
  EXPECT_EQ(r.chunks[2].at("choices").at(0).at("delta"),
            bj::parse(R"({"thinking_blocks":[{"type":"thinking","thinking":"hmm","signature":"abc"}]})"));
  EXPECT_EQ(r.chunks[3].at("choices").at(0).at("delta"), bj::parse(R"({"content":"answer"})"));
}

TEST(AnthropicStream, RedactedThinkingGoesOutWhole) {
  std::string s = start() +
                  ev("content_block_start", R"({"type":"content_block_start","index":0,
                     "content_block":{"type":"redacted_thinking","data":"Enc0ded"}})") +
                  ev("content_block_stop", R"({"type":"content_block_stop","index":0})") + text_block(1, "answer") + end();
  Outcome r = translate(s);
  ASSERT_TRUE(r.status.ok()) << r.status.to_string();
  ASSERT_EQ(r.chunks.size(), 4u) << dump(r.chunks);
  EXPECT_EQ(r.chunks[1].at("choices").at(0).at("delta"),
            bj::parse(R"({"thinking_blocks":[{"type":"redacted_thinking","data":"Enc0ded"}]})"));
  // A thinking delta in a text block is a protocol error.
  Outcome bad = translate(start() +
                          ev("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})") +
                          ev("content_block_delta", R"({"type":"content_block_delta","index":0,
                             "delta":{"type":"thinking_delta","thinking":"hmm"}})"));
  EXPECT_FALSE(bad.status.ok());
}

TEST(AnthropicStream, ToolInputGivenWholeAtBlockStart) {
  std::string s =
      start() +
      ev("content_block_start", R"({"type":"content_block_start","index":0,"content_block":
                     {"type":"tool_use","id":"t1","name":"f","input":{"a":1}}})") +
      ev("content_block_stop", R"({"type":"content_block_stop","index":0})") +
      ev("content_block_start", R"({"type":"content_block_start","index":1,"content_block":
                     {"type":"tool_use","id":"t2","name":"g","input":{}}})") +
      ev("content_block_stop", R"({"type":"content_block_stop","index":1})") + end("tool_use");
  Outcome r = translate(s);
  ASSERT_TRUE(r.status.ok()) << r.status.to_string();
  ASSERT_EQ(r.chunks.size(), 5u) << dump(r.chunks);
  EXPECT_EQ(r.chunks[2].at("choices").at(0).at("delta"),
            bj::parse(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":1}"}}]})"));
  EXPECT_EQ(r.chunks[3].at("choices").at(0).at("delta").at("tool_calls").at(0).at("index"), 1);
}

TEST(AnthropicStream, OverloadedErrorEventIsRetryable) {
  std::string s =
      start() +
      ev("content_block_start",
         R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})") +
      ev("content_block_delta",
         R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"par"}})") +
      ev("error",
         R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})") +
      ev("content_block_delta",
         R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"never"}})");
  AnthropicAdapter a;
  auto t = a.stream_translator(target(), "r", 1);
  std::vector<bj::object> chunks;
  UpstreamError err;
  Status st = t->feed(s, &chunks, &err);
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_EQ(chunks.size(), 2u);  // the chunks before the error still arrive
  EXPECT_EQ(err.http_status, 503u);
  EXPECT_TRUE(err.retryable);
  EXPECT_EQ(err.message, "Overloaded");
  EXPECT_FALSE(t->done());
  // Sticky: later input and finish() report the same error.
  UpstreamError again;
  EXPECT_EQ(t->feed(end(), &chunks, &again).code(), Code::kUnavailable);
  EXPECT_EQ(again.message, "Overloaded");
  EXPECT_FALSE(t->finish(&chunks, &again).ok());
  EXPECT_EQ(chunks.size(), 2u);
}

TEST(AnthropicStream, ErrorEventTypes) {
  const std::tuple<const char*, unsigned, bool> cases[] = {{"overloaded_error", 503, true},
                                                           {"api_error", 500, true},
                                                           {"rate_limit_error", 429, true},
                                                           {"invalid_request_error", 400, false},
                                                           {"mystery_error", 502, true}};
  for (const auto& [type, status, retryable] : cases) {
    Outcome r = translate(ev("error", std::string(R"({"type":"error","error":{"type":")") + type +
                                          R"(","message":"m"}})"));
    EXPECT_FALSE(r.status.ok()) << type;
    EXPECT_EQ(r.status.code(), retryable ? Code::kUnavailable : Code::kInvalidArgument) << type;
    EXPECT_EQ(r.error.http_status, status) << type;
    EXPECT_EQ(r.error.retryable, retryable) << type;
  }
}

TEST(AnthropicStream, TruncatedStreamFailsAtFinish) {
  const std::string s = read_testdata("anthropic_stream_text_tool.sse");
  const std::size_t stop_at = s.find("event: message_stop");
  ASSERT_NE(stop_at, std::string::npos);
  Outcome r = translate(std::string_view(s).substr(0, stop_at + 10));
  EXPECT_FALSE(r.status.ok());
  EXPECT_EQ(r.error.http_status, 502u);
  EXPECT_NE(r.error.message.find("before message_stop"), std::string::npos);
  EXPECT_EQ(r.chunks.size(), 7u);  // everything up to message_delta was delivered
  r = translate("");
  EXPECT_FALSE(r.status.ok());
  EXPECT_NE(r.error.message.find("before message_start"), std::string::npos);
}

TEST(AnthropicStream, BytesAfterMessageStopAreIgnored) {
  Outcome r = translate(start() + text_block(0, "a") + end() + "garbage\n\n" + ev("error", "{}"));
  EXPECT_TRUE(r.status.ok()) << r.status.to_string();
  EXPECT_TRUE(r.done);
}

TEST(AnthropicStream, ProtocolViolations) {
  const std::string delta0 =
      ev("content_block_delta",
         R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}})");
  const std::string json_delta0 = ev(
      "content_block_delta",
      R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{"}})");
  const std::string text_start0 =
      ev("content_block_start",
         R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})");
  const std::string stop0 = ev("content_block_stop", R"({"type":"content_block_stop","index":0})");
  const std::string cases[] = {
      delta0,                                  // before message_start
      start() + start(),                       // twice
      start() + delta0,                        // unknown block
      start() + text_start0 + text_start0,     // index reused
      start() + text_start0 + stop0 + delta0,  // delta after stop
      start() + text_start0 + json_delta0,     // delta kind mismatch
      start() + ev("content_block_start",
                   R"({"type":"content_block_start","index":-1,"content_block":{"type":"text"}})"),
      start() +
          ev("content_block_start",
             R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use"}})"),
      start() +
          ev("content_block_delta", R"({"type":"content_block_delta","index":"0","delta":{}})"),
      start() + ev("content_block_delta", R"({"type":"content_block_delta","delta":{}})"),
      start() + text_start0 +
          ev("content_block_delta", R"({"type":"content_block_delta","index":0})"),
      start() + ev("message_start", R"({"type":"message_start"})"),
      ev("message_start", R"({"type":"message_start"})"),
      start() + ev("content_block_delta", "{not json"),
      start() + "data: [1]\n\n",
      start() + text_block(0, "a") +
          ev("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"end_turn"}})") +
          ev("content_block_start",
             R"({"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}})"),
  };
  for (const std::string& s : cases) {
    Outcome r = translate(s);
    EXPECT_FALSE(r.status.ok()) << s;
    EXPECT_EQ(r.status.code(), Code::kUnavailable) << s;
    EXPECT_EQ(r.error.http_status, 502u) << s;
    EXPECT_EQ(r.error.code, "upstream_protocol_error") << s;
  }
}

TEST(AnthropicStream, OversizedEventIsRefused) {
  std::string big = start() + "data: " + std::string(5u << 20, 'x');
  Outcome r = translate(std::vector<std::string_view>{big}, /*call_finish=*/false);
  EXPECT_FALSE(r.status.ok());
  EXPECT_EQ(r.error.http_status, 502u);
}

TEST(AnthropicStream, EventTypeComesFromDataOrTheEventField) {
  // Data without "type": the SSE event name decides.
  std::string s =
      ev("message_start", R"({"message":{"usage":{"input_tokens":2}}})") + ev("message_stop", "{}");
  Outcome r = translate(s);
  ASSERT_TRUE(r.status.ok()) << r.status.to_string();
  EXPECT_EQ(r.usage.prompt_tokens, 2);
  EXPECT_EQ(r.chunks.size(), 2u);
  // The model falls back to the target's when message_start names none.
  EXPECT_EQ(r.chunks[0].at("model"), bj::value(target().model));
}

// The exact cache's view of a Messages stream: a whole message replayed as
// events and assembled back is the same message (text, tool_use, thinking
// with its signature, redacted thinking); what cannot replay is refused.
TEST(AnthropicReplay, MessageToEventsAndBack) {
  const auto message = bj::parse(R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4",
      "content":[{"type":"thinking","thinking":"let me see","signature":"sig=="},
                 {"type":"redacted_thinking","data":"opaque"},
                 {"type":"text","text":"Checking."},
                 {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"location":"Paris","days":[1,2]}}],
      "stop_reason":"tool_use","stop_sequence":null,
      "usage":{"input_tokens":10,"output_tokens":7,"cache_read_input_tokens":3}})").as_object();
  const std::string events = anthropic::message_events(message);
  ASSERT_FALSE(events.empty());
  anthropic::MessageAssembler a;
  std::vector<std::string> types;
  for (std::size_t at = 0; (at = events.find("\ndata: ", at)) != std::string::npos; at += 7) {
    auto e = bj::parse(std::string_view(events).substr(at + 7, events.find('\n', at + 1) - at - 7)).as_object();
    types.emplace_back(e.at("type").as_string());
    a.add(e);
    if (types.size() == 1) a.add(bj::object{{"type", "ping"}});  // pings carry nothing
  }
  EXPECT_EQ(types.front(), "message_start");
  EXPECT_EQ(types.back(), "message_stop");
  EXPECT_EQ(std::count(types.begin(), types.end(), "content_block_start"), 4);
  auto back = a.message();
  ASSERT_TRUE(back);
  EXPECT_EQ(bj::value(*back), bj::value(message)) << bj::serialize(*back);

  // Not assembled: a citation, an unknown delta, an error, no message_stop.
  auto assembled = [](std::initializer_list<const char*> evs) {
    anthropic::MessageAssembler m;
    for (const char* e : evs) m.add(bj::parse(e).as_object());
    return m.message().has_value();
  };
  const char* start = R"({"type":"message_start","message":{"id":"m","type":"message","role":"assistant","content":[],"usage":{}}})";
  const char* open_text = R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})";
  const char* stop = R"({"type":"message_stop"})";
  EXPECT_TRUE(assembled({start, open_text, R"({"type":"content_block_stop","index":0})", stop}));
  EXPECT_FALSE(assembled({start, open_text, R"({"type":"content_block_delta","index":0,"delta":{"type":"citations_delta","citation":{}}})", stop}));
  EXPECT_FALSE(assembled({start, R"({"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"s","name":"web_search","input":{}}})", stop}));
  EXPECT_FALSE(assembled({start, open_text, R"({"type":"error","error":{"type":"overloaded_error","message":"x"}})"}));
  EXPECT_FALSE(assembled({start, open_text}));
  EXPECT_FALSE(assembled({open_text, stop}));
  EXPECT_FALSE(assembled({start, R"({"type":"content_block_start","index":3,"content_block":{"type":"text","text":""}})", stop}));
  EXPECT_TRUE(anthropic::message_events(bj::parse(R"({"content":[{"type":"web_search_tool_result"}]})").as_object()).empty());
}

}  // namespace
}  // namespace spectra::ai::testing
