// Arbitrary bytes as a record of the fleet's shared semantic index, read
// back from Redis. Invariants: no crash or sanitizer report; what decodes
// has a vector of 1 to 4,096 finite components with a norm within 1% of 1
// and non-empty partition and key; and it encodes back to the same bytes.
#include <cmath>
#include <cstdint>
#include <string_view>

#include "ai/semantic_record.h"
#include "fuzz_util.h"

using spectra::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto r = spectra::ai::decode_semantic_record(bytes);
  if (!r) return 0;
  check(!r->partition.empty() && !r->key.empty());
  check(!r->vector.empty() && r->vector.size() <= 4096);
  double norm = 0;
  for (float x : r->vector) {
    check(std::isfinite(x));
    norm += static_cast<double>(x) * x;
  }
  check(std::abs(std::sqrt(norm) - 1.0) <= 0.01);
  check(spectra::ai::encode_semantic_record(*r) == bytes);
  return 0;
}
