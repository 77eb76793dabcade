// The client's labels of a call for the audit record: the end user a body
// names, and the x-spectra-metadata header.
#include "ai/call_labels.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <string>

namespace spectra::ai {
namespace {

namespace bj = boost::json;

bj::object body(const std::string& json) { return bj::parse(json).as_object(); }

TEST(CallLabels, TheEndUserIsTheBodysSafetyIdentifierUserOrAnthropicUserId) {
  EXPECT_EQ(end_user_of(body(R"({"model":"m","user":"u-42"})")), "u-42");
  EXPECT_EQ(end_user_of(body(R"({"user":"old","safety_identifier":"hashed-7"})")), "hashed-7") << "the newer field first";
  EXPECT_EQ(end_user_of(body(R"({"safety_identifier":"","user":"u-1"})")), "u-1") << "an empty one names no one";
  EXPECT_EQ(end_user_of(body(R"({"metadata":{"user_id":"claude-code-session-9"}})")), "claude-code-session-9");
  EXPECT_EQ(end_user_of(body(R"({"user":17,"metadata":{"user_id":["x"]}})")), "");
  EXPECT_EQ(end_user_of(body(R"({"metadata":"not an object"})")), "");
  EXPECT_EQ(end_user_of(body("{}")), "");
  // Long: cut at kMaxEndUserBytes, never inside a character.
  const std::string ascii(300, 'a');
  EXPECT_EQ(end_user_of(body(R"({"user":")" + ascii + R"("})")), std::string(kMaxEndUserBytes, 'a'));
  std::string accented = std::string(255, 'a') + "\xC3\xA9" + "tail";  // é spans bytes 255 and 256
  const std::string cut = end_user_of(body(R"({"user":")" + accented + R"("})"));
  EXPECT_EQ(cut, std::string(255, 'a'));
  std::string euros;
  for (int i = 0; i < 100; ++i) euros += "\xE2\x82\xAC";  // 3 bytes each: 85 fit in 256 (255 bytes)
  EXPECT_EQ(end_user_of(body(R"({"user":")" + euros + R"("})")).size(), 255u);
}

TEST(CallLabels, MetadataIsAFlatObjectOfShortStrings) {
  EXPECT_EQ(*metadata_of_header(""), "");
  EXPECT_EQ(*metadata_of_header(R"( {"app": "search", "cost_centre": "cc-104"} )"), R"({"app":"search","cost_centre":"cc-104"})");
  EXPECT_EQ(*metadata_of_header("{}"), "{}");
  for (const std::string bad : {"search", "[\"a\"]", "{\"app\":", "{\"n\":1}", "{\"nested\":{\"a\":\"b\"}}", "{\"\":\"empty key\"}",
                                "{\"a\":null}", "\"string\""}) {
    auto r = metadata_of_header(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("x-spectra-metadata must be"), std::string::npos) << r.status().message();
  }
  std::string many = "{";
  for (std::size_t i = 0; i <= kMaxMetadataEntries; ++i) many += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":\"v\"";
  many += "}";
  EXPECT_FALSE(metadata_of_header(many).ok()) << "17 entries";
  EXPECT_FALSE(metadata_of_header(R"({")" + std::string(kMaxMetadataKeyBytes + 1, 'k') + R"(":"v"})").ok());
  EXPECT_TRUE(metadata_of_header(R"({")" + std::string(kMaxMetadataKeyBytes, 'k') + R"(":"v"})").ok());
  EXPECT_FALSE(metadata_of_header(R"({"k":")" + std::string(kMaxMetadataValueBytes + 1, 'v') + R"("})").ok());
  EXPECT_TRUE(metadata_of_header(R"({"k":")" + std::string(kMaxMetadataValueBytes, 'v') + R"("})").ok());
  EXPECT_FALSE(metadata_of_header("{\"k\":\"\xFF\"}").ok()) << "not UTF-8";
  // What goes into the record is JSON again, whatever the header's escapes.
  auto escaped = metadata_of_header(R"({"q":"a\"b\u00e9\n"})");
  ASSERT_TRUE(escaped.ok());
  EXPECT_EQ(bj::parse(*escaped).at("q").as_string(), "a\"b\xC3\xA9\n");
}

}  // namespace
}  // namespace spectra::ai
