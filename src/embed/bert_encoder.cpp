#include "embed/bert_encoder.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "embed/fast_math.h"

namespace spectra::embed {
namespace {

// y[rows][n] = x[rows][k] * w[k][n] + b[n]
void linear(const float* x, int rows, int k, const std::vector<float>& w,
            const std::vector<float>& b, int n, float* y) {
  for (int r = 0; r < rows; ++r) std::copy(b.begin(), b.end(), y + static_cast<std::size_t>(r) * n);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, n, k, 1.0f, x, k, w.data(), n, 1.0f,
              y, n);
}

void layer_norm(float* x, int n, const std::vector<float>& g, const std::vector<float>& b,
                float eps) {
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += x[i];
  const double mean = sum / n;
  double sq = 0;
  for (int i = 0; i < n; ++i) sq += (x[i] - mean) * (x[i] - mean);
  const float inv = static_cast<float>(1.0 / std::sqrt(sq / n + eps));
  const float m = static_cast<float>(mean);
  for (int i = 0; i < n; ++i) x[i] = (x[i] - m) * inv * g[i] + b[i];
}

// x = LayerNorm(x + y), row by row.
void add_layer_norm(float* x, const float* y, int rows, int n, const std::vector<float>& g,
                    const std::vector<float>& b, float eps) {
  for (int r = 0; r < rows; ++r) {
    float* xr = x + static_cast<std::size_t>(r) * n;
    const float* yr = y + static_cast<std::size_t>(r) * n;
    for (int i = 0; i < n; ++i) xr[i] += yr[i];
    layer_norm(xr, n, g, b, eps);
  }
}

}  // namespace

Status BertEncoder::embed_tokens(const std::vector<std::vector<std::int32_t>>& batch,
                                 float* out) const {
  const BertConfig& c = config_;
  std::size_t total = 0;
  int longest = 0;
  for (const auto& seq : batch) {
    if (seq.empty() || seq.size() > static_cast<std::size_t>(c.max_positions)) {
      return invalid_argument("sequence length " + std::to_string(seq.size()) + " outside 1.." +
                              std::to_string(c.max_positions));
    }
    for (std::int32_t id : seq) {
      if (id < 0 || id >= c.vocab_size) {
        return invalid_argument("token id " + std::to_string(id) + " outside the vocabulary");
      }
    }
    total += seq.size();
    longest = std::max(longest, static_cast<int>(seq.size()));
  }
  if (batch.empty()) return {};

  const int h = c.hidden;
  const int ffn_dim = c.intermediate;
  const int d = c.head_dim();
  const int rows = static_cast<int>(total);
  // One scratch block per call: x, qkv, ctx, tmp, ffn, attention scores.
  const std::size_t need =
      total * h * 6 + total * ffn_dim + static_cast<std::size_t>(longest) * longest;
  auto scratch = std::make_unique_for_overwrite<float[]>(need);
  float* x = scratch.get();
  float* qkv = x + total * h;
  float* ctx = qkv + total * h * 3;
  float* tmp = ctx + total * h;
  float* ffn = tmp + total * h;
  float* scores = ffn + total * ffn_dim;

  const BertWeights& w = weights_;
  std::size_t row = 0;
  for (const auto& seq : batch) {
    for (std::size_t p = 0; p < seq.size(); ++p, ++row) {
      float* xr = x + row * h;
      const float* we = w.word_emb.data() + static_cast<std::size_t>(seq[p]) * h;
      const float* pe = w.position_emb.data() + p * h;
      const float* te = w.type_emb.data();  // a single segment: token type 0
      for (int i = 0; i < h; ++i) xr[i] = we[i] + pe[i] + te[i];
      layer_norm(xr, h, w.emb_ln_g, w.emb_ln_b, c.layer_norm_eps);
    }
  }

  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  for (const BertLayerWeights& layer : w.layers) {
    linear(x, rows, h, layer.qkv_w, layer.qkv_b, 3 * h, qkv);
    std::size_t first = 0;
    for (const auto& seq : batch) {
      const int len = static_cast<int>(seq.size());
      const float* base = qkv + first * 3 * h;
      for (int head = 0; head < c.heads; ++head) {
        const float* q = base + head * d;
        const float* k = base + h + head * d;
        const float* v = base + 2 * h + head * d;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, len, len, d, scale, q, 3 * h, k, 3 * h,
                    0.0f, scores, len);
        for (int r = 0; r < len; ++r)
          fast::softmax(scores + static_cast<std::size_t>(r) * len, len);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, len, d, len, 1.0f, scores, len, v,
                    3 * h, 0.0f, ctx + first * h + head * d, h);
      }
      first += seq.size();
    }
    linear(ctx, rows, h, layer.attn_out_w, layer.attn_out_b, h, tmp);
    add_layer_norm(x, tmp, rows, h, layer.attn_ln_g, layer.attn_ln_b, c.layer_norm_eps);
    linear(x, rows, h, layer.ffn_in_w, layer.ffn_in_b, ffn_dim, ffn);
    fast::gelu(ffn, total * ffn_dim);
    linear(ffn, rows, ffn_dim, layer.ffn_out_w, layer.ffn_out_b, h, tmp);
    add_layer_norm(x, tmp, rows, h, layer.ffn_ln_g, layer.ffn_ln_b, c.layer_norm_eps);
  }

  // Mean pooling over each sequence's tokens, then unit length (the divisor
  // is clamped like torch.nn.functional.normalize does).
  row = 0;
  for (std::size_t b = 0; b < batch.size(); ++b) {
    float* o = out + b * h;
    std::fill(o, o + h, 0.0f);
    for (std::size_t p = 0; p < batch[b].size(); ++p, ++row) {
      const float* xr = x + row * h;
      for (int i = 0; i < h; ++i) o[i] += xr[i];
    }
    double norm = 0;
    const float inv_len = 1.0f / static_cast<float>(batch[b].size());
    for (int i = 0; i < h; ++i) {
      o[i] *= inv_len;
      norm += static_cast<double>(o[i]) * o[i];
    }
    const float inv_norm = static_cast<float>(1.0 / std::max(std::sqrt(norm), 1e-12));
    for (int i = 0; i < h; ++i) o[i] *= inv_norm;
  }
  return {};
}

}  // namespace spectra::embed
