#include <limits>
#include "common/json_util.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace spectra::json {
namespace {

TEST(JsonUtil, ParseRejectsWithReason) {
  EXPECT_TRUE(parse("{\"a\":1}").ok());
  auto r = parse("{\"a\":");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(parse("{} {}").ok());
  EXPECT_FALSE(parse("\"\xff\"").ok());
}

TEST(JsonUtil, DepthAndSizeLimits) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  auto r = parse(deep, {.max_bytes = 1 << 20, .max_depth = 64});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nesting"), std::string::npos);
  auto big = parse(std::string(2000, ' '), {.max_bytes = 1000, .max_depth = 8});
  EXPECT_EQ(big.status().code(), Code::kResourceExhausted);
}

TEST(JsonUtil, CanonicalSortsKeys) {
  auto a = parse(R"({"b":1,"a":{"d":[1,{"z":0,"y":1}],"c":null}})");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(canonical(*a), R"({"a":{"c":null,"d":[1,{"y":1,"z":0}]},"b":1})");
}

// Cache keys and config blob hashes are taken over canonical(): it must
// write exactly what boost::json::serialize writes (apart from key order).
TEST(JsonUtil, CanonicalWritesWhatBoostSerializeWrites) {
  for (int c = 0; c < 256; ++c) {
    std::string s = "a" + std::string(1, static_cast<char>(c)) + "b";
    std::string mine;
    append_string(mine, s);
    EXPECT_EQ(mine, bj::serialize(bj::value(s))) << "byte " << c;
  }
  auto v = parse(R"({"s":"caf\u00e9 \"q\" \\ \u0001\n","i":-9223372036854775808,"u":18446744073709551615,)"
                 R"("d":0.1,"e":1e300,"n":null,"t":true,"f":false,"a":[[],{},""]})");
  ASSERT_TRUE(v.ok());
  // A one-level object keeps its keys in one order only when sorted: sort
  // first, then compare with boost's own serialization of the same object.
  bj::object sorted;
  for (const char* k : {"a", "d", "e", "f", "i", "n", "s", "t", "u"}) sorted[k] = v->at(k);
  EXPECT_EQ(canonical(*v), bj::serialize(sorted));
  std::string without;
  canonical_into(v->get_object(), {"s", "a", "zz"}, without);
  bj::object rest;  // (bj::object::erase moves the last member into the gap)
  for (const char* k : {"d", "e", "f", "i", "n", "t", "u"}) rest[k] = v->at(k);
  EXPECT_EQ(without, bj::serialize(rest));
}

// The audit line of every request is written with ObjectWriter: what it
// writes must parse back to the same members, escapes and all.
TEST(JsonUtil, ObjectWriterWritesWhatParsesBack) {
  std::string out;
  ObjectWriter w(out);
  w.str("s", "caf\u00e9 \"q\" \\ \x01\n")
      .num("i", std::int64_t{-9223372036854775807 - 1})
      .num("d", 0.125)
      .num("inf", std::numeric_limits<double>::infinity())
      .boolean("t", true)
      .null("n")
      .raw("o", R"({"a":[1,2]})")
      .str("k\"ey", "");
  w.close();
  auto v = parse(out);
  ASSERT_TRUE(v.ok()) << out;
  const auto& o = v->get_object();
  EXPECT_EQ(o.at("s").as_string(), "caf\u00e9 \"q\" \\ \x01\n");
  EXPECT_EQ(o.at("i").as_int64(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(o.at("d").as_double(), 0.125);
  EXPECT_TRUE(o.at("inf").is_null());
  EXPECT_TRUE(o.at("t").as_bool());
  EXPECT_TRUE(o.at("n").is_null());
  EXPECT_EQ(o.at("o").at("a").as_array().size(), 2u);
  EXPECT_EQ(o.at("k\"ey").as_string(), "");
  EXPECT_EQ(o.size(), 8u);
  std::string empty;
  ObjectWriter(empty).close();
  EXPECT_EQ(empty, "{}");
}

TEST(JsonUtil, PointerEscaping) {
  EXPECT_EQ(pointer_join("/a", "b/c~d"), "/a/b~1c~0d");
  EXPECT_EQ(pointer_join("", std::size_t{3}), "/3");
}

TEST(JsonUtil, AnyElementHas) {
  const bj::value parts = bj::parse(R"([{"type":"text"},"x",{"type":"text","cache_control":{}}])");
  EXPECT_TRUE(any_element_has(&parts, "cache_control"));
  EXPECT_FALSE(any_element_has(&parts, "image_url"));
  const bj::value object = bj::parse(R"({"cache_control":{}})");
  EXPECT_FALSE(any_element_has(&object, "cache_control")) << "an object is not an array of them";
  EXPECT_FALSE(any_element_has(nullptr, "cache_control"));
}

}  // namespace
}  // namespace spectra::json
