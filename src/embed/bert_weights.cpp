#include "embed/bert_weights.h"

#include <algorithm>
#include <boost/json/value.hpp>
#include <string>
#include <tuple>
#include <utility>

#include "common/json_util.h"

namespace spectra::embed {
namespace {

using Shape = std::vector<std::int64_t>;

Result<int> positive_int(const boost::json::object& obj, const char* key) {
  const auto* v = obj.if_contains(key);
  if (v == nullptr || !v->is_int64() || v->as_int64() <= 0 || v->as_int64() > (1 << 24)) {
    return invalid_argument(std::string("model config: '") + key + "' must be a positive integer");
  }
  return static_cast<int>(v->as_int64());
}

Status require_string(const boost::json::object& obj, const char* key, std::string_view want,
                      bool optional) {
  const auto* v = obj.if_contains(key);
  if (v == nullptr && optional) return {};
  if (v == nullptr || !v->is_string() || v->as_string() != want) {
    return invalid_argument(std::string("model config: '") + key + "' must be \"" +
                            std::string(want) + "\"");
  }
  return {};
}

// W is [out][in] as PyTorch stores it; writes W^T into dst, whose rows are
// `dst_stride` wide, starting at column `dst_col`.
void transpose_into(const std::vector<float>& w, int out, int in, float* dst, int dst_stride,
                    int dst_col) {
  for (int o = 0; o < out; ++o) {
    for (int i = 0; i < in; ++i) {
      dst[static_cast<std::size_t>(i) * dst_stride + dst_col + o] =
          w[static_cast<std::size_t>(o) * in + i];
    }
  }
}

class Reader {
 public:
  Reader(const SafetensorsFile& file, std::string prefix)
      : file_(file), prefix_(std::move(prefix)) {}

  // Reads `name` into `out`; remembers the first error.
  void read(const std::string& name, const Shape& shape, std::vector<float>* out) {
    if (!status_.ok()) return;
    auto t = file_.read_f32(prefix_ + name, shape);
    if (!t.ok()) {
      status_ = t.status();
      return;
    }
    *out = std::move(*t);
  }

  // Reads a Linear weight [out][in] and stores it transposed into `dst`.
  void read_linear(const std::string& name, int out, int in, float* dst, int dst_stride,
                   int dst_col) {
    std::vector<float> w;
    read(name, {out, in}, &w);
    if (status_.ok()) transpose_into(w, out, in, dst, dst_stride, dst_col);
  }

  const Status& status() const { return status_; }

 private:
  const SafetensorsFile& file_;
  std::string prefix_;
  Status status_;
};

}  // namespace

Result<BertConfig> BertConfig::from_json(std::string_view json_text) {
  auto doc = json::parse(json_text);
  if (!doc.ok()) return Status(doc.status().code(), "model config: " + doc.status().message());
  const auto* obj = doc->if_object();
  if (obj == nullptr) return invalid_argument("model config is not a JSON object");
  for (auto [key, want, optional] :
       {std::tuple{"model_type", "bert", false}, std::tuple{"hidden_act", "gelu", false},
        std::tuple{"position_embedding_type", "absolute", true}}) {
    if (Status s = require_string(*obj, key, want, optional); !s.ok()) return s;
  }
  BertConfig c;
  std::pair<const char*, int*> ints[] = {
      {"vocab_size", &c.vocab_size},          {"hidden_size", &c.hidden},
      {"num_hidden_layers", &c.layers},       {"num_attention_heads", &c.heads},
      {"intermediate_size", &c.intermediate}, {"max_position_embeddings", &c.max_positions},
      {"type_vocab_size", &c.type_vocab},
  };
  for (auto& [key, dst] : ints) {
    auto v = positive_int(*obj, key);
    if (!v.ok()) return v.status();
    *dst = *v;
  }
  if (c.hidden % c.heads != 0) {
    return invalid_argument("model config: hidden_size is not a multiple of num_attention_heads");
  }
  if (const auto* eps = obj->if_contains("layer_norm_eps")) {
    if (!eps->is_number())
      return invalid_argument("model config: 'layer_norm_eps' is not a number");
    c.layer_norm_eps = static_cast<float>(eps->to_number<double>());
  }
  return c;
}

Result<BertWeights> load_bert_weights(const SafetensorsFile& file, const BertConfig& c) {
  const std::string prefix =
      file.contains("embeddings.word_embeddings.weight") ? "" : std::string("bert.");
  Reader r(file, prefix);
  const int h = c.hidden;
  const int ffn = c.intermediate;
  BertWeights w;
  r.read("embeddings.word_embeddings.weight", {c.vocab_size, h}, &w.word_emb);
  r.read("embeddings.position_embeddings.weight", {c.max_positions, h}, &w.position_emb);
  r.read("embeddings.token_type_embeddings.weight", {c.type_vocab, h}, &w.type_emb);
  r.read("embeddings.LayerNorm.weight", {h}, &w.emb_ln_g);
  r.read("embeddings.LayerNorm.bias", {h}, &w.emb_ln_b);
  w.layers.resize(c.layers);
  for (int l = 0; l < c.layers && r.status().ok(); ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    BertLayerWeights& L = w.layers[l];
    L.qkv_w.resize(static_cast<std::size_t>(h) * 3 * h);
    L.qkv_b.resize(static_cast<std::size_t>(3) * h);
    const char* parts[] = {"query", "key", "value"};
    for (int k = 0; k < 3; ++k) {
      const std::string base = p + "attention.self." + parts[k];
      r.read_linear(base + ".weight", h, h, L.qkv_w.data(), 3 * h, k * h);
      std::vector<float> b;
      r.read(base + ".bias", {h}, &b);
      if (r.status().ok()) std::copy(b.begin(), b.end(), L.qkv_b.begin() + k * h);
    }
    L.attn_out_w.resize(static_cast<std::size_t>(h) * h);
    r.read_linear(p + "attention.output.dense.weight", h, h, L.attn_out_w.data(), h, 0);
    r.read(p + "attention.output.dense.bias", {h}, &L.attn_out_b);
    r.read(p + "attention.output.LayerNorm.weight", {h}, &L.attn_ln_g);
    r.read(p + "attention.output.LayerNorm.bias", {h}, &L.attn_ln_b);
    L.ffn_in_w.resize(static_cast<std::size_t>(h) * ffn);
    r.read_linear(p + "intermediate.dense.weight", ffn, h, L.ffn_in_w.data(), ffn, 0);
    r.read(p + "intermediate.dense.bias", {ffn}, &L.ffn_in_b);
    L.ffn_out_w.resize(static_cast<std::size_t>(ffn) * h);
    r.read_linear(p + "output.dense.weight", h, ffn, L.ffn_out_w.data(), h, 0);
    r.read(p + "output.dense.bias", {h}, &L.ffn_out_b);
    r.read(p + "output.LayerNorm.weight", {h}, &L.ffn_ln_g);
    r.read(p + "output.LayerNorm.bias", {h}, &L.ffn_ln_b);
  }
  if (!r.status().ok()) return r.status();
  return w;
}

}  // namespace spectra::embed
