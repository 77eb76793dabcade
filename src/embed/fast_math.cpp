#include "embed/fast_math.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace spectra::embed::fast {
namespace {

// GCC/Clang vector extensions: four floats processed as one value, one SSE2
// register on baseline x86-64 (wider types would change the ABI of helpers).
// Plain loops with selects were not vectorised at -O2.
using V = float __attribute__((vector_size(16)));
using VI = std::int32_t __attribute__((vector_size(16)));
constexpr std::size_t kLanes = sizeof(V) / sizeof(float);

inline V load(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, V v) { std::memcpy(p, &v, sizeof v); }

inline V exp_core(V x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693145751953125f;  // ln 2 split so n * hi is exact
  constexpr float kLn2Lo = 1.428606765330187e-06f;
  x = x > -87.0f ? x : V{} - 87.0f;
  // n = round(x / ln 2): x <= 0, so truncating x * log2e - 0.5 rounds.
  const VI n = __builtin_convertvector(x * kLog2e - 0.5f, VI);
  const V nf = __builtin_convertvector(n, V);
  const V r = (x - nf * kLn2Hi) - nf * kLn2Lo;  // |r| <= ln2 / 2
  // Taylor series of e^r to degree 7: truncation error below 3e-9 for |r| <= 0.35.
  V p = r * (1.0f / 5040) + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // 2^n built in the exponent field; n >= -126 after the clamp.
  const VI bits = (n + 127) << 23;
  V scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline V gelu_core(V x) {
  // Abramowitz & Stegun 7.1.26: erf(a) = 1 - t (a1 + t (a2 + ...)) e^(-a^2), t = 1/(1 + p a).
  constexpr float kInvSqrt2 = 0.70710678118654752f;
  constexpr float kP = 0.3275911f;
  constexpr float kA1 = 0.254829592f;
  constexpr float kA2 = -0.284496736f;
  constexpr float kA3 = 1.421413741f;
  constexpr float kA4 = -1.453152027f;
  constexpr float kA5 = 1.061405429f;
  const V z = x * kInvSqrt2;
  V a = z < 0.0f ? -z : z;
  a = a < 10.0f ? a : V{} + 10.0f;  // erf(10) is 1 in float; keeps e^(-a^2) in range
  const V t = 1.0f / (1.0f + kP * a);
  const V poly = ((((kA5 * t + kA4) * t + kA3) * t + kA2) * t + kA1) * t;
  const V erf_abs = 1.0f - poly * exp_core(-a * a);
  const V erf = z < 0.0f ? -erf_abs : erf_abs;
  return 0.5f * x * (1.0f + erf);
}

// Applies `f` to x[0..n) a vector at a time; the tail goes through a padded copy.
template <class F>
void apply(float* x, std::size_t n, F f) {
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) store(x + i, f(load(x + i)));
  if (i < n) {
    float tail[kLanes] = {};
    std::copy(x + i, x + n, tail);
    store(tail, f(load(tail)));
    std::copy(tail, tail + (n - i), x + i);
  }
}

}  // namespace

float exp_nonpositive(float x) {
  float in[kLanes] = {x};
  float out[kLanes];
  store(out, exp_core(load(in)));
  return out[0];
}

void gelu(float* x, std::size_t n) { apply(x, n, gelu_core); }

void softmax(float* x, std::size_t n) {
  const float max = *std::max_element(x, x + n);
  apply(x, n, [max](V v) { return exp_core(v - max); });
  float sum = 0;
  for (std::size_t k = 0; k < n; ++k) sum += x[k];
  const float inv = 1.0f / sum;
  for (std::size_t k = 0; k < n; ++k) x[k] *= inv;
}

}  // namespace spectra::embed::fast
