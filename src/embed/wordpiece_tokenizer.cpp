#include "embed/wordpiece_tokenizer.h"

#include <algorithm>
#include <array>
#include <utility>

#include "common/file_util.h"
#include "embed/unicode.h"

namespace spectra::embed {
namespace {

constexpr std::size_t kMaxVocabBytes = 64 << 20;
constexpr std::size_t kMaxVocabEntries = 10'000'000;
constexpr std::string_view kContinuation = "##";

}  // namespace

// Per-call state of one encode(): the ids so far, the word being collected
// and reusable buffers, so a call allocates a handful of times, not per token.
class WordPieceTokenizer::Encoder {
 public:
  Encoder(const WordPieceTokenizer& tok, std::size_t max_tokens)
      : tok_(tok), limit_(std::max<std::size_t>(max_tokens, 2) - 1) {
    ids_.reserve(std::min<std::size_t>(limit_ + 1, 128));
    ids_.push_back(tok_.cls_id_);
    word_.reserve(64);
    key_.reserve(64);
    starts_.reserve(64);
  }

  bool full() const { return ids_.size() >= limit_; }

  void push(std::int32_t id) {
    if (!full()) ids_.push_back(id);
  }

  void add_char(char32_t cp) {
    // One character past the limit already makes the word [UNK]; keeping no
    // more bounds memory on a huge input without spaces.
    if (starts_.size() > kMaxCharsPerWord) return;
    starts_.push_back(word_.size());
    unicode::append_utf8(cp, &word_);
  }

  void flush() {
    if (word_.empty()) return;
    split_word();
    word_.clear();
    starts_.clear();
  }

  std::vector<std::int32_t> finish() {
    flush();
    ids_.push_back(tok_.sep_id_);
    return std::move(ids_);
  }

 private:
  // Greedy longest-match-first; a word with any unmatched rest is one [UNK].
  void split_word() {
    const std::size_t n = starts_.size();
    if (n > kMaxCharsPerWord) {
      push(tok_.unk_id_);
      return;
    }
    const auto byte_at = [&](std::size_t i) { return i == n ? word_.size() : starts_[i]; };
    pieces_.clear();
    std::size_t start = 0;
    while (start < n) {
      std::size_t end = n;
      // No token is longer than the longest vocabulary entry.
      const std::size_t budget = tok_.max_token_bytes_ - (start > 0 ? kContinuation.size() : 0);
      while (end > start && byte_at(end) - byte_at(start) > budget) --end;
      std::int32_t found = -1;
      for (; end > start; --end) {
        std::string_view sub(word_.data() + byte_at(start), byte_at(end) - byte_at(start));
        if (start > 0) {
          key_.assign(kContinuation);
          key_.append(sub);
          sub = key_;
        }
        if (auto it = tok_.vocab_.find(sub); it != tok_.vocab_.end()) {
          found = it->second;
          break;
        }
      }
      if (found < 0) {
        push(tok_.unk_id_);
        return;
      }
      pieces_.push_back(found);
      start = end;
    }
    for (std::int32_t id : pieces_) push(id);
  }

  const WordPieceTokenizer& tok_;
  const std::size_t limit_;  // ids before [SEP]
  std::vector<std::int32_t> ids_;
  std::vector<std::int32_t> pieces_;
  std::string word_;
  std::vector<std::size_t> starts_;  // byte offset of each code point in word_
  std::string key_;
};

Result<WordPieceTokenizer> WordPieceTokenizer::from_vocab_file(const std::string& path) {
  auto text = fs::read_file(path, kMaxVocabBytes);
  if (!text.ok()) {
    return Status(text.status().code(), "vocabulary " + path + ": " + text.status().message());
  }
  return from_vocab_text(*text);
}

Result<WordPieceTokenizer> WordPieceTokenizer::from_vocab_text(std::string_view text) {
  WordPieceTokenizer tok;
  std::size_t pos = 0;
  std::int32_t index = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    if (static_cast<std::size_t>(index) >= kMaxVocabEntries) {
      return invalid_argument("vocabulary has more than " + std::to_string(kMaxVocabEntries) +
                              " entries");
    }
    tok.vocab_.insert_or_assign(std::string(line), index++);
    tok.max_token_bytes_ = std::max(tok.max_token_bytes_, line.size());
    pos = nl + 1;
  }
  std::array<std::pair<std::string_view, std::int32_t*>, 5> specials = {{
      {"[PAD]", &tok.pad_id_},
      {"[UNK]", &tok.unk_id_},
      {"[CLS]", &tok.cls_id_},
      {"[SEP]", &tok.sep_id_},
      {"[MASK]", &tok.mask_id_},
  }};
  for (auto& [name, id] : specials) {
    *id = tok.id_of(name);
    if (*id < 0) return invalid_argument("vocabulary lacks the special token " + std::string(name));
  }
  return tok;
}

std::int32_t WordPieceTokenizer::id_of(std::string_view token) const {
  auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

std::size_t WordPieceTokenizer::match_special(std::string_view rest, std::int32_t* id) const {
  const std::array<std::pair<std::string_view, std::int32_t>, 5> specials = {{
      {"[PAD]", pad_id_},
      {"[UNK]", unk_id_},
      {"[CLS]", cls_id_},
      {"[SEP]", sep_id_},
      {"[MASK]", mask_id_},
  }};
  for (const auto& [name, value] : specials) {
    if (rest.starts_with(name)) {
      *id = value;
      return name.size();
    }
  }
  return 0;
}

std::vector<std::int32_t> WordPieceTokenizer::encode(std::string_view text,
                                                     std::size_t max_tokens) const {
  Encoder enc(*this, max_tokens);
  std::size_t pos = 0;
  while (pos < text.size() && !enc.full()) {
    if (text[pos] == '[') {
      std::int32_t id = -1;
      if (std::size_t len = match_special(text.substr(pos), &id); len > 0) {
        enc.flush();
        enc.push(id);
        pos += len;
        continue;
      }
    }
    const char32_t cp = unicode::decode_utf8(text, &pos);
    if (cp == 0 || cp == unicode::kReplacement || unicode::is_control(cp)) continue;
    if (unicode::is_whitespace(cp)) {
      enc.flush();
      continue;
    }
    // A CJK ideograph is a word of its own; everything else joins the current
    // word unless it is punctuation, which is always a word of its own.
    const bool cjk = unicode::is_cjk(cp);
    if (cjk) enc.flush();
    char32_t parts[3];
    const int n = unicode::strip_accents(cp, parts);
    for (int i = 0; i < n; ++i) {
      const char32_t c = unicode::to_lower(parts[i]);
      if (unicode::is_punctuation(c)) {
        enc.flush();
        enc.add_char(c);
        enc.flush();
      } else {
        enc.add_char(c);
      }
    }
    if (cjk) enc.flush();
  }
  return enc.finish();
}

}  // namespace spectra::embed
