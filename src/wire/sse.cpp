#include "wire/sse.h"

#include <cstring>
#include <limits>
#include <utility>

namespace spectra::wire::sse {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// The first CR or LF at or after `pos`, or npos. Two memchr scans instead
// of string_view::find_first_of, which libstdc++ implements as one memchr
// over the set per input byte (the stream parser's top cost in profiles).
std::size_t find_eol(std::string_view s, std::size_t pos) {
  if (pos >= s.size()) return std::string_view::npos;
  const char* begin = s.data() + pos;
  const char* end = s.data() + s.size();
  const char* lf = static_cast<const char*>(std::memchr(begin, '\n', static_cast<std::size_t>(end - begin)));
  const char* limit = lf ? lf : end;
  const char* cr = static_cast<const char*>(std::memchr(begin, '\r', static_cast<std::size_t>(limit - begin)));
  const char* hit = cr ? cr : lf;
  return hit ? static_cast<std::size_t>(hit - s.data()) : std::string_view::npos;
}

bool has_line_break(std::string_view s) { return find_eol(s, 0) != std::string_view::npos; }

// Parses a non-empty run of ASCII digits; nullopt for anything else or overflow.
std::optional<std::uint64_t> parse_digits(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

}  // namespace

bool Parser::has_pending() const {
  return !line_.empty() || !data_.empty() || !event_type_.empty() ||
         (!bom_done_ && bom_matched_ > 0);
}

Status Parser::feed(std::string_view chunk, std::vector<Event>* out) {
  if (!error_.ok()) return error_;
  if (!bom_done_) {
    // One U+FEFF at the very start of the stream is dropped; it may arrive split.
    while (!chunk.empty() && bom_matched_ < kBom.size() && chunk.front() == kBom[bom_matched_]) {
      ++bom_matched_;
      chunk.remove_prefix(1);
    }
    if (bom_matched_ == kBom.size()) {
      bom_done_ = true;
    } else if (!chunk.empty()) {
      // Not a BOM after all: the bytes matched so far are ordinary input.
      bom_done_ = true;
      if (Status s = consume(kBom.substr(0, bom_matched_), out); !s.ok()) return s;
    } else {
      return {};
    }
  }
  return consume(chunk, out);
}

Status Parser::check_size(std::size_t line_bytes) const {
  const std::size_t total = data_.size() + event_type_.size() + line_bytes;
  if (total > limits_.max_event_bytes) {
    return Status(Code::kResourceExhausted,
                  "sse: event exceeds the limit of " + std::to_string(limits_.max_event_bytes) +
                      " buffered bytes");
  }
  return {};
}

Status Parser::consume(std::string_view in, std::vector<Event>* out) {
  std::size_t pos = 0;
  if (skip_lf_ && !in.empty()) {
    if (in.front() == '\n') pos = 1;
    skip_lf_ = false;
  }
  while (pos < in.size()) {
    const std::size_t eol = find_eol(in, pos);
    if (eol == std::string_view::npos) {
      const std::string_view tail = in.substr(pos);
      if (Status s = check_size(line_.size() + tail.size()); !s.ok()) {
        error_ = s;
        return s;
      }
      line_.append(tail);
      break;
    }
    std::string_view line = in.substr(pos, eol - pos);
    if (!line_.empty()) {
      line_.append(line);
      line = line_;
    }
    if (Status s = check_size(line.size()); !s.ok()) {
      error_ = s;
      return s;
    }
    process_line(line, out);
    line_.clear();
    pos = eol + 1;
    if (in[eol] == '\r') {
      if (pos == in.size()) {
        skip_lf_ = true;
      } else if (in[pos] == '\n') {
        ++pos;
      }
    }
  }
  return {};
}

void Parser::process_line(std::string_view line, std::vector<Event>* out) {
  if (line.empty()) {
    dispatch(out);
    return;
  }
  if (line.front() == ':') return;  // comment
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    process_field(line, {});
    return;
  }
  std::string_view value = line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  process_field(line.substr(0, colon), value);
}

void Parser::process_field(std::string_view field, std::string_view value) {
  if (field == "event") {
    event_type_.assign(value);
  } else if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) id_buffer_.assign(value);
  } else if (field == "retry") {
    if (auto ms = parse_digits(value)) retry_ms_ = *ms;
  }
  // Any other field is ignored.
}

void Parser::dispatch(std::vector<Event>* out) {
  last_event_id_ = id_buffer_;
  if (data_.empty()) {
    event_type_.clear();
    return;
  }
  data_.pop_back();  // every data line appended a '\n'
  Event event;
  event.type = event_type_.empty() ? std::string("message") : std::move(event_type_);
  event.data = std::move(data_);
  event.id = last_event_id_;
  out->push_back(std::move(event));
  data_.clear();
  event_type_.clear();
}

Status encode(const Event& event, std::string* out) {
  if (has_line_break(event.type)) return invalid_argument("sse: event type holds a line break");
  if (has_line_break(event.id) || event.id.find('\0') != std::string::npos) {
    return invalid_argument("sse: event id holds a line break or NUL");
  }
  if (event.data.find('\r') != std::string::npos) {
    return invalid_argument("sse: event data holds CR, which a reader turns into a line break");
  }
  if (!event.type.empty()) out->append("event: ").append(event.type).push_back('\n');
  if (!event.id.empty()) out->append("id: ").append(event.id).push_back('\n');
  std::string_view data = event.data;
  while (true) {
    const std::size_t nl = data.find('\n');
    const std::string_view piece = data.substr(0, nl);
    out->append("data:");
    if (!piece.empty()) out->append(" ").append(piece);
    out->push_back('\n');
    if (nl == std::string_view::npos) break;
    data.remove_prefix(nl + 1);
  }
  out->push_back('\n');
  return {};
}

Result<std::string> encode(const Event& event) {
  std::string out;
  if (Status s = encode(event, &out); !s.ok()) return s;
  return out;
}

Status encode_comment(std::string_view text, std::string* out) {
  if (has_line_break(text)) return invalid_argument("sse: comment holds a line break");
  out->append(":");
  if (!text.empty()) out->append(" ").append(text);
  out->push_back('\n');
  return {};
}

void encode_retry(std::uint64_t ms, std::string* out) {
  out->append("retry: ").append(std::to_string(ms)).append("\n\n");
}

}  // namespace spectra::wire::sse
