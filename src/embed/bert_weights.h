#pragma once
// BERT encoder hyper-parameters (from a Hugging Face config.json) and weights
// (from model.safetensors), rearranged at load for the forward pass: every
// Linear weight is stored transposed, [in][out] row-major, so y = x * W + b is
// one plain sgemm, and Q, K and V are fused into one [hidden][3 * hidden].
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "embed/safetensors.h"

namespace spectra::embed {

struct BertConfig {
  int vocab_size = 0;
  int hidden = 0;
  int layers = 0;
  int heads = 0;
  int intermediate = 0;
  int max_positions = 0;
  int type_vocab = 0;
  float layer_norm_eps = 1e-12f;

  int head_dim() const { return hidden / heads; }
  // Accepts only what the forward pass implements: model_type bert, absolute
  // positions, erf GELU; anything else is an invalid_argument naming the key.
  static Result<BertConfig> from_json(std::string_view json_text);
};

struct BertLayerWeights {
  std::vector<float> qkv_w;       // [hidden][3 * hidden]: columns q | k | v
  std::vector<float> qkv_b;       // [3 * hidden]
  std::vector<float> attn_out_w;  // [hidden][hidden]
  std::vector<float> attn_out_b;
  std::vector<float> attn_ln_g;
  std::vector<float> attn_ln_b;
  std::vector<float> ffn_in_w;  // [hidden][intermediate]
  std::vector<float> ffn_in_b;
  std::vector<float> ffn_out_w;  // [intermediate][hidden]
  std::vector<float> ffn_out_b;
  std::vector<float> ffn_ln_g;
  std::vector<float> ffn_ln_b;
};

struct BertWeights {
  std::vector<float> word_emb;      // [vocab][hidden]
  std::vector<float> position_emb;  // [max_positions][hidden]
  std::vector<float> type_emb;      // [type_vocab][hidden]
  std::vector<float> emb_ln_g;
  std::vector<float> emb_ln_b;
  std::vector<BertLayerWeights> layers;
};

// Reads the tensors of a Hugging Face BertModel checkpoint (names with or
// without a "bert." prefix); a missing tensor or a wrong shape is an error.
Result<BertWeights> load_bert_weights(const SafetensorsFile& file, const BertConfig& config);

}  // namespace spectra::embed
