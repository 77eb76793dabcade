// libFuzzer target: the tokenizer sees every prompt, so any byte string must
// give [CLS] ... [SEP] within the limit, with ids from the vocabulary.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "embed/wordpiece_tokenizer.h"

namespace {

const spectra::embed::WordPieceTokenizer& tokenizer() {
  static const auto* tok = [] {
    auto t = spectra::embed::WordPieceTokenizer::from_vocab_text(
        "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nun\n##aff\n##able\nhello\n,\nworld\n!\na\n##a\n"
        "e\n##\xc3\xa9\n\xe4\xb8\xad\n[\n]\n##s\n");
    if (!t.ok()) std::abort();
    return new spectra::embed::WordPieceTokenizer(std::move(t).value());
  }();
  return *tok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& tok = tokenizer();
  const std::size_t limit = size > 0 ? 2 + data[0] % 64 : 2;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto ids = tok.encode(text, limit);
  if (ids.size() < 2 || ids.size() > limit) std::abort();
  if (ids.front() != tok.cls_id() || ids.back() != tok.sep_id()) std::abort();
  for (std::int32_t id : ids) {
    if (id < 0 || static_cast<std::size_t>(id) >= tok.vocab_size()) std::abort();
  }
  return 0;
}
