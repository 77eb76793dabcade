#pragma once
// Server-Sent Events (`text/event-stream`), parsed as the WHATWG HTML
// standard's "event stream interpretation" describes, and encoded for the
// gateway's own streams and for test fakes of upstream LLM APIs.
//
// Deliberate deviation: the standard decodes the stream as UTF-8 and replaces
// invalid sequences with U+FFFD; this parser passes bytes through unchanged and
// leaves UTF-8 validation to whoever interprets `data` (JSON parsers do).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace spectra::wire::sse {

struct Event {
  std::string type;  // the parser reports "message" when the stream gave none
  std::string data;  // data lines joined with '\n', no trailing newline
  std::string id;    // the stream's last event ID when this event was dispatched
  bool operator==(const Event&) const = default;
};

struct ParserLimits {
  // Upper bound on buffered bytes of one event: its data and type so far plus
  // the line being read. Guards memory against a peer that never sends a newline.
  std::size_t max_event_bytes = 4u << 20;
};

// Incremental parser: feed bytes in chunks of any size; a CR at the end of one
// chunk and an LF at the start of the next count as one CRLF line break.
//
// At end of stream an event not yet ended by a blank line is discarded, as the
// standard requires (has_pending() tells whether that happened). Exceeding the
// limit is final: every later feed() returns the same resource_exhausted Status.
class Parser {
 public:
  explicit Parser(ParserLimits limits = {}) : limits_(limits) {}

  // Appends each event completed by `chunk` to `*out`, including those completed
  // before an error in the same chunk.
  Status feed(std::string_view chunk, std::vector<Event>* out);

  // The last event ID string (updated at every blank line, event or not).
  const std::string& last_event_id() const { return last_event_id_; }
  // The reconnection time in milliseconds from the last valid `retry:` field.
  std::optional<std::uint64_t> retry_ms() const { return retry_ms_; }
  // True if bytes of an event, or of a line, are waiting for more input.
  bool has_pending() const;
  bool failed() const { return !error_.ok(); }

 private:
  Status consume(std::string_view in, std::vector<Event>* out);
  Status check_size(std::size_t line_bytes) const;
  void process_line(std::string_view line, std::vector<Event>* out);
  void process_field(std::string_view field, std::string_view value);
  void dispatch(std::vector<Event>* out);

  ParserLimits limits_;
  std::string line_;        // a line not terminated yet
  std::string data_;        // data buffer
  std::string event_type_;  // event type buffer
  std::string id_buffer_;   // last event ID buffer
  std::string last_event_id_;
  std::optional<std::uint64_t> retry_ms_;
  bool skip_lf_ = false;          // the last chunk ended with CR; a leading LF completes it
  std::size_t bom_matched_ = 0;   // bytes of a leading U+FEFF seen so far
  bool bom_done_ = false;         // the stream start has been checked for a BOM
  Status error_;
};

// Appends one event: `event:` (if type is non-empty), `id:` (if id is
// non-empty), one `data:` line per '\n'-separated piece of data, then a blank
// line. Fails with invalid_argument if type or id holds CR or LF, id holds NUL,
// or data holds CR (a line break the reader would turn into '\n'). `*out` is
// unchanged on failure. An empty id is not written, so it does not reset the reader's ID.
Status encode(const Event& event, std::string* out);
Result<std::string> encode(const Event& event);

// Appends `: text` and a line break; readers ignore it (used as keep-alive).
// Fails if text holds CR or LF.
Status encode_comment(std::string_view text, std::string* out);

// Appends `retry: ms` followed by a blank line.
void encode_retry(std::uint64_t ms, std::string* out);

}  // namespace spectra::wire::sse
