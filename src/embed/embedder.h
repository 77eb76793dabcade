#pragma once
// Sentence embeddings for the AI gateway's semantic cache, computed in-process
// so that prompts never leave the appliance.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace spectra::embed {

class Embedder {
 public:
  virtual ~Embedder() = default;

  // One unit-length vector of dimensions() floats per text, in order. Texts
  // are UTF-8; any length is accepted (long texts are truncated to the
  // model's token limit). Safe to call from many threads at once.
  virtual Result<std::vector<std::vector<float>>> embed(
      const std::vector<std::string>& texts) const = 0;

  virtual int dimensions() const = 0;

  // How many tokens of `text` the model reads (after truncation, without
  // its special tokens), for usage reporting; nullopt if it cannot say.
  virtual std::optional<std::int64_t> token_count(std::string_view text) const {
    (void)text;
    return std::nullopt;
  }
};

}  // namespace spectra::embed
