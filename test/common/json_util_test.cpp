#include "common/json_util.h"

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

TEST(JsonUtil, PointerEscaping) {
  EXPECT_EQ(pointer_join("/a", "b/c~d"), "/a/b~1c~0d");
  EXPECT_EQ(pointer_join("", std::size_t{3}), "/3");
}

}  // namespace
}  // namespace spectra::json
