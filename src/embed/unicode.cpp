#include "embed/unicode.h"

#include <algorithm>
#include <cstdint>
#include <iterator>

namespace spectra::embed::unicode {
namespace {

struct CodeRange {
  char32_t lo;
  char32_t hi;
};
struct SingleDecomposition {
  char32_t cp;
  char32_t out;
};
struct MultiDecomposition {
  char32_t cp;
  int count;
  char32_t out[3];
};
struct LowerRun {
  char32_t lo;
  char32_t hi;
  std::int32_t delta;
  std::int32_t stride;
};

#include "embed/unicode_decomp.inc"
#include "embed/unicode_props.inc"

template <std::size_t N>
bool in_ranges(const CodeRange (&table)[N], char32_t cp) {
  // First range whose upper end is >= cp; the tables are sorted and disjoint.
  const CodeRange* it = std::lower_bound(std::begin(table), std::end(table), cp,
                                         [](const CodeRange& r, char32_t c) { return r.hi < c; });
  return it != std::end(table) && it->lo <= cp;
}

// Hangul syllables decompose algorithmically (Unicode 3.12).
constexpr char32_t kHangulBase = 0xAC00;
constexpr char32_t kHangulLast = 0xD7A3;
constexpr char32_t kLeadBase = 0x1100;
constexpr char32_t kVowelBase = 0x1161;
constexpr char32_t kTrailBase = 0x11A7;
constexpr char32_t kVowelCount = 21;
constexpr char32_t kTrailCount = 28;

}  // namespace

char32_t decode_utf8(std::string_view s, std::size_t* pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  std::size_t i = *pos;
  unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    *pos = i + 1;
    return b0;
  }
  int len = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  }
  if (len == 0 || i + len > s.size()) {
    *pos = i + 1;
    return kReplacement;
  }
  for (int k = 1; k < len; ++k) {
    unsigned char b = byte(i + k);
    if ((b & 0xC0) != 0x80) {
      *pos = i + 1;
      return kReplacement;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    *pos = i + 1;
    return kReplacement;
  }
  *pos = i + len;
  return cp;
}

void append_utf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool is_whitespace(char32_t cp) {
  switch (cp) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool is_control(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  return in_ranges(kControl, cp);
}

bool is_punctuation(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
           (cp >= 123 && cp <= 126);
  }
  return in_ranges(kPunctuation, cp);
}

bool is_cjk(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool is_nonspacing_mark(char32_t cp) { return cp >= 0x300 && in_ranges(kNonspacingMarks, cp); }

char32_t to_lower(char32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  // Last run starting at or before cp.
  const LowerRun* it = std::upper_bound(std::begin(kLowerRuns), std::end(kLowerRuns), cp,
                                        [](char32_t c, const LowerRun& r) { return c < r.lo; });
  if (it == std::begin(kLowerRuns)) return cp;
  --it;
  if (cp > it->hi || (cp - it->lo) % static_cast<char32_t>(it->stride) != 0) return cp;
  return static_cast<char32_t>(static_cast<std::int32_t>(cp) + it->delta);
}

int strip_accents(char32_t cp, char32_t out[3]) {
  if (cp < 0xC0) {  // nothing below Latin-1 letters decomposes or is a mark
    out[0] = cp;
    return 1;
  }
  if (cp >= kHangulBase && cp <= kHangulLast) {
    char32_t s = cp - kHangulBase;
    out[0] = kLeadBase + s / (kVowelCount * kTrailCount);
    out[1] = kVowelBase + (s % (kVowelCount * kTrailCount)) / kTrailCount;
    char32_t t = s % kTrailCount;
    if (t == 0) return 2;
    out[2] = kTrailBase + t;
    return 3;
  }
  const SingleDecomposition* single =
      std::lower_bound(std::begin(kSingleDecompositions), std::end(kSingleDecompositions), cp,
                       [](const SingleDecomposition& d, char32_t c) { return d.cp < c; });
  if (single != std::end(kSingleDecompositions) && single->cp == cp) {
    out[0] = single->out;
    return 1;
  }
  const MultiDecomposition* multi =
      std::lower_bound(std::begin(kMultiDecompositions), std::end(kMultiDecompositions), cp,
                       [](const MultiDecomposition& d, char32_t c) { return d.cp < c; });
  if (multi != std::end(kMultiDecompositions) && multi->cp == cp) {
    std::copy(multi->out, multi->out + multi->count, out);
    return multi->count;
  }
  if (is_nonspacing_mark(cp)) return 0;
  out[0] = cp;
  return 1;
}

}  // namespace spectra::embed::unicode
