#include "cli/diff_format.h"

#include <gtest/gtest.h>

#include "cli/commands.h"
#include "cli/table.h"
#include "common/json_util.h"

namespace spectra::cli {
namespace {

bj::array diff_of(const std::string& text) {
  auto v = json::parse(text);
  EXPECT_TRUE(v.ok()) << v.status().to_string();
  return v.ok() && v->is_array() ? v->get_array() : bj::array();
}

TEST(FormatDiff, OneLinePerOperation) {
  bj::array d = diff_of(R"([
    {"op":"replace","path":"/network/snat/enabled","from":false,"to":true},
    {"op":"add","path":"/network/dns/servers/2","to":"10.0.0.2"},
    {"op":"remove","path":"/network/dns/servers/3","from":"10.0.0.3"},
    {"op":"replace","path":"/proxy/limits","from":{"rps":10,"burst":[1,2]},"to":null},
    {"op":"replace","path":"/ai/temperature","from":0.1,"to":2.0}
  ])");
  EXPECT_EQ(format_diff(d),
            "~ /network/snat/enabled: false -> true\n"
            "+ /network/dns/servers/2: \"10.0.0.2\"\n"
            "- /network/dns/servers/3\n"
            "~ /proxy/limits: {\"rps\": 10, \"burst\": [1, 2]} -> null\n"
            "~ /ai/temperature: 0.1 -> 2.0\n");
}

TEST(FormatDiff, StringsAreQuotedAndEscaped) {
  bj::array d = diff_of(R"([{"op":"replace","path":"/a~1b","from":"x\"y","to":"line\nbreak"}])");
  EXPECT_EQ(format_diff(d), "~ /a~1b: \"x\\\"y\" -> \"line\\nbreak\"\n");
}

TEST(FormatDiff, RootPathAndValueFallback) {
  bj::array d = diff_of(R"([{"op":"replace","path":"","from":1,"to":2},
                           {"op":"add","path":"/x","value":[]}])");
  EXPECT_EQ(format_diff(d), "~ /: 1 -> 2\n+ /x: []\n");
}

TEST(FormatDiff, UnknownShapesAreShownNotDropped) {
  bj::array d = diff_of(R"([{"op":"move","path":"/a","from":"/b"}, 7, {"path":"/c"},
                           {"op":"replace","path":"/d","to":1}])");
  EXPECT_EQ(format_diff(d),
            "? {\"op\": \"move\", \"path\": \"/a\", \"from\": \"/b\"}\n"
            "? 7\n"
            "? {\"path\": \"/c\"}\n"
            "? {\"op\": \"replace\", \"path\": \"/d\", \"to\": 1}\n");
}

TEST(FormatDiff, EmptyDiffIsEmptyText) { EXPECT_EQ(format_diff(bj::array()), ""); }

TEST(Table, AlignsColumnsWithoutTrailingBlanks) {
  Table t({"REV", "AT", "MESSAGE"});
  t.add_row({"12", "2026-01-02T03:04:05Z", "enable snat"});
  t.add_row({"9", "2026-01-01T00:00:00Z"});
  EXPECT_EQ(t.render(),
            "REV  AT                    MESSAGE\n"
            "12   2026-01-02T03:04:05Z  enable snat\n"
            "9    2026-01-01T00:00:00Z\n");
  EXPECT_EQ(t.rows(), 2u);
}

TEST(Table, CountsUtf8CodePointsAndFlattensNewlines) {
  Table t({"NAME", "X"});
  t.add_row({"ünï", "1"});
  t.add_row({"a\nb", "2"});
  EXPECT_EQ(t.render(), "NAME  X\nünï   1\na b   2\n");
  EXPECT_EQ(display_width("ünï"), 3u);
}

TEST(Table, WithoutHeaderTheHeaderStillSizesColumns) {
  Table t({"LONGNAME", ""});
  t.add_row({"a", "b"});
  EXPECT_EQ(t.render(false), "a         b\n");
}

TEST(FormatDuration, LeavesOutLeadingZeroUnits) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(-5), "0s");
  EXPECT_EQ(format_duration(59), "59s");
  EXPECT_EQ(format_duration(3600), "1h 0m 0s");
  EXPECT_EQ(format_duration(90061), "1d 1h 1m 1s");
}

}  // namespace
}  // namespace spectra::cli
