#pragma once
// The BERT encoder forward pass followed by mean pooling and L2 normalisation
// (the sentence-transformers head of all-MiniLM-L6-v2). Matrix products go to
// cblas_sgemm; everything else is plain loops.
//
// Batches are ragged: the sequences are packed one after another with no
// padding rows, and attention runs per sequence and head over that sequence's
// rows only. This computes exactly what padding to the longest sequence with
// an attention mask computes (masked keys get probability 0 in both), without
// spending the dense layers on padding.
//
// Immutable after construction; embed_tokens() is const and thread-safe, with
// all scratch memory owned by the call.
#include <cstdint>
#include <vector>

#include "common/result.h"
#include "embed/bert_weights.h"

namespace spectra::embed {

class BertEncoder {
 public:
  BertEncoder(BertConfig config, BertWeights weights)
      : config_(config), weights_(std::move(weights)) {}

  // Writes batch.size() rows of config().hidden floats to `out`: the mean of
  // the last hidden states over each sequence's tokens, scaled to unit length.
  // Every sequence must be non-empty, no longer than max_positions, with ids
  // below vocab_size; otherwise invalid_argument.
  Status embed_tokens(const std::vector<std::vector<std::int32_t>>& batch, float* out) const;

  const BertConfig& config() const { return config_; }

 private:
  BertConfig config_;
  BertWeights weights_;
};

}  // namespace spectra::embed
