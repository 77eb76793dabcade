#pragma once
// Builds event-stream frames byte by byte from the format description, with a
// CRC computed bit by bit, so tests do not trust the code under test.
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "wire/eventstream.h"

namespace spectra::wire::eventstream::testing {

inline std::uint32_t reference_crc32(std::string_view data) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (char ch : data) {
    c ^= static_cast<std::uint8_t>(ch);
    for (int i = 0; i < 8; ++i) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

inline void put_be(std::string* out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// A header block entry: name length, name, type byte, raw value bytes.
inline std::string raw_header(std::string_view name, std::uint8_t type, std::string_view value) {
  std::string out;
  out.push_back(static_cast<char>(name.size()));
  out.append(name);
  out.push_back(static_cast<char>(type));
  out.append(value);
  return out;
}

inline std::string string_header(std::string_view name, std::string_view value) {
  std::string v;
  put_be(&v, value.size(), 2);
  v.append(value);
  return raw_header(name, 7, v);
}

// A frame with correct lengths and CRCs around arbitrary header-block bytes.
// `total_override`/`headers_len_override` let tests lie in the prelude while
// keeping its CRC valid.
inline std::string build_frame(std::string_view headers, std::string_view payload,
                               std::int64_t total_override = -1,
                               std::int64_t headers_len_override = -1) {
  std::string out;
  const std::uint64_t total = total_override >= 0
                                  ? static_cast<std::uint64_t>(total_override)
                                  : 16 + headers.size() + payload.size();
  const std::uint64_t hlen = headers_len_override >= 0
                                 ? static_cast<std::uint64_t>(headers_len_override)
                                 : headers.size();
  put_be(&out, total, 4);
  put_be(&out, hlen, 4);
  put_be(&out, reference_crc32(out), 4);
  out.append(headers);
  out.append(payload);
  put_be(&out, reference_crc32(out), 4);
  return out;
}

}  // namespace spectra::wire::eventstream::testing

namespace spectra::wire::eventstream {

// Readable gtest output for messages: header names and types, payload size.
inline void PrintTo(const Message& m, std::ostream* os) {
  *os << "{headers=[";
  for (const Header& h : m.headers) {
    *os << h.name << ":" << static_cast<int>(header_type(h.value)) << " ";
  }
  *os << "] payload=" << m.payload.size() << " bytes}";
}

}  // namespace spectra::wire::eventstream
