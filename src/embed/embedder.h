#pragma once
// Sentence embeddings for the AI gateway's semantic cache, computed in-process
// so that prompts never leave the appliance.
#include <string>
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
};

}  // namespace spectra::embed
