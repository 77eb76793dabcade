#include "ai/semantic_record.h"

#include <charconv>
#include <cmath>
#include <cstring>

namespace spectra::ai {

namespace {

constexpr std::string_view kTag = "s1 ";
constexpr std::size_t kMaxDims = 4096;
constexpr std::size_t kMaxField = 4096;  // instance, partition, key: short by construction

void put_field(std::string& out, std::string_view f) {
  out += std::to_string(f.size());
  out += ':';
  out += f;
}

bool take_field(std::string_view& in, std::string& out) {
  auto colon = in.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 5) return false;
  if (colon > 1 && in[0] == '0') return false;  // one spelling per length
  std::size_t n = 0;
  auto r = std::from_chars(in.data(), in.data() + colon, n);
  if (r.ec != std::errc() || r.ptr != in.data() + colon || n > kMaxField || in.size() - colon - 1 < n) return false;
  out.assign(in.substr(colon + 1, n));
  in.remove_prefix(colon + 1 + n);
  return true;
}

}  // namespace

std::string encode_semantic_record(const SemanticRecord& r) {
  std::string out(kTag);
  put_field(out, r.instance);
  put_field(out, r.partition);
  put_field(out, r.key);
  const std::size_t at = out.size();
  out.resize(at + r.vector.size() * sizeof(float));
  // The fleet's hosts are little-endian (x86-64, Graviton): the bytes as they are.
  if (!r.vector.empty()) std::memcpy(out.data() + at, r.vector.data(), r.vector.size() * sizeof(float));
  return out;
}

std::optional<SemanticRecord> decode_semantic_record(std::string_view in) {
  if (in.substr(0, kTag.size()) != kTag) return std::nullopt;
  in.remove_prefix(kTag.size());
  SemanticRecord r;
  if (!take_field(in, r.instance) || !take_field(in, r.partition) || !take_field(in, r.key)) return std::nullopt;
  if (r.partition.empty() || r.key.empty() || in.empty() || in.size() % sizeof(float) != 0 ||
      in.size() / sizeof(float) > kMaxDims) {
    return std::nullopt;
  }
  r.vector.resize(in.size() / sizeof(float));
  std::memcpy(r.vector.data(), in.data(), in.size());
  double norm = 0;
  for (float x : r.vector) {
    if (!std::isfinite(x)) return std::nullopt;
    norm += static_cast<double>(x) * x;
  }
  if (std::abs(std::sqrt(norm) - 1.0) > 0.01) return std::nullopt;
  return r;
}

}  // namespace spectra::ai
