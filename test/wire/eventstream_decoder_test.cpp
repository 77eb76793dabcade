// The incremental decoder: chunking, corruption, truncation and limits.
#include <gtest/gtest.h>

#include "eventstream_test_util.h"
#include "wire/eventstream.h"

namespace spectra::wire::eventstream {
namespace {

using testing::build_frame;
using testing::raw_header;
using testing::string_header;

std::vector<Message> sample_messages() {
  std::vector<Message> ms;
  ms.push_back({{{":message-type", std::string("event")}, {":event-type", std::string("start")}},
                R"({"role":"assistant"})"});
  ms.push_back({{}, ""});
  ms.push_back({{{"n", std::int32_t{7}}, {"u", Uuid{}}, {"b", Bytes{"\x01\x02"}}}, "x"});
  ms.push_back({{{":message-type", std::string("event")}}, std::string(300, 'p')});
  return ms;
}

std::string encode_all(const std::vector<Message>& ms) {
  std::string out;
  for (const Message& m : ms) EXPECT_TRUE(encode(m, &out).ok());
  return out;
}

TEST(EventStreamDecoder, WholeStreamInOneChunk) {
  const auto ms = sample_messages();
  Decoder d;
  std::vector<Message> out;
  ASSERT_TRUE(d.feed(encode_all(ms), &out).ok());
  EXPECT_EQ(out, ms);
  EXPECT_TRUE(d.finish().ok());
  EXPECT_EQ(d.buffered_bytes(), 0u);
}

TEST(EventStreamDecoder, SplitAtEveryOffset) {
  const auto ms = sample_messages();
  const std::string stream = encode_all(ms);
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    Decoder d;
    std::vector<Message> out;
    ASSERT_TRUE(d.feed(std::string_view(stream).substr(0, cut), &out).ok()) << cut;
    ASSERT_TRUE(d.feed(std::string_view(stream).substr(cut), &out).ok()) << cut;
    ASSERT_EQ(out, ms) << cut;
    ASSERT_TRUE(d.finish().ok()) << cut;
  }
}

TEST(EventStreamDecoder, SplitIntoThreeAtEveryPairOfOffsets) {
  const std::vector<Message> ms = {sample_messages()[0], sample_messages()[2]};
  const std::string stream = encode_all(ms);
  const std::string_view s = stream;
  for (std::size_t a = 0; a <= s.size(); ++a) {
    for (std::size_t b = a; b <= s.size(); ++b) {
      Decoder d;
      std::vector<Message> out;
      ASSERT_TRUE(d.feed(s.substr(0, a), &out).ok());
      ASSERT_TRUE(d.feed(s.substr(a, b - a), &out).ok());
      ASSERT_TRUE(d.feed(s.substr(b), &out).ok());
      ASSERT_EQ(out, ms) << a << "," << b;
    }
  }
}

TEST(EventStreamDecoder, ByteByByte) {
  const auto ms = sample_messages();
  const std::string stream = encode_all(ms);
  Decoder d;
  std::vector<Message> out;
  std::size_t completed_at_prev = 0;
  for (std::size_t i = 0; i < stream.size(); ++i) {
    ASSERT_TRUE(d.feed(std::string_view(stream).substr(i, 1), &out).ok()) << i;
    // A message appears exactly when its last byte arrives.
    if (out.size() != completed_at_prev) {
      std::size_t end = 0;
      for (std::size_t k = 0; k < out.size(); ++k) end += encode(ms[k])->size();
      EXPECT_EQ(end, i + 1);
      completed_at_prev = out.size();
    }
  }
  EXPECT_EQ(out, ms);
  EXPECT_TRUE(d.finish().ok());
}

TEST(EventStreamDecoder, EmptyFeedIsHarmless) {
  Decoder d;
  std::vector<Message> out;
  EXPECT_TRUE(d.feed("", &out).ok());
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(d.finish().ok());
}

TEST(EventStreamDecoder, CorruptedPreludeCrc) {
  std::string f = *encode(sample_messages()[0]);
  f[9] = static_cast<char>(f[9] ^ 0x01);
  Decoder d;
  std::vector<Message> out;
  Status s = d.feed(f, &out);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("prelude CRC mismatch"), std::string::npos) << s.message();
  EXPECT_TRUE(out.empty());
}

TEST(EventStreamDecoder, CorruptedLengthIsCaughtByThePreludeCrc) {
  std::string f = *encode(sample_messages()[0]);
  f[3] = static_cast<char>(f[3] + 1);
  Decoder d;
  std::vector<Message> out;
  // Detected after 12 bytes, before the decoder waits for a wrong length.
  Status s = d.feed(std::string_view(f).substr(0, 12), &out);
  EXPECT_NE(s.message().find("prelude CRC mismatch"), std::string::npos) << s.message();
}

TEST(EventStreamDecoder, CorruptedMessageCrcAnywhereAfterThePrelude) {
  const std::string good = *encode(sample_messages()[2]);
  for (std::size_t i = 12; i < good.size(); ++i) {
    std::string f = good;
    f[i] = static_cast<char>(f[i] ^ 0x40);
    Decoder d;
    std::vector<Message> out;
    Status s = d.feed(f, &out);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << i;
    EXPECT_NE(s.message().find("message CRC mismatch"), std::string::npos) << i << s.message();
    EXPECT_TRUE(out.empty());
  }
}

