// Line endings (LF, CR, CRLF, mixed) split across chunks at every offset.
#include <gtest/gtest.h>

#include "sse_test_util.h"

#include "wire/sse.h"

namespace spectra::wire::sse {
namespace {

// The stream with "\n" standing for a line break, rewritten with `eol`.
std::string with_eol(std::string_view lf_text, std::string_view eol) {
  std::string out;
  for (char c : lf_text) {
    if (c == '\n') {
      out.append(eol);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

constexpr std::string_view kStream =
    "\xEF\xBB\xBF: comment\nevent: start\nid: 1\ndata: first\ndata:\ndata:  x\n\n"
    "retry: 250\n\ndata\n\ndata: {\"t\":\"a\\nb\"}\nunknown: v\n\n:\nevent: end\ndata: z\n\n";

std::vector<Event> expected() {
  return {{"start", "first\n\n x", "1"},
          {"message", "", "1"},
          {"message", R"({"t":"a\nb"})", "1"},
          {"end", "z", "1"}};
}

std::vector<Event> parse_chunks(const std::vector<std::string_view>& chunks, Parser* p) {
  std::vector<Event> out;
  for (std::string_view c : chunks) EXPECT_TRUE(p->feed(c, &out).ok());
  return out;
}

class SseLineEndings : public ::testing::TestWithParam<std::string_view> {};

TEST_P(SseLineEndings, WholeStream) {
  Parser p;
  EXPECT_EQ(parse_chunks({with_eol(kStream, GetParam())}, &p), expected());
  EXPECT_EQ(p.retry_ms(), 250u);
  EXPECT_FALSE(p.has_pending());
}

TEST_P(SseLineEndings, TwoChunksAtEveryOffset) {
  const std::string s = with_eol(kStream, GetParam());
  const std::string_view v = s;
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    Parser p;
    ASSERT_EQ(parse_chunks({v.substr(0, cut), v.substr(cut)}, &p), expected()) << cut;
    ASSERT_FALSE(p.has_pending()) << cut;
  }
}

TEST_P(SseLineEndings, ByteByByte) {
  const std::string s = with_eol(kStream, GetParam());
  std::vector<std::string_view> chunks;
  for (std::size_t i = 0; i < s.size(); ++i) chunks.push_back(std::string_view(s).substr(i, 1));
  Parser p;
  EXPECT_EQ(parse_chunks(chunks, &p), expected());
}

TEST_P(SseLineEndings, ThreeChunksAtEveryPairOfOffsets) {
  const std::string s = with_eol("data: a\ndata: b\n\nid: 2\ndata: c\n\n", GetParam());
  const std::vector<Event> want = {{"message", "a\nb", ""}, {"message", "c", "2"}};
  const std::string_view v = s;
  for (std::size_t a = 0; a <= v.size(); ++a) {
    for (std::size_t b = a; b <= v.size(); ++b) {
      Parser p;
      ASSERT_EQ(parse_chunks({v.substr(0, a), v.substr(a, b - a), v.substr(b)}, &p), want)
          << a << "," << b;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Eol, SseLineEndings,
                         ::testing::Values(std::string_view("\n"), std::string_view("\r"),
                                           std::string_view("\r\n")),
                         [](const auto& info) {
                           return info.param == "\n" ? std::string("LF")
                                  : info.param == "\r" ? std::string("CR")
                                                       : std::string("CRLF");
                         });

TEST(SseLineEndingsMixed, CrAtChunkEndThenLf) {
  // CR ends a chunk and LF starts the next: one line break, not two (two would
  // dispatch "a" on its own).
  Parser p;
  EXPECT_EQ(parse_chunks({"data: a\r", "\ndata: b\r", "\n\r", "\n"}, &p),
            (std::vector<Event>{{"message", "a\nb", ""}}));
}

TEST(SseLineEndingsMixed, CrAtChunkEndThenEmptyChunkThenLf) {
  Parser p;
  EXPECT_EQ(parse_chunks({"data: a\r", "", "\n", "data: b\n\n"}, &p),
            (std::vector<Event>{{"message", "a\nb", ""}}));
}

TEST(SseLineEndingsMixed, CrCrAndLfCrAreTwoLineBreaks) {
  Parser p1;
  EXPECT_EQ(parse_chunks({"data: a\r\rdata: b\n\r"}, &p1),
            (std::vector<Event>{{"message", "a", ""}, {"message", "b", ""}}));
  Parser p2;
  EXPECT_EQ(parse_chunks({"data: a\r", "\r", "data: b\r", "\r"}, &p2),
            (std::vector<Event>{{"message", "a", ""}, {"message", "b", ""}}));
}

TEST(SseLineEndingsMixed, AllStylesInOneStream) {
  const std::string s = "data: 1\rdata: 2\ndata: 3\r\n\ndata: 4\r\r";
  const std::vector<Event> want = {{"message", "1\n2\n3", ""}, {"message", "4", ""}};
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    Parser p;
    ASSERT_EQ(parse_chunks({std::string_view(s).substr(0, cut), std::string_view(s).substr(cut)},
                           &p),
              want)
        << cut;
  }
}

}  // namespace
}  // namespace spectra::wire::sse
