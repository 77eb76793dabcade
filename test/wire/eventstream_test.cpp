// Encoding, known-answer frames and header value types.
#include "wire/eventstream.h"

#include <gtest/gtest.h>

#include "eventstream_test_util.h"

namespace spectra::wire::eventstream {
namespace {

using testing::build_frame;
using testing::put_be;
using testing::raw_header;
using testing::reference_crc32;

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

TEST(EventStream, EmptyMessageKnownAnswer) {
  // Total 16, no headers; prelude CRC 0x05c248eb, message CRC 0x7d98c8ff.
  const std::string frame = from_hex("000000100000000005c248eb7d98c8ff");
  auto encoded = encode(Message{});
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(*encoded, frame);
  auto decoded = decode(frame);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_TRUE(decoded->headers.empty());
  EXPECT_TRUE(decoded->payload.empty());
}

TEST(EventStream, StringHeaderKnownAnswer) {
  // One header ":message-type" = "event", payload {"x":1}. CRCs computed
  // independently with zlib.crc32: prelude 0xa8a7818d, message 0x8705abe6.
  const std::string frame = from_hex(
      "0000002d00000016a8a7818d0d3a6d6573736167652d747970650700056576656e74"
      "7b2278223a317d8705abe6");
  Message m;
  m.headers.push_back({":message-type", std::string("event")});
  m.payload = R"({"x":1})";
  auto encoded = encode(m);
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(*encoded, frame);
  EXPECT_EQ(*encoded, build_frame(testing::string_header(":message-type", "event"), m.payload));
  auto decoded = decode(frame);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, m);
  EXPECT_EQ(decoded->string_header(":message-type"), "event");
}

TEST(EventStream, PreludeCrcComputedFromTheSpec) {
  auto encoded = encode(Message{{{"a", true}}, "payload"});
  ASSERT_TRUE(encoded.ok());
  const std::string& f = *encoded;
  ASSERT_EQ(f.size(), 12u + 3u + 7u + 4u);
  // total 26, headers 3 (len, 'a', type 0), big-endian.
  EXPECT_EQ(f.substr(0, 8), std::string("\0\0\0\x1a\0\0\0\x03", 8));
  std::string crc;
  put_be(&crc, reference_crc32(f.substr(0, 8)), 4);
  EXPECT_EQ(f.substr(8, 4), crc);
  crc.clear();
  put_be(&crc, reference_crc32(f.substr(0, f.size() - 4)), 4);
  EXPECT_EQ(f.substr(f.size() - 4), crc);
}

TEST(EventStream, AllTenHeaderValueTypesDecodeFromHandBuiltBytes) {
  std::string h;
  h += raw_header("t", 0, "");
  h += raw_header("f", 1, "");
  h += raw_header("byte", 2, "\xfe");
  h += raw_header("short", 3, std::string("\x80\x01", 2));
  h += raw_header("int", 4, std::string("\x12\x34\x56\x78", 4));
  h += raw_header("long", 5, std::string("\xff\xff\xff\xff\xff\xff\xff\xfe", 8));
  h += raw_header("bytes", 6, std::string("\x00\x03\x00\x01\xff", 5));
  h += raw_header("str", 7, std::string("\x00\x02hi", 4));
  h += raw_header("ts", 8, std::string("\x00\x00\x01\x8e\x8f\x7f\x2c\x00", 8));
  std::string uuid;
  for (int i = 0; i < 16; ++i) uuid.push_back(static_cast<char>(0xA0 + i));
  h += raw_header("uuid", 9, uuid);
  const std::string frame = build_frame(h, "body");

  auto m = decode(frame);
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  ASSERT_EQ(m->headers.size(), 10u);
  Uuid want_uuid;
  for (int i = 0; i < 16; ++i) want_uuid.bytes[i] = static_cast<std::uint8_t>(0xA0 + i);
  const std::vector<Header> want = {
      {"t", true},
      {"f", false},
      {"byte", std::int8_t{-2}},
      {"short", std::int16_t{-32767}},
      {"int", std::int32_t{0x12345678}},
      {"long", std::int64_t{-2}},
      {"bytes", Bytes{std::string("\x00\x01\xff", 3)}},
      {"str", std::string("hi")},
      {"ts", Timestamp{0x0000018e8f7f2c00}},
      {"uuid", want_uuid},
  };
  EXPECT_EQ(m->headers, want);
  EXPECT_EQ(m->payload, "body");

  // The encoder writes exactly the same bytes back.
  auto re = encode(*m);
  ASSERT_TRUE(re.ok());
  EXPECT_EQ(*re, frame);
}

TEST(EventStream, HeaderTypeFollowsTheHeldAlternative) {
  EXPECT_EQ(header_type(true), HeaderType::kBoolTrue);
  EXPECT_EQ(header_type(false), HeaderType::kBoolFalse);
  EXPECT_EQ(header_type(std::int8_t{1}), HeaderType::kByte);
  EXPECT_EQ(header_type(std::int16_t{1}), HeaderType::kShort);
  EXPECT_EQ(header_type(std::int32_t{1}), HeaderType::kInt);
  EXPECT_EQ(header_type(std::int64_t{1}), HeaderType::kLong);
  EXPECT_EQ(header_type(Bytes{}), HeaderType::kBytes);
  EXPECT_EQ(header_type(std::string()), HeaderType::kString);
  EXPECT_EQ(header_type(Timestamp{}), HeaderType::kTimestamp);
  EXPECT_EQ(header_type(Uuid{}), HeaderType::kUuid);
}

TEST(EventStream, ExtremeValuesRoundTrip) {
  Message m;
  m.headers = {{"i8", std::int8_t{-128}},
               {"i16", std::int16_t{32767}},
               {"i32", std::int32_t{-2147483647 - 1}},
               {"i64", std::int64_t{INT64_MIN}},
               {"ts", Timestamp{-1}},
               {"empty", std::string()},
               {"emptyb", Bytes{}},
               {std::string(255, 'n'), std::string(65535, 'v')},
               {"dup", true},
               {"dup", false}};
  m.payload = std::string("\0\xff binary", 9);
  auto e = encode(m);
  ASSERT_TRUE(e.ok());
  auto d = decode(*e);
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ(*d, m);
  // Lookups return the first of repeated names.
  ASSERT_NE(d->find_header("dup"), nullptr);
  EXPECT_EQ(*d->find_header("dup"), HeaderValue(true));
  EXPECT_EQ(d->find_header("missing"), nullptr);
  EXPECT_EQ(d->string_header("dup"), std::nullopt);  // not a string
}

TEST(EventStream, EncoderRejectsWhatTheFormatCannotCarry) {
  std::string out = "keep";
  EXPECT_EQ(encode(Message{{{"", true}}, ""}, &out).code(), Code::kInvalidArgument);
  EXPECT_FALSE(encode(Message{{{std::string(256, 'n'), true}}, ""}).ok());
  EXPECT_FALSE(encode(Message{{{"s", std::string(65536, 'v')}}, ""}).ok());
  EXPECT_FALSE(encode(Message{{{"b", Bytes{std::string(65536, 'v')}}}, ""}).ok());
  EXPECT_EQ(out, "keep");
}

TEST(EventStream, EncodeAppends) {
  std::string out;
  ASSERT_TRUE(encode(Message{{}, "a"}, &out).ok());
  ASSERT_TRUE(encode(Message{{}, "b"}, &out).ok());
  EXPECT_EQ(out.size(), 2u * 17u);
  EXPECT_EQ(out.substr(17), *encode(Message{{}, "b"}));
}

TEST(EventStream, BedrockStyleEvent) {
  Message m;
  m.headers = {{":event-type", std::string("contentBlockDelta")},
               {":content-type", std::string("application/json")},
               {":message-type", std::string("event")}};
  m.payload = R"({"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcd"})";
  auto d = decode(*encode(m));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->string_header(":event-type"), "contentBlockDelta");
  EXPECT_EQ(d->string_header(":message-type"), "event");
  EXPECT_EQ(d->payload, m.payload);
}

}  // namespace
}  // namespace spectra::wire::eventstream
