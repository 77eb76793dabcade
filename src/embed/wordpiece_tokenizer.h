#pragma once
// BERT uncased tokenisation: BasicTokenizer (cleanup, CJK splitting, accent
// stripping, lowercasing, whitespace and punctuation splitting) followed by
// WordPiece greedy longest-match-first, as the Hugging Face fast tokenizer of
// all-MiniLM-L6-v2 and bge-small-en-v1.5 does it (BertNormalizer with
// lowercase=true, BertPreTokenizer, WordPiece with "##" and [UNK]).
//
// Immutable after construction; encode() is const and thread-safe.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"

namespace spectra::embed {

class WordPieceTokenizer {
 public:
  // Words longer than this many code points become a single [UNK].
  static constexpr std::size_t kMaxCharsPerWord = 100;

  // vocab.txt: one token a line, the line number (from 0) is its id. It must
  // hold [PAD], [UNK], [CLS], [SEP] and [MASK].
  static Result<WordPieceTokenizer> from_vocab_file(const std::string& path);
  static Result<WordPieceTokenizer> from_vocab_text(std::string_view text);

  // [CLS] word pieces [SEP], truncated so that at most `max_tokens` ids are
  // returned (max_tokens >= 2). The literal texts "[CLS]", "[SEP]", "[PAD]",
  // "[UNK]" and "[MASK]" in the input map to their special ids, as the
  // reference tokenizer does. Invalid UTF-8 bytes are dropped like U+FFFD.
  std::vector<std::int32_t> encode(std::string_view text, std::size_t max_tokens) const;

  std::size_t vocab_size() const { return vocab_.size(); }
  std::int32_t pad_id() const { return pad_id_; }
  std::int32_t unk_id() const { return unk_id_; }
  std::int32_t cls_id() const { return cls_id_; }
  std::int32_t sep_id() const { return sep_id_; }
  // Id of `token` or -1; for tests and tools.
  std::int32_t id_of(std::string_view token) const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Vocab = std::unordered_map<std::string, std::int32_t, Hash, std::equal_to<>>;
  class Encoder;

  WordPieceTokenizer() = default;
  // Length in bytes of the special token that `rest` starts with, or 0.
  std::size_t match_special(std::string_view rest, std::int32_t* id) const;

  Vocab vocab_;
  std::size_t max_token_bytes_ = 0;
  std::int32_t pad_id_ = -1;
  std::int32_t unk_id_ = -1;
  std::int32_t cls_id_ = -1;
  std::int32_t sep_id_ = -1;
  std::int32_t mask_id_ = -1;
};

}  // namespace spectra::embed
