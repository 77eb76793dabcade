// SSE parsing per the WHATWG event stream interpretation, and the encoder.
#include "wire/sse.h"

#include <gtest/gtest.h>

#include "sse_test_util.h"

namespace spectra::wire::sse {
namespace {

std::vector<Event> parse_all(std::string_view text, Parser* parser = nullptr) {
  Parser local;
  Parser& p = parser != nullptr ? *parser : local;
  std::vector<Event> out;
  Status s = p.feed(text, &out);
  EXPECT_TRUE(s.ok()) << s.to_string();
  return out;
}

Event ev(std::string type, std::string data, std::string id = "") {
  return {std::move(type), std::move(data), std::move(id)};
}

TEST(Sse, SpecExampleStockTicker) {
  EXPECT_EQ(parse_all("data: YHOO\ndata: +2\ndata: 10\n\n"),
            std::vector<Event>{ev("message", "YHOO\n+2\n10")});
}

TEST(Sse, SpecExampleCommentsAndIds) {
  Parser p;
  const auto events = parse_all(
      ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\n"
      "data:  third event\n\n",
      &p);
  EXPECT_EQ(events, (std::vector<Event>{ev("message", "first event", "1"),
                                        ev("message", "second event", ""),
                                        ev("message", " third event", "")}));
  EXPECT_EQ(p.last_event_id(), "");
}

TEST(Sse, SpecExampleEmptyData) {
  Parser p;
  // The last block has no blank line after it, so it never fires.
  EXPECT_EQ(parse_all("data\n\ndata\ndata\n\ndata:", &p),
            (std::vector<Event>{ev("message", ""), ev("message", "\n")}));
  EXPECT_TRUE(p.has_pending());
}

TEST(Sse, SpecExampleSpaceAfterColonIsOptional) {
  EXPECT_EQ(parse_all("data:test\n\ndata: test\n\n"),
            (std::vector<Event>{ev("message", "test"), ev("message", "test")}));
}

TEST(Sse, SpecExampleEventTypes) {
  EXPECT_EQ(parse_all("event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\n"
                      "event: add\ndata: 113411\n\n"),
            (std::vector<Event>{ev("add", "73857293"), ev("remove", "2153"),
                                ev("add", "113411")}));
}

TEST(Sse, AnthropicStyleStream) {
  EXPECT_EQ(parse_all("event: message_start\r\ndata: {\"type\":\"message_start\"}\r\n\r\n"
                      "event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\n"),
            (std::vector<Event>{ev("message_start", R"({"type":"message_start"})"),
                                ev("ping", R"({"type": "ping"})")}));
}

TEST(Sse, FieldParsingDetails) {
  EXPECT_EQ(parse_all("data: a:b\n\n"), std::vector<Event>{ev("message", "a:b")});
  EXPECT_EQ(parse_all("data:\tx\n\n"), std::vector<Event>{ev("message", "\tx")});
  EXPECT_EQ(parse_all("data:   \n\n"), std::vector<Event>{ev("message", "  ")});
  // Field names are case-sensitive; unknown fields are ignored.
  EXPECT_TRUE(parse_all("Data: x\n\nfoo: bar\n\n").empty());
  // Only the first colon splits.
  EXPECT_EQ(parse_all("event::x\ndata\n\n"), std::vector<Event>{ev(":x", "")});
  // A type without data fires nothing, and the type does not leak into the next event.
  EXPECT_EQ(parse_all("event: lonely\n\ndata: x\n\n"), std::vector<Event>{ev("message", "x")});
  // An empty event field means the default type.
  EXPECT_EQ(parse_all("event\ndata: x\n\n"), std::vector<Event>{ev("message", "x")});
  // The last event field wins.
  EXPECT_EQ(parse_all("event: a\nevent: b\ndata: x\n\n"), std::vector<Event>{ev("b", "x")});
}

TEST(Sse, CommentsAreIgnoredAnywhere) {
  EXPECT_EQ(parse_all(":\n: keep-alive\ndata: a\n: inside\ndata: b\n\n:tail\n"),
            std::vector<Event>{ev("message", "a\nb")});
}

TEST(Sse, LastEventIdPersistsAcrossEvents) {
  Parser p;
  EXPECT_EQ(parse_all("id: 7\ndata: a\n\ndata: b\n\nid: 8\n\ndata: c\n\n", &p),
            (std::vector<Event>{ev("message", "a", "7"), ev("message", "b", "7"),
                                ev("message", "c", "8")}));
  EXPECT_EQ(p.last_event_id(), "8");
}

TEST(Sse, IdWithNulIsIgnored) {
  Parser p;
  const std::string text = std::string("id: 1\n\nid: a\0b\ndata: x\n\n", 24);
  EXPECT_EQ(parse_all(text, &p), std::vector<Event>{ev("message", "x", "1")});
}

TEST(Sse, Retry) {
  Parser p;
  EXPECT_EQ(p.retry_ms(), std::nullopt);
  parse_all("retry: 1500\n", &p);
  EXPECT_EQ(p.retry_ms(), 1500u);
  for (const char* bad : {"retry: 15a\n", "retry:\n", "retry: -1\n", "retry:  5\n", "retry: 1.5\n",
                          "retry: 99999999999999999999999\n"}) {
    parse_all(bad, &p);
    EXPECT_EQ(p.retry_ms(), 1500u) << bad;
  }
  parse_all("retry:18446744073709551615\n", &p);
  EXPECT_EQ(p.retry_ms(), 18446744073709551615u);
}

TEST(Sse, ByteOrderMarkOnlyAtStreamStart) {
  EXPECT_EQ(parse_all("\xEF\xBB\xBF" "data: x\n\n"), std::vector<Event>{ev("message", "x")});
  // A second BOM is part of the first field name, which is then unknown.
  EXPECT_TRUE(parse_all("\xEF\xBB\xBF\xEF\xBB\xBF" "data: x\n\n").empty());
  // A BOM prefix that is not a BOM is ordinary bytes.
  EXPECT_TRUE(parse_all("\xEF\xBB" "data: x\n\n").empty());
  EXPECT_EQ(parse_all("\xEF\xBB\n\ndata: y\n\n"), std::vector<Event>{ev("message", "y")});
  // Split BOM.
  Parser p;
  std::vector<Event> out;
  ASSERT_TRUE(p.feed("\xEF", &out).ok());
  EXPECT_TRUE(p.has_pending());
  ASSERT_TRUE(p.feed("\xBB", &out).ok());
  ASSERT_TRUE(p.feed("\xBF" "data: z\n\n", &out).ok());
  EXPECT_EQ(out, std::vector<Event>{ev("message", "z")});
}

TEST(Sse, UnterminatedEventIsDiscarded) {
  Parser p;
  EXPECT_TRUE(parse_all("data: x\n", &p).empty());
  EXPECT_TRUE(p.has_pending());
  EXPECT_EQ(parse_all("\n", &p), std::vector<Event>{ev("message", "x")});
  EXPECT_FALSE(p.has_pending());
}

TEST(Sse, LimitOnBufferedEvent) {
  ParserLimits limits{16};
  {
    Parser p(limits);  // one long line
    std::vector<Event> out;
    Status s = p.feed("data: 0123456789abcdef\n\n", &out);
    EXPECT_EQ(s.code(), Code::kResourceExhausted);
    EXPECT_NE(s.message().find("limit of 16"), std::string::npos);
  }
  {
    Parser p(limits);  // many short data lines
    std::vector<Event> out;
    EXPECT_EQ(p.feed("data: 0123\ndata: 4567\ndata: 89ab\n\n", &out).code(),
              Code::kResourceExhausted);
  }
  {
    Parser p(limits);  // a line that never ends, byte by byte
    std::vector<Event> out;
    Status s;
    int fed = 0;
    while (s.ok() && fed < 100) {
      s = p.feed(":", &out);
      ++fed;
    }
    EXPECT_EQ(s.code(), Code::kResourceExhausted);
    EXPECT_EQ(fed, 17);
  }
  {
    Parser p(limits);  // the limit is per event: many small events are fine
    std::vector<Event> out;
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(p.feed("data: 0123456789\n\n", &out).ok());
    EXPECT_EQ(out.size(), 100u);
  }
  {
    Parser p(limits);  // exactly at the limit is allowed; errors are final
    std::vector<Event> out;
    ASSERT_TRUE(p.feed("data:0123456789a\n\n", &out).ok());
    EXPECT_EQ(out.size(), 1u);
    Status s = p.feed("data: 0123456789abcdef\n\n", &out);
    EXPECT_FALSE(s.ok());
    EXPECT_TRUE(p.failed());
    EXPECT_EQ(p.feed("data: x\n\n", &out).message(), s.message());
    EXPECT_EQ(out.size(), 1u);
  }
}

TEST(SseEncode, ExactOutput) {
  EXPECT_EQ(*encode(ev("", "hello")), "data: hello\n\n");
  EXPECT_EQ(*encode(ev("delta", "a\nb", "42")), "event: delta\nid: 42\ndata: a\ndata: b\n\n");
  EXPECT_EQ(*encode(ev("", "")), "data:\n\n");
  EXPECT_EQ(*encode(ev("", "\n")), "data:\ndata:\n\n");
  std::string out;
  ASSERT_TRUE(encode_comment("keep-alive", &out).ok());
  ASSERT_TRUE(encode_comment("", &out).ok());
  encode_retry(3000, &out);
  EXPECT_EQ(out, ": keep-alive\n:\nretry: 3000\n\n");
}

TEST(SseEncode, RoundTrips) {
  const std::vector<Event> events = {
      ev("message", "plain"),          ev("message", ""),
      ev("message", "\n\n"),           ev("x", " leading space", "id 1"),
      ev("message", ": not a comment"), ev("message", "{\"a\":\"b\"}\nline2\n"),
      ev("e", std::string("nul\0inside", 10), "7")};
  for (const Event& e : events) {
    auto encoded = encode(e);
    ASSERT_TRUE(encoded.ok());
    EXPECT_EQ(parse_all(*encoded), std::vector<Event>{e});
  }
  // In one stream an id carries over to later events that set none.
  std::string stream;
  ASSERT_TRUE(encode(ev("a", "1", "x"), &stream).ok());
  ASSERT_TRUE(encode(ev("b", "2"), &stream).ok());
  EXPECT_EQ(parse_all(stream), (std::vector<Event>{ev("a", "1", "x"), ev("b", "2", "x")}));
}

TEST(SseEncode, RejectsWhatCannotBeRepresented) {
  std::string out = "keep";
  EXPECT_EQ(encode(ev("a\nb", "x"), &out).code(), Code::kInvalidArgument);
  EXPECT_FALSE(encode(ev("a\rb", "x")).ok());
  EXPECT_FALSE(encode(ev("", "x", "1\n2")).ok());
  EXPECT_FALSE(encode(ev("", "x", std::string("1\0", 2))).ok());
  EXPECT_FALSE(encode(ev("", "a\r\nb")).ok());
  EXPECT_FALSE(encode_comment("a\nb", &out).ok());
  EXPECT_EQ(out, "keep");
}

}  // namespace
}  // namespace spectra::wire::sse
