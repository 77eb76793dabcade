#pragma once
// Readable gtest output for SSE events.
#include <ostream>

#include "wire/sse.h"

namespace spectra::wire::sse {

inline void PrintTo(const Event& e, std::ostream* os) {
  *os << "{type=\"" << e.type << "\" data=\"";
  for (char c : e.data) {
    if (c == '\n') {
      *os << "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      *os << "\\x" << std::hex << static_cast<int>(static_cast<unsigned char>(c)) << std::dec;
    } else {
      *os << c;
    }
  }
  *os << "\" id=\"" << e.id << "\"}";
}

}  // namespace spectra::wire::sse
