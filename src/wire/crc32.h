#pragma once
// CRC-32 as used by zlib, PNG and AWS event-stream framing (IEEE 802.3,
// reflected polynomial 0xEDB88320, initial value and final xor 0xFFFFFFFF).
#include <cstdint>
#include <string_view>

namespace spectra::wire {

// Continues a CRC over `data`. Start with `crc = 0`; the returned value is the
// finished CRC of everything fed so far, so crc32(a + b) == crc32_update(crc32(a), b).
std::uint32_t crc32_update(std::uint32_t crc, std::string_view data);

inline std::uint32_t crc32(std::string_view data) { return crc32_update(0, data); }

}  // namespace spectra::wire
