#include "aws/sigv4_canonical.h"

#include <gtest/gtest.h>

namespace spectra::aws::sigv4 {
namespace {

TEST(SigV4Canonical, UriEncodeKeepsOnlyUnreserved) {
  EXPECT_EQ(uri_encode("AZaz09-._~", false), "AZaz09-._~");
  EXPECT_EQ(uri_encode("a b+c=d&e/f:g", false), "a%20b%2Bc%3Dd%26e%2Ff%3Ag");
  EXPECT_EQ(uri_encode("a b/c", true), "a%20b/c");
  EXPECT_EQ(uri_encode("%", false), "%25");
  EXPECT_EQ(uri_encode("\xE1\x88\xB4", false), "%E1%88%B4");
  EXPECT_EQ(uri_encode(std::string("\0\xff", 2), false), "%00%FF");
}

TEST(SigV4Canonical, PercentDecode) {
  EXPECT_EQ(percent_decode("%E1%88%b4"), "\xE1\x88\xB4");
  EXPECT_EQ(percent_decode("a+b"), "a+b");  // not form encoding
  EXPECT_EQ(percent_decode("100%"), "100%");
  EXPECT_EQ(percent_decode("%4"), "%4");
  EXPECT_EQ(percent_decode("%zz%41"), "%zzA");
  EXPECT_EQ(percent_decode("%%41"), "%A");
}

TEST(SigV4Canonical, NormalizePath) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "/"},
      {"/", "/"},
      {"//", "/"},
      {"/./", "/"},
      {"/.", "/"},
      {"/..", "/"},
      {"/../..", "/"},
      {"/example/..", "/"},
      {"/example1/example2/../..", "/"},
      {"/./example", "/example"},
      {"//example//", "/example/"},
      {"/a/b/../c", "/a/c"},
      {"/a/b/..", "/a/"},
      {"/a/./b/.", "/a/b/"},
      {"a/b", "/a/b"},
      {"/a/.../b", "/a/.../b"},  // only "." and ".." are special
      {"/a%2F..%2Fb", "/a%2F..%2Fb"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(normalize_path(in), want) << in;
}

TEST(SigV4Canonical, CanonicalUriDoubleEncodes) {
  // Bedrock model ids carry ':' which is %3A on the wire and %253A when signed.
  EXPECT_EQ(canonical_uri("/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream", true,
                          true),
            "/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse-stream");
  EXPECT_EQ(canonical_uri("/a%20b", false, false), "/a%20b");  // S3 style: as sent
  EXPECT_EQ(canonical_uri("//a/../b", false, false), "//a/../b");
  EXPECT_EQ(canonical_uri("", true, true), "/");
  EXPECT_EQ(canonical_uri("", false, false), "/");
}

TEST(SigV4Canonical, ParseQuery) {
  const QueryParams want = {{"a", "1"}, {"b", ""}, {"c", ""}, {"d", "x=y"}, {"\xE1\x88\xB4", "+"}};
  EXPECT_EQ(parse_query("a=1&&b&c=&d=x=y&%E1%88%B4=+&"), want);
  EXPECT_TRUE(parse_query("").empty());
  EXPECT_TRUE(parse_query("&&").empty());
}

TEST(SigV4Canonical, CanonicalQuerySortsEncodedPairs) {
  EXPECT_EQ(canonical_query(parse_query("Param-3=Value3&Param=Value2&%E1%88%B4=Value1")),
            "%E1%88%B4=Value1&Param=Value2&Param-3=Value3");
  // Same name: ordered by value. Upper case sorts before lower case.
  EXPECT_EQ(canonical_query(parse_query("b=2&b=1&a=z&B=0")), "B=0&a=z&b=1&b=2");
  EXPECT_EQ(canonical_query(parse_query("k=a b&k2=a+b&k3=a%2Fb")), "k=a%20b&k2=a%2Bb&k3=a%2Fb");
  EXPECT_EQ(canonical_query(parse_query("flag")), "flag=");
  EXPECT_EQ(canonical_query({}), "");
}

TEST(SigV4Canonical, TrimHeaderValue) {
  EXPECT_EQ(trim_header_value("  value1  "), "value1");
  EXPECT_EQ(trim_header_value("\"a   b   c\""), "\"a b c\"");
  EXPECT_EQ(trim_header_value("value1\n  value2\r\n\tvalue3"), "value1 value2 value3");
  EXPECT_EQ(trim_header_value("   "), "");
  EXPECT_EQ(trim_header_value(""), "");
}

TEST(SigV4Canonical, HeadersMergeInOrderAndSortByName) {
  CanonicalHeaders h;
  h.add("My-Header1", "value4");
  h.add("Host", " example.amazonaws.com ");
  h.add("my-header1", "  value1 ");
  h.add("MY-HEADER1", "value3");
  h.add("a-first", "x");
  EXPECT_TRUE(h.contains("host"));
  EXPECT_FALSE(h.contains("Host"));
  EXPECT_EQ(h.signed_headers(), "a-first;host;my-header1");
  EXPECT_EQ(h.block(), "a-first:x\nhost:example.amazonaws.com\nmy-header1:value4,value1,value3\n");
}

TEST(SigV4Canonical, LowerAsciiLeavesOtherBytes) {
  EXPECT_EQ(lower_ascii("X-Amz-Date\xC3\x84"), "x-amz-date\xC3\x84");
}

}  // namespace
}  // namespace spectra::aws::sigv4
