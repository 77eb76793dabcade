#include "embed/wordpiece_tokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace spectra::embed {
namespace {

using Ids = std::vector<std::int32_t>;

// ids:            0      1      2      3      4       5    6      7       8      9  10
const char* kVocab =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nun\n##aff\n##able\nhello\n,\nworld\n"
    // 11 12    13  14    15       16  17   18  19
    "!\ncafe\ne\n##te\n\xe4\xb8\xad\na\n##a\n[\n]\n";

WordPieceTokenizer make() {
  auto t = WordPieceTokenizer::from_vocab_text(kVocab);
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return std::move(t).value();
}

TEST(WordPieceTokenizer, LoadsSpecialIds) {
  auto t = make();
  EXPECT_EQ(t.vocab_size(), 20u);
  EXPECT_EQ(t.pad_id(), 0);
  EXPECT_EQ(t.unk_id(), 1);
  EXPECT_EQ(t.cls_id(), 2);
  EXPECT_EQ(t.sep_id(), 3);
  EXPECT_EQ(t.id_of("##able"), 7);
  EXPECT_EQ(t.id_of("nope"), -1);
}

TEST(WordPieceTokenizer, RejectsVocabularyWithoutSpecialTokens) {
  auto t = WordPieceTokenizer::from_vocab_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Code::kInvalidArgument);
  EXPECT_NE(t.status().message().find("[MASK]"), std::string::npos);
}

TEST(WordPieceTokenizer, AcceptsCrlfVocabulary) {
  auto t =
      WordPieceTokenizer::from_vocab_text("[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n[MASK]\r\nhi\r\n");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->id_of("hi"), 5);
}

TEST(WordPieceTokenizer, LowercasesAndSplitsPunctuation) {
  EXPECT_EQ(make().encode("Hello, WORLD!", 256), (Ids{2, 8, 9, 10, 11, 3}));
}

TEST(WordPieceTokenizer, GreedyLongestMatchWithContinuationPrefix) {
  EXPECT_EQ(make().encode("unaffable", 256), (Ids{2, 5, 6, 7, 3}));
  // A word whose rest cannot be matched is one [UNK], not a partial match.
  EXPECT_EQ(make().encode("unaffablex hello", 256), (Ids{2, 1, 8, 3}));
}

TEST(WordPieceTokenizer, StripsAccentsComposedAndCombining) {
  EXPECT_EQ(make().encode("CAF\xc3\x89 caf\xc3\xa9", 256), (Ids{2, 12, 12, 3}));
  EXPECT_EQ(make().encode("e\xcc\x81te", 256), (Ids{2, 13, 14, 3}));  // e U+0301 te
}

TEST(WordPieceTokenizer, SplitsCjkIdeographsIntoWords) {
  EXPECT_EQ(make().encode("hello\xe4\xb8\xadworld", 256), (Ids{2, 8, 15, 10, 3}));
}

TEST(WordPieceTokenizer, CleansWhitespaceAndControlCharacters) {
  // Tab, ideographic space, newline; a zero-width space and a NUL inside a word.
  EXPECT_EQ(make().encode("\t hello \xe3\x80\x80 world\n", 256), (Ids{2, 8, 10, 3}));
  EXPECT_EQ(make().encode("hel\xe2\x80\x8blo world", 256), (Ids{2, 8, 10, 3}));
  EXPECT_EQ(make().encode(std::string_view("wor\0ld", 6), 256), (Ids{2, 10, 3}));
  EXPECT_EQ(make().encode("hel\xfflo", 256), (Ids{2, 8, 3}));  // invalid UTF-8 byte dropped
}

TEST(WordPieceTokenizer, EmptyAndBlankInputGiveClsSep) {
  EXPECT_EQ(make().encode("", 256), (Ids{2, 3}));
  EXPECT_EQ(make().encode(" \n\t ", 256), (Ids{2, 3}));
}

TEST(WordPieceTokenizer, TruncatesToMaxTokensIncludingSpecials) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "hello ";
  EXPECT_EQ(make().encode(text, 5), (Ids{2, 8, 8, 8, 3}));
  EXPECT_EQ(make().encode(text, 2), (Ids{2, 3}));
  EXPECT_EQ(make().encode(text, 256).size(), 256u);
  // Truncation may cut a word between its pieces.
  EXPECT_EQ(make().encode("unaffable", 4), (Ids{2, 5, 6, 3}));
}

TEST(WordPieceTokenizer, OverlongWordIsUnknown) {
  EXPECT_EQ(make().encode(std::string(101, 'a'), 256), (Ids{2, 1, 3}));
  EXPECT_EQ(make().encode(std::string(4 << 20, 'a') + " hello", 256), (Ids{2, 1, 8, 3}));
  Ids ids = make().encode(std::string(100, 'a'), 256);
  ASSERT_EQ(ids.size(), 102u);
  EXPECT_EQ(ids[1], 16);
  EXPECT_EQ(ids[100], 17);
}

TEST(WordPieceTokenizer, LiteralSpecialTokensMapToTheirIds) {
  EXPECT_EQ(make().encode("hello[SEP]world [MASK]", 256), (Ids{2, 8, 3, 10, 4, 3}));
  // Matching is case-sensitive, as in the reference: "[sep]" is three words.
  EXPECT_EQ(make().encode("[sep]", 256), (Ids{2, 18, 1, 19, 3}));
}

}  // namespace
}  // namespace spectra::embed
