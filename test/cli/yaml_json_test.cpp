#include "cli/yaml_json.h"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <cstdint>
#include <limits>

#include "common/json_util.h"

namespace spectra::cli {
namespace {

bj::value yaml(const std::string& text) {
  auto v = yaml_to_json(text);
  EXPECT_TRUE(v.ok()) << text << " -> " << v.status().to_string();
  return v.ok() ? *v : bj::value();
}

std::string yaml_error(const std::string& text, const YamlLimits& limits = {}) {
  auto v = yaml_to_json(text, limits);
  EXPECT_FALSE(v.ok()) << text << " unexpectedly parsed as " << (v.ok() ? bj::serialize(*v) : "");
  return v.ok() ? "" : v.status().message();
}

// The value of key "v" in "v: <scalar>".
bj::value scalar(const std::string& text) {
  bj::value doc = yaml("v: " + text);
  return doc.is_object() ? doc.at("v") : bj::value();
}

TEST(YamlToJson, PlainScalarsTakeCoreSchemaTypes) {
  EXPECT_TRUE(scalar("~").is_null());
  EXPECT_TRUE(scalar("null").is_null());
  EXPECT_TRUE(scalar("NULL").is_null());
  EXPECT_TRUE(yaml("v:").at("v").is_null());
  EXPECT_EQ(scalar("true"), bj::value(true));
  EXPECT_EQ(scalar("false"), bj::value(false));
  EXPECT_EQ(scalar("True"), bj::value(true));
  ASSERT_TRUE(scalar("42").is_int64());
  EXPECT_EQ(scalar("42").get_int64(), 42);
  EXPECT_EQ(scalar("-7").get_int64(), -7);
  EXPECT_EQ(scalar("+7").get_int64(), 7);
  EXPECT_EQ(scalar("0x1F").get_int64(), 31);
  EXPECT_EQ(scalar("0o17").get_int64(), 15);
  ASSERT_TRUE(scalar("1.5").is_double());
  EXPECT_DOUBLE_EQ(scalar("1.5").get_double(), 1.5);
  EXPECT_DOUBLE_EQ(scalar("-0.25").get_double(), -0.25);
  EXPECT_DOUBLE_EQ(scalar("1e3").get_double(), 1000.0);
  EXPECT_DOUBLE_EQ(scalar(".5").get_double(), 0.5);
  EXPECT_DOUBLE_EQ(scalar("2.").get_double(), 2.0);
  EXPECT_TRUE(scalar("2.0").is_double());
}

TEST(YamlToJson, Yaml11BooleansAndLookalikesStayStrings) {
  for (const char* s : {"yes", "no", "on", "off", "y", "n", "tRuE", "1.2.3", "10.0.0.1", "0x",
                        "0o8", "1e", "- 3", "12abc", "0b101", "1_000"}) {
    bj::value v = scalar(std::string("'") + s + "'");
    EXPECT_EQ(v, bj::value(s)) << "quoted " << s;
    if (std::string(s) == "- 3") continue;  // plain "- 3" is a sequence, not a scalar
    EXPECT_EQ(scalar(s), bj::value(s)) << "plain " << s;
  }
}

TEST(YamlToJson, QuotedAndBlockScalarsStayStrings) {
  EXPECT_EQ(scalar("\"123\""), bj::value("123"));
  EXPECT_EQ(scalar("'true'"), bj::value("true"));
  EXPECT_EQ(scalar("\"null\""), bj::value("null"));
  EXPECT_EQ(scalar("\"\""), bj::value(""));
  EXPECT_EQ(scalar("\"1.5\""), bj::value("1.5"));
  EXPECT_EQ(yaml("v: |\n  42\n").at("v"), bj::value("42\n"));
  EXPECT_EQ(yaml("v: >-\n  true\n").at("v"), bj::value("true"));
}

TEST(YamlToJson, IntegerRangeIs64Bits) {
  EXPECT_EQ(scalar("9223372036854775807").get_int64(), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(scalar("-9223372036854775808").get_int64(), std::numeric_limits<std::int64_t>::min());
  bj::value big = scalar("18446744073709551615");
  ASSERT_TRUE(big.is_uint64());
  EXPECT_EQ(big.get_uint64(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_NE(yaml_error("v: 18446744073709551616").find("does not fit in 64 bits"),
            std::string::npos);
  EXPECT_NE(yaml_error("v: -9223372036854775809").find("does not fit"), std::string::npos);
}

TEST(YamlToJson, InfinityAndNanAreRefused) {
  std::string e = yaml_error("a:\n  b: .inf\n");
  EXPECT_NE(e.find("line 2"), std::string::npos) << e;
  EXPECT_NE(e.find("cannot be represented in JSON"), std::string::npos) << e;
  yaml_error("v: -.Inf");
  yaml_error("v: .nan");
  EXPECT_EQ(scalar("'.nan'"), bj::value(".nan"));
}

TEST(YamlToJson, ExplicitTags) {
  EXPECT_EQ(scalar("!!str 123"), bj::value("123"));
  EXPECT_EQ(scalar("!!str true"), bj::value("true"));
  EXPECT_EQ(scalar("!!int \"12\"").get_int64(), 12);
  ASSERT_TRUE(scalar("!!float 1").is_double());
  EXPECT_DOUBLE_EQ(scalar("!!float 1").get_double(), 1.0);
  EXPECT_EQ(scalar("!!bool \"true\""), bj::value(true));
  EXPECT_NE(yaml_error("v: !!int abc").find("not a valid !!int"), std::string::npos);
  EXPECT_NE(yaml_error("v: !custom x").find("unsupported YAML tag"), std::string::npos);
}

TEST(YamlToJson, NestedDocumentKeepsStructureAndOrder) {
  bj::value v = yaml(R"(
network:
  snat:
    enabled: true
    to_address: "10.0.0.5"
    ports: [80, 443]
  dns:
    servers:
      - 10.0.0.2
      - name: backup
        weight: 0.5
    search: []
    extra: {}
proxy: null
)");
  EXPECT_EQ(json::canonical(v),
            R"({"network":{"dns":{"extra":{},"search":[],"servers":["10.0.0.2",{"name":"backup",)"
            R"("weight":5E-1}]},"snat":{"enabled":true,"ports":[80,443],"to_address":"10.0.0.5"}},)"
            R"("proxy":null})");
  // Document order is kept (the API replaces whole sections; order is for humans).
  EXPECT_EQ(v.get_object().begin()->key(), "network");
}

TEST(YamlToJson, AnchorsAndAliasesExpand) {
  bj::value v = yaml("base: &b {port: 80, tls: false}\ncopy: *b\n");
  EXPECT_EQ(v.at("copy"), v.at("base"));
  EXPECT_EQ(v.at("copy").at("port").get_int64(), 80);
}

TEST(YamlToJson, AliasBombIsBounded) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  std::string prev = "a";
  for (char c = 'b'; c <= 'h'; ++c) {
    std::string name(1, c);
    bomb += name + ": &" + name + " [";
    for (int i = 0; i < 10; ++i) bomb += (i ? ", *" : "*") + prev;
    bomb += "]\n";
    prev = name;
  }
  EXPECT_NE(yaml_error(bomb, {.max_depth = 64, .max_nodes = 10000}).find("more than 10000 nodes"),
            std::string::npos);
}

TEST(YamlToJson, DepthIsBounded) {
  std::string deep;
  for (int i = 0; i < 10; ++i) deep += std::string(static_cast<std::size_t>(i) * 2, ' ') + "k:\n";
  EXPECT_NE(yaml_error(deep + std::string(20, ' ') + "v: 1\n", {.max_depth = 5, .max_nodes = 100})
                .find("nesting deeper than 5"),
            std::string::npos);
}

TEST(YamlToJson, StructuralErrors) {
  EXPECT_NE(yaml_error("a: 1\na: 2\n").find("duplicate key 'a'"), std::string::npos);
  EXPECT_NE(yaml_error("? [1, 2]\n: x\n").find("mapping keys must be plain strings"),
            std::string::npos);
  EXPECT_NE(yaml_error("a: 1\n---\nb: 2\n").find("expected one YAML document, found 2"),
            std::string::npos);
  EXPECT_NE(yaml_error("").find("empty"), std::string::npos);
  std::string syntax = yaml_error("a:\n  b: [1, 2\nc: 3\n");
  EXPECT_NE(syntax.find("invalid YAML at line"), std::string::npos) << syntax;
}

TEST(YamlToJson, KeysAreTakenVerbatim) {
  bj::value v = yaml("1: a\ntrue: b\n\"x y\": c\n");
  EXPECT_EQ(v.at("1"), bj::value("a"));
  EXPECT_EQ(v.at("true"), bj::value("b"));
  EXPECT_EQ(v.at("x y"), bj::value("c"));
}

TEST(JsonToYaml, RendersBlockStyle) {
  auto v =
      json::parse(R"({"network":{"snat":{"enabled":true,"to_address":"10.0.0.5","ports":[80,443]},)"
                  R"("password":"***","empty":{},"none":[],"ratio":0.5,"off":null}})");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(json_to_yaml(*v),
            "network:\n"
            "  snat:\n"
            "    enabled: true\n"
            "    to_address: 10.0.0.5\n"
            "    ports:\n"
            "      - 80\n"
            "      - 443\n"
            "  password: \"***\"\n"
            "  empty: {}\n"
            "  none: []\n"
            "  ratio: 0.5\n"
            "  \"off\": ~\n");
}

TEST(JsonToYaml, RoundTripKeepsTypes) {
  auto v = json::parse(R"({
    "strings": ["true", "false", "True", "123", "-1", "0x10", "0o7", "1e3", "1.5", ".5", "",
                "~", "null", "***", "a: b", "- x", "#c", " lead", "trail ", "multi\nline",
                "quote\"d", "ünïcødé", ".inf", "yes", "@at", "`tick", "{x}", "[y]", "&anchor",
                "*alias", "!tag", "%pct", "|", ">", "a #b", "tab\there", "ctl\u0001x", "trail\n",
                "\u00a0nbsp", "emoji \ud83d\ude00", "a\\b"],
    "numbers": [0, -1, 9223372036854775807, -9223372036854775808, 18446744073709551615,
                0.1, 2.0, -0.0, 1e20, 1.5e-7, 123456789.125],
    "flags": [true, false, null],
    "nested": [{"a": [], "b": {}}, [[1], [2, [3]]], {"": "empty key", "true": "k", "12": "n"}]
  })");
  ASSERT_TRUE(v.ok());
  std::string text = json_to_yaml(*v);
  auto back = yaml_to_json(text);
  ASSERT_TRUE(back.ok()) << back.status().to_string() << "\n" << text;
  EXPECT_EQ(json::canonical(*back), json::canonical(*v)) << text;
  // Kinds, not just canonical text: 2.0 must stay a double.
  EXPECT_TRUE(back->at("numbers").at(6).is_double());
  EXPECT_TRUE(back->at("numbers").at(4).is_uint64());
  EXPECT_TRUE(back->at("strings").at(3).is_string());
}

TEST(JsonToYaml, QuotesYaml11BooleansForOtherTools) {
  auto v = json::parse(R"({"mode":"off","a":"yes","b":"N","c":"On","d":"offline"})");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(json_to_yaml(*v), "mode: \"off\"\na: \"yes\"\nb: \"N\"\nc: \"On\"\nd: offline\n");
}

TEST(FormatDouble, ShortestAndNeverIntegral) {
  EXPECT_EQ(format_double(0.1), "0.1");
  EXPECT_EQ(format_double(2.0), "2.0");
  EXPECT_EQ(format_double(-0.0), "-0.0");
  EXPECT_EQ(format_double(1e20), "1e+20");
  EXPECT_EQ(format_double(1.5e-7), "1.5e-07");
}

}  // namespace
}  // namespace spectra::cli
