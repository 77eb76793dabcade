#pragma once
// The bytes the caches hold for one answer (memory, Redis): the answer as it
// is sent, behind a one-line header with its usage.
#include <optional>
#include <string>
#include <string_view>

#include "ai/adapter.h"

namespace spectra::ai {

// What the caches hold for one answer: the completion JSON exactly as it is
// sent, with its usage and finish reason in a one-line header, so that a
// hit is metered and audited and answered without parsing or
// re-serialising the answer.
//   "a1 <prompt_tokens> <completion_tokens> <cached_prompt_tokens>[ <cache_write_tokens>][ f:<finish_reason>]\n<json>"
// (the writes only when there were any, the finish reason only when the
// answer had one: entries without them read as before, and a version that
// knows neither takes an entry with them for a miss, never for a
// different usage). A finish reason is 1-32 of [a-z_] (chat's words).
struct CachedAnswer {
  Usage usage;
  std::string_view finish_reason;  // "" when the entry has none; a view into the bytes
  std::string_view json;           // a view into the encoded bytes
};
// A finish reason that is not chat's word (see above) is left out.
std::string encode_cached_answer(const Usage& usage, std::string_view completion_json,
                                 std::string_view finish_reason = {});
// nullopt for bytes that are not an encoded answer (e.g. written by another
// version into a shared backend): the caller treats them as a miss.
std::optional<CachedAnswer> decode_cached_answer(std::string_view bytes);

}  // namespace spectra::ai
