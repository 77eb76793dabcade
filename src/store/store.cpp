#include "store/store.h"

namespace spectra::store {

Status check_key(std::string_view key) {
  if (key.size() < 2 || key.front() != '/' || key.back() == '/') {
    return invalid_argument("store key must look like /a/b: '" + std::string(key) + "'");
  }
  if (key.size() > 1011) return invalid_argument("store key longer than 1011 bytes");
  bool prev_slash = false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-' || c == '/';
    if (!ok) return invalid_argument("store key has a character outside [A-Za-z0-9_.-/]");
    if (c == '/' && prev_slash) return invalid_argument("store key has an empty segment");
    prev_slash = c == '/';
  }
  return {};
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    if (n == 2 && c < 0xc2) return false;  // overlong
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    if (n == 3) {
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      if (c == 0xe0 && c1 < 0xa0) return false;                 // overlong
      if (c == 0xed && c1 >= 0xa0) return false;                // surrogates
    }
    if (n == 4) {
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      if (c == 0xf0 && c1 < 0x90) return false;
      if (c > 0xf4 || (c == 0xf4 && c1 >= 0x90)) return false;  // > U+10FFFF
    }
    i += n;
  }
  return true;
}

Status check_value(std::string_view value, std::size_t max_bytes) {
  if (value.size() > max_bytes) {
    return invalid_argument("store value of " + std::to_string(value.size()) +
                            " bytes exceeds the backend limit of " + std::to_string(max_bytes));
  }
  if (!valid_utf8(value)) return invalid_argument("store value is not valid UTF-8");
  return {};
}

}  // namespace spectra::store