TEST(EventStreamDecoder, ErrorIsFinalAndEarlierMessagesAreKept) {
  const auto ms = sample_messages();
  std::string stream = encode_all({ms[0], ms[1]});
  std::string bad = *encode(ms[2]);
  bad.back() = static_cast<char>(bad.back() ^ 1);
  stream += bad;
  Decoder d;
  std::vector<Message> out;
  Status s = d.feed(stream, &out);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(out, (std::vector<Message>{ms[0], ms[1]}));
  EXPECT_TRUE(d.failed());
  // Later input, even valid, gets the same error.
  Status again = d.feed(*encode(ms[0]), &out);
  EXPECT_EQ(again.message(), s.message());
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(d.finish().message(), s.message());
}

TEST(EventStreamDecoder, TruncatedStream) {
  const std::string f = *encode(sample_messages()[0]);
  for (std::size_t len = 1; len < f.size(); ++len) {
    Decoder d;
    std::vector<Message> out;
    ASSERT_TRUE(d.feed(std::string_view(f).substr(0, len), &out).ok()) << len;
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(d.buffered_bytes(), len);
    Status s = d.finish();
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << len;
    EXPECT_NE(s.message().find("ended inside a message"), std::string::npos);
  }
}

TEST(EventStreamDecoder, OversizeMessageRejectedFromThePrelude) {
  // Claims 16 MiB + 1 bytes; only the 12-byte prelude is ever sent.
  const std::string f = build_frame("", "", (16 << 20) + 1);
  Decoder d;
  std::vector<Message> out;
  Status s = d.feed(std::string_view(f).substr(0, 12), &out);
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_NE(s.message().find("exceeds the limit"), std::string::npos);
}

TEST(EventStreamDecoder, ConfigurableLimits) {
  Message m{{{"h", std::string(100, 'v')}}, std::string(1000, 'p')};
  const std::string f = *encode(m);
  {
    Decoder d(DecoderLimits{static_cast<std::uint32_t>(f.size()), 1 << 10});
    std::vector<Message> out;
    EXPECT_TRUE(d.feed(f, &out).ok());
    EXPECT_EQ(out.size(), 1u);
  }
  {
    Decoder d(DecoderLimits{static_cast<std::uint32_t>(f.size() - 1), 1 << 10});
    std::vector<Message> out;
    EXPECT_EQ(d.feed(f, &out).code(), Code::kResourceExhausted);
  }
  {
    Decoder d(DecoderLimits{1 << 20, 50});
    std::vector<Message> out;
    Status s = d.feed(f, &out);
    EXPECT_EQ(s.code(), Code::kResourceExhausted);
    EXPECT_NE(s.message().find("header block"), std::string::npos);
  }
}

TEST(EventStreamDecoder, MalformedPreludeLengths) {
  struct Case {
    std::int64_t total, headers_len;
    const char* why;
  };
  const Case cases[] = {
      {0, 0, "below the 16-byte minimum"},
      {15, 0, "below the 16-byte minimum"},
      {16, 1, "does not fit"},
      {20, 5, "does not fit"},
      {20, 0xFFFFFFFF, "does not fit"},
  };
  for (const Case& c : cases) {
    const std::string f = build_frame("", "", c.total, c.headers_len);
    Decoder d;
    std::vector<Message> out;
    Status s = d.feed(f, &out);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << c.why;
    EXPECT_NE(s.message().find(c.why), std::string::npos) << s.message();
  }
}

TEST(EventStreamDecoder, MalformedHeadersWithValidCrcs) {
  const std::pair<std::string, const char*> cases[] = {
      {std::string("\0", 1), "empty header name"},
      {"\x05" "ab", "overruns"},                   // name longer than the block
      {"\x02" "ab", "overruns"},                   // no room for the type byte
      {raw_header("x", 10, ""), "unknown header value type 10"},
      {raw_header("x", 255, ""), "unknown header value type 255"},
      {raw_header("x", 2, ""), "needs 1 bytes"},
      {raw_header("x", 3, "\x01"), "needs 2 bytes"},
      {raw_header("x", 4, "\x01\x02\x03"), "needs 4 bytes"},
      {raw_header("x", 5, "1234567"), "needs 8 bytes"},
      {raw_header("x", 8, "1234567"), "needs 8 bytes"},
      {raw_header("x", 9, "123456789012345"), "needs 16 bytes"},
      {raw_header("x", 7, "\x01"), "needs 2 bytes"},
      {raw_header("x", 7, std::string("\x00\x05" "abcd", 6)), "exceeds"},
      {raw_header("x", 6, std::string("\xff\xff", 2)), "exceeds"},
      {string_header("ok", "v") + std::string("\x01", 1), "overruns"},
  };
  for (const auto& [headers, why] : cases) {
    // Payload bytes after the header block must not be read as header bytes.
    const std::string f = build_frame(headers, "payload-bytes-here");
    Decoder d;
    std::vector<Message> out;
    Status s = d.feed(f, &out);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << why;
    EXPECT_NE(s.message().find(why), std::string::npos) << why << " vs " << s.message();
  }
}

TEST(EventStreamDecoder, DecodeSingleFrameHelper) {
  const auto ms = sample_messages();
  EXPECT_FALSE(decode(encode_all({ms[0], ms[1]})).ok());  // two messages
  EXPECT_FALSE(decode("").ok());
  EXPECT_FALSE(decode(encode(ms[0])->substr(1)).ok());
  EXPECT_EQ(*decode(*encode(ms[3])), ms[3]);
}

}  // namespace
}  // namespace spectra::wire::eventstream
