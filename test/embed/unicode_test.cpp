#include "embed/unicode.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace spectra::embed::unicode {
namespace {

std::vector<char32_t> decode_all(std::string_view s) {
  std::vector<char32_t> out;
  std::size_t pos = 0;
  while (pos < s.size()) out.push_back(decode_utf8(s, &pos));
  return out;
}

std::vector<char32_t> strip(char32_t cp) {
  char32_t out[3];
  int n = strip_accents(cp, out);
  return {out, out + n};
}

TEST(Unicode, DecodesValidUtf8AndRoundTrips) {
  const std::string text = "a\u00e9\u4e2d\U0001F600";
  EXPECT_EQ(decode_all(text), (std::vector<char32_t>{'a', 0xE9, 0x4E2D, 0x1F600}));
  std::string back;
  for (char32_t cp : decode_all(text)) append_utf8(cp, &back);
  EXPECT_EQ(back, text);
}

TEST(Unicode, MalformedBytesBecomeReplacementOneByteAtATime) {
  // Lone continuation, overlong '/', UTF-16 surrogate, beyond U+10FFFF, truncated.
  EXPECT_EQ(decode_all("\x80"), (std::vector<char32_t>{kReplacement}));
  EXPECT_EQ(decode_all("\xC0\xAF").front(), kReplacement);
  EXPECT_EQ(decode_all("\xED\xA0\x80").front(), kReplacement);
  EXPECT_EQ(decode_all("\xF4\x90\x80\x80").front(), kReplacement);
  EXPECT_EQ(decode_all("x\xE4\xB8"), (std::vector<char32_t>{'x', kReplacement, kReplacement}));
}

TEST(Unicode, LowercasesBeyondAscii) {
  EXPECT_EQ(to_lower('A'), U'a');
  EXPECT_EQ(to_lower('z'), U'z');
  EXPECT_EQ(to_lower(0xC0), 0xE0u);    // À
  EXPECT_EQ(to_lower(0xD7), 0xD7u);    // × is not a letter
  EXPECT_EQ(to_lower(0x100), 0x101u);  // Ā, Latin Extended-A alternates
  EXPECT_EQ(to_lower(0x101), 0x101u);
  EXPECT_EQ(to_lower(0x178), 0xFFu);     // Ÿ
  EXPECT_EQ(to_lower(0x3A3), 0x3C3u);    // Σ
  EXPECT_EQ(to_lower(0x401), 0x451u);    // Ё
  EXPECT_EQ(to_lower(0x416), 0x436u);    // Ж
  EXPECT_EQ(to_lower(0xFF21), 0xFF41u);  // fullwidth A
  EXPECT_EQ(to_lower(0x4E2D), 0x4E2Du);
}

TEST(Unicode, StripsAccentsByCanonicalDecomposition) {
  EXPECT_EQ(strip(0xE9), (std::vector<char32_t>{'e'}));     // é
  EXPECT_EQ(strip(0xC5), (std::vector<char32_t>{'A'}));     // Å
  EXPECT_EQ(strip(0x141), (std::vector<char32_t>{0x141}));  // Ł has no decomposition
  EXPECT_EQ(strip(0xF8), (std::vector<char32_t>{0xF8}));    // ø neither
  EXPECT_EQ(strip(0x17E), (std::vector<char32_t>{'z'}));    // ž
  EXPECT_EQ(strip(0x130), (std::vector<char32_t>{'I'}));    // İ
  EXPECT_EQ(strip(0x1EC7), (std::vector<char32_t>{'e'}));   // ệ, two marks
  EXPECT_EQ(strip(0x301), (std::vector<char32_t>{}));       // a bare combining acute
  EXPECT_EQ(strip(0xD55C), (std::vector<char32_t>{0x1112, 0x1161, 0x11AB}));  // 한
  EXPECT_EQ(strip(0xAC00), (std::vector<char32_t>{0x1100, 0x1161}));          // 가
  EXPECT_EQ(strip(0xF900), (std::vector<char32_t>{0x8C48}));  // CJK compatibility ideograph
  EXPECT_EQ(strip('a'), (std::vector<char32_t>{'a'}));
}

TEST(Unicode, ClassifiesCharacters) {
  for (char32_t c : {U' ', U'\t', U'\n', U'\r', U'\u00a0', U'\u2003', U'\u3000'}) {
    EXPECT_TRUE(is_whitespace(c)) << static_cast<unsigned>(c);
  }
  EXPECT_FALSE(is_whitespace('a'));
  for (char32_t c : {U'\u0000', U'\u0007', U'\u007f', U'\u200b', U'\u00ad', U'\ufeff', U'\ue000'}) {
    EXPECT_TRUE(is_control(c)) << static_cast<unsigned>(c);
  }
  EXPECT_FALSE(is_control('\t'));
  EXPECT_FALSE(is_control('\n'));
  for (char32_t c : {U'!', U'$', U'+', U'<', U'^', U'`', U'~', U'\u2014', U'\u00bf', U'\u3002'}) {
    EXPECT_TRUE(is_punctuation(c)) << static_cast<unsigned>(c);
  }
  for (char32_t c : {U'a', U'0', U'\u20ac', U'\u00a9', U'\u4e2d'}) {  // € and © are symbols
    EXPECT_FALSE(is_punctuation(c)) << static_cast<unsigned>(c);
  }
  EXPECT_TRUE(is_cjk(0x4E2D));
  EXPECT_TRUE(is_cjk(0x20000));
  EXPECT_FALSE(is_cjk(0x3042));  // Hiragana
  EXPECT_FALSE(is_cjk(0xD55C));  // Hangul
  EXPECT_TRUE(is_nonspacing_mark(0x301));
  EXPECT_TRUE(is_nonspacing_mark(0x5B8));
  EXPECT_FALSE(is_nonspacing_mark('a'));
}

}  // namespace
}  // namespace spectra::embed::unicode
