#pragma once
// The handful of Unicode facts the BERT normaliser needs, from tables generated
// out of Python's unicodedata (see tools/gen_unicode_tables.py). All functions
// are pure and thread-safe.
#include <cstddef>
#include <string>
#include <string_view>

namespace spectra::embed::unicode {

inline constexpr char32_t kReplacement = 0xFFFD;

// Decodes the code point at `*pos` and advances `*pos` past it. A malformed or
// truncated sequence, an overlong form or a surrogate yields kReplacement and
// advances by one byte, so decoding always makes progress.
char32_t decode_utf8(std::string_view s, std::size_t* pos);
void append_utf8(char32_t cp, std::string* out);

// Characters that separate words: what Rust's char::is_whitespace accepts,
// which includes \t, \n, \r, NBSP and the U+2000 block.
bool is_whitespace(char32_t cp);
// General categories Cc, Cf and Co except \t, \n and \r: removed by cleanup.
bool is_control(char32_t cp);
// ASCII punctuation and symbols (BERT treats all of them as punctuation) and
// every Unicode P* character.
bool is_punctuation(char32_t cp);
// CJK Unified Ideographs and their extensions and compatibility blocks; each
// one becomes its own word. Hiragana, Katakana and Hangul are not included.
bool is_cjk(char32_t cp);
bool is_nonspacing_mark(char32_t cp);

// Simple (one to one) lowercase mapping; the identity for caseless characters.
char32_t to_lower(char32_t cp);

// Canonical decomposition (NFD) of one code point with every nonspacing mark
// removed, i.e. accent stripping: 'é' -> 'e', U+0301 -> nothing, a Hangul
// syllable -> its two or three jamo. Writes up to three code points to `out`
// and returns how many.
int strip_accents(char32_t cp, char32_t out[3]);

}  // namespace spectra::embed::unicode
