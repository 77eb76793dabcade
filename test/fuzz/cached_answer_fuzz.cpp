// Arbitrary bytes as a cached answer read back from the cache (a Redis
// shared with other gateways and other versions). Invariants: no crash or
// sanitizer report; what decodes has non-negative counts, a non-empty
// answer that is the tail of the bytes, a finish reason of chat's word
// characters, and encodes to bytes that decode to the same usage, finish
// reason and answer.
#include <cstdint>
#include <string>
#include <string_view>

#include "ai/cached_answer.h"
#include "fuzz_util.h"

using spectra::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto a = spectra::ai::decode_cached_answer(bytes);
  if (!a) return 0;
  const auto& u = a->usage;
  check(u.reported && u.prompt_tokens >= 0 && u.completion_tokens >= 0 && u.cached_prompt_tokens >= 0 &&
        u.cache_write_tokens >= 0);
  check(!a->json.empty() && bytes.ends_with(a->json));
  check(a->finish_reason.size() <= 32 && a->finish_reason.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string_view::npos);
  const std::string again = spectra::ai::encode_cached_answer(u, a->json, a->finish_reason);
  auto b = spectra::ai::decode_cached_answer(again);
  check(b.has_value());
  check(b->json == a->json && b->finish_reason == a->finish_reason && b->usage.prompt_tokens == u.prompt_tokens &&
        b->usage.completion_tokens == u.completion_tokens && b->usage.cached_prompt_tokens == u.cached_prompt_tokens &&
        b->usage.cache_write_tokens == u.cache_write_tokens);
  return 0;
}
