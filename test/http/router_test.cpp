#include "http/router.h"

#include <gtest/gtest.h>

namespace spectra::http {
namespace {

TEST(Router, MatchesParams) {
  Params p;
  EXPECT_TRUE(Router::match("/api/v1/config/{section}", "/api/v1/config/network", &p));
  EXPECT_EQ(p["section"], "network");
  EXPECT_TRUE(Router::match("/r/{n}/rollback", "/r/12/rollback", &p));
  EXPECT_EQ(p["n"], "12");
  EXPECT_FALSE(Router::match("/r/{n}/rollback", "/r//rollback", &p));
  EXPECT_FALSE(Router::match("/api/v1/config", "/api/v1/config/", &p));
  EXPECT_FALSE(Router::match("/a/{x}", "/a/b/c", &p));
  EXPECT_TRUE(Router::match("/a/{x}", "/a/b%2Fc", &p));
  EXPECT_EQ(p["x"], "b/c");
}

TEST(Router, QueryDecoding) {
  auto q = query_of("/x?a=1&b=two%20words&c&d=x+y");
  EXPECT_EQ(q["a"], "1");
  EXPECT_EQ(q["b"], "two words");
  EXPECT_EQ(q["c"], "");
  EXPECT_EQ(q["d"], "x y");
  EXPECT_EQ(path_of("/x?y"), "/x");
  EXPECT_EQ(percent_decode("%zz%4"), "%zz%4");
}

}  // namespace
}  // namespace spectra::http
