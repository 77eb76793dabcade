#include "cli/document.h"

#include <gtest/gtest.h>

#include "common/json_util.h"

namespace spectra::cli {
namespace {

bj::value parse_ok(std::string_view text, DocFormat f) {
  auto v = parse_document(text, f);
  EXPECT_TRUE(v.ok()) << v.status().to_string();
  return v.ok() ? *v : bj::value();
}

TEST(DocumentFormat, ByExtension) {
  EXPECT_EQ(format_for_path("cfg.json"), DocFormat::kJson);
  EXPECT_EQ(format_for_path("dir.d/cfg.yaml"), DocFormat::kYaml);
  EXPECT_EQ(format_for_path("cfg.yml"), DocFormat::kYaml);
  EXPECT_EQ(format_for_path("-"), DocFormat::kAuto);
  EXPECT_EQ(format_for_path("cfg"), DocFormat::kAuto);
  EXPECT_EQ(format_for_path("json"), DocFormat::kAuto);
}

TEST(ParseDocument, JsonFilesAreStrictJson) {
  EXPECT_EQ(json::canonical(parse_ok(R"({"a": {"b": 1.5}})", DocFormat::kJson)),
            R"({"a":{"b":1.5E0}})");
  auto bad = parse_document("a: 1\n", DocFormat::kJson);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("invalid JSON"), std::string::npos);
}

TEST(ParseDocument, AutoPrefersJsonThenYaml) {
  EXPECT_EQ(parse_ok(R"({"a": "1"})", DocFormat::kAuto).at("a"), bj::value("1"));
  // A YAML flow mapping is not JSON; it is read as YAML.
  EXPECT_EQ(parse_ok("{a: 1}", DocFormat::kAuto).at("a"), bj::value(1));
  EXPECT_EQ(parse_ok("a: true\n", DocFormat::kAuto).at("a"), bj::value(true));
  auto bad = parse_document("{\"a\": [1,\n", DocFormat::kAuto);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line"), std::string::npos) << bad.status().message();
}

TEST(ApplyDocument, SectionsAtTopLevel) {
  auto d =
      to_apply_document(parse_ok("network: {snat: {enabled: true}}\ndns: {}\n", DocFormat::kYaml));
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ(d->sections.size(), 2u);
  EXPECT_FALSE(d->message.has_value());
}

TEST(ApplyDocument, ConfigWrapperWithMessageAndIgnoredRevision) {
  auto d = to_apply_document(
      parse_ok(R"({"revision": 7, "message": "from file", "config": {"network": {"a": 1}}})",
               DocFormat::kJson));
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ(d->sections.size(), 1u);
  EXPECT_TRUE(d->sections.contains("network"));
  EXPECT_EQ(d->message, "from file");
}

TEST(ApplyDocument, RejectsAmbiguousOrEmptyDocuments) {
  auto mixed = to_apply_document(parse_ok("config: {a: 1}\nnetwork: {}\n", DocFormat::kYaml));
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.status().message().find("next to other keys (network)"), std::string::npos);
  EXPECT_FALSE(to_apply_document(parse_ok("config: [1]\n", DocFormat::kYaml)).ok());
  EXPECT_FALSE(to_apply_document(parse_ok("config: {a: 1}\nmessage: 3\n", DocFormat::kYaml)).ok());
  EXPECT_FALSE(to_apply_document(parse_ok("- a\n- b\n", DocFormat::kYaml)).ok());
  EXPECT_FALSE(to_apply_document(parse_ok("{}", DocFormat::kJson)).ok());
  EXPECT_FALSE(to_apply_document(parse_ok(R"({"config": {}})", DocFormat::kJson)).ok());
}

}  // namespace
}  // namespace spectra::cli
