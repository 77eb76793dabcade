// Feeds arbitrary bytes to the event-stream decoder, whole and in random
// chunks, and checks: no crash or sanitizer report; both ways give the same
// messages and the same error; every decoded message re-encodes to exactly the
// bytes it came from (the format has one encoding per message) and decodes back.
// Each input is run twice: as is, and with its CRCs repaired, so that mutations
// reach the header parser instead of stopping at a CRC mismatch.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "wire/crc32.h"
#include "wire/eventstream.h"

namespace es = spectra::wire::eventstream;

namespace {

using spectra::fuzz::check;
using spectra::fuzz::split_chunks;

std::uint32_t read_be32(std::string_view s, std::size_t pos) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<std::uint8_t>(s[pos + i]);
  return v;
}

void write_be32(std::string* s, std::size_t pos, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) (*s)[pos + i] = static_cast<char>(v >> (24 - 8 * i));
}

// Rewrites the prelude and message CRCs of each frame the lengths describe.
std::string repair_crcs(std::string_view data) {
  std::string out(data);
  std::size_t pos = 0;
  while (out.size() - pos >= 12) {
    write_be32(&out, pos + 8, spectra::wire::crc32(std::string_view(out).substr(pos, 8)));
    const std::uint32_t total = read_be32(out, pos);
    if (total < 16 || total > out.size() - pos) break;
    write_be32(&out, pos + total - 4,
               spectra::wire::crc32(std::string_view(out).substr(pos, total - 4)));
    pos += total;
  }
  return out;
}

void run(std::string_view data) {
  // Small limits so that the limit checks are reachable by small inputs.
  const es::DecoderLimits limits{4096, 1024};

  es::Decoder whole(limits);
  std::vector<es::Message> whole_out;
  const spectra::Status whole_status = whole.feed(data, &whole_out);

  es::Decoder chunked(limits);
  std::vector<es::Message> chunked_out;
  spectra::Status chunked_status;
  for (std::string_view chunk : split_chunks(data)) {
    chunked_status = chunked.feed(chunk, &chunked_out);
    if (!chunked_status.ok()) break;
  }

  check(whole_out == chunked_out);
  check(whole_status.ok() == chunked_status.ok());
  check(whole_status.message() == chunked_status.message());
  check(whole.finish().message() == chunked.finish().message());
  check(whole.buffered_bytes() == chunked.buffered_bytes());

  std::string reencoded;
  for (const es::Message& m : whole_out) {
    check(es::encode(m, &reencoded).ok());
    auto again = es::decode(*es::encode(m), limits);
    check(again.ok() && *again == m);
  }
  check(data.substr(0, reencoded.size()) == reencoded);
  if (whole_status.ok()) check(reencoded.size() + whole.buffered_bytes() == data.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view data(reinterpret_cast<const char*>(bytes), size);
  run(data);
  const std::string repaired = repair_crcs(data);
  if (repaired != data) run(repaired);
  return 0;
}
