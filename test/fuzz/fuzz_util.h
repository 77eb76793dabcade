#pragma once
// Helpers shared by the libFuzzer targets.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace spectra::fuzz {

inline void check(bool ok) {
  if (!ok) std::abort();
}

// Deterministic chunk boundaries drawn from a hash of the input itself, so
// every corpus file stays a plain stream: byte by byte, tiny, medium, or
// mixed with empty chunks.
inline std::vector<std::string_view> split_chunks(std::string_view data) {
  std::uint64_t state = 0xcbf29ce484222325ull;  // FNV-1a offset basis
  for (char c : data) state = (state ^ static_cast<std::uint8_t>(c)) * 0x100000001b3ull;
  auto next = [&state]() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const std::uint64_t mode = next() % 4;
  std::vector<std::string_view> chunks;
  std::size_t pos = 0;
  while (pos < data.size()) {
    std::size_t n = 1;
    if (mode == 1) n = 1 + next() % 4;
    if (mode == 2) n = 1 + next() % 64;
    if (mode == 3) n = next() % 3 == 0 ? 0 : 1 + next() % 32;
    if (n > data.size() - pos) n = data.size() - pos;
    chunks.push_back(data.substr(pos, n));
    pos += n;
  }
  return chunks;
}

}  // namespace spectra::fuzz
