// Feeds arbitrary bytes to the SSE parser, whole and in random chunks, and
// checks: no crash or sanitizer report; both ways give the same events, the
// same error and the same end state; every event encodes and parses back to
// itself.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "wire/sse.h"

namespace sse = spectra::wire::sse;

namespace {

using spectra::fuzz::check;
using spectra::fuzz::split_chunks;

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
