// Feeds arbitrary bytes to the SSE parser, whole and in random chunks, and
// checks: no crash or sanitizer report; both ways give the same events, the
// same error and the same end state; every event encodes and parses back to
// itself.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "wire/sse.h"

namespace sse = spectra::wire::sse;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// Deterministic chunk boundaries drawn from a hash of the input itself, so every
// corpus file stays a plain stream. (Same helper in both wire fuzzers; the fuzz
// folder has no shared-header convention yet.)
std::vector<std::string_view> split_chunks(std::string_view data) {
  std::uint64_t state = 0xcbf29ce484222325ull;  // FNV-1a offset basis
  for (char c : data) state = (state ^ static_cast<std::uint8_t>(c)) * 0x100000001b3ull;
  auto next = [&state]() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const std::uint64_t mode = next() % 4;  // 0: byte by byte, 1: tiny, 2: medium, 3: mixed
  std::vector<std::string_view> chunks;
  std::size_t pos = 0;
  while (pos < data.size()) {
    std::size_t n = 1;
    if (mode == 1) n = 1 + next() % 4;
    if (mode == 2) n = 1 + next() % 64;
    if (mode == 3) n = next() % 3 == 0 ? 0 : 1 + next() % 32;  // empty chunks too
    if (n > data.size() - pos) n = data.size() - pos;
    chunks.push_back(data.substr(pos, n));
    pos += n;
  }
  return chunks;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view data(reinterpret_cast<const char*>(bytes), size);
  const sse::ParserLimits limits{512};  // small, so the limit is reachable

  sse::Parser whole(limits);
  std::vector<sse::Event> whole_out;
  const spectra::Status whole_status = whole.feed(data, &whole_out);

  sse::Parser chunked(limits);
  std::vector<sse::Event> chunked_out;
  spectra::Status chunked_status;
  for (std::string_view chunk : split_chunks(data)) {
    chunked_status = chunked.feed(chunk, &chunked_out);
    if (!chunked_status.ok()) break;
  }

  check(whole_out == chunked_out);
  check(whole_status.ok() == chunked_status.ok());
  check(whole_status.message() == chunked_status.message());
  if (whole_status.ok()) {
    check(whole.has_pending() == chunked.has_pending());
    check(whole.last_event_id() == chunked.last_event_id());
    check(whole.retry_ms() == chunked.retry_ms());
  }

  for (const sse::Event& e : whole_out) {
    check(!e.type.empty());
    auto encoded = sse::encode(e);
    check(encoded.ok());
    sse::Parser fresh;
    std::vector<sse::Event> back;
    check(fresh.feed(*encoded, &back).ok());
    check(back.size() == 1 && back[0] == e);
    check(!fresh.has_pending());
  }
  return 0;
}
