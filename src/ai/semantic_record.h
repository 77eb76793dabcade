#pragma once
// One entry of the fleet's shared semantic index as it is stored in Redis
// (see ai/semantic_share.h). Read back from a server other processes write
// to, so decoding trusts nothing: pure, fuzzed
// (test/fuzz/semantic_record_fuzz.cpp).
//
// Record: "s1 ", then instance, partition and cache key each as
// "<byte count>:<bytes>", then the unit vector as little-endian float32.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spectra::ai {

struct SemanticRecord {
  std::string instance, partition, key;
  std::vector<float> vector;
};

std::string encode_semantic_record(const SemanticRecord& r);
// Nullopt unless `bytes` is a record of this version with a vector of 1 to
// 4,096 finite components and a norm within 1% of 1 (the index compares by
// inner product and assumes unit vectors).
std::optional<SemanticRecord> decode_semantic_record(std::string_view bytes);

}  // namespace spectra::ai
