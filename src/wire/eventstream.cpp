#include "wire/eventstream.h"

#include <cstdio>
#include <limits>
#include <type_traits>
#include <utility>

#include "wire/crc32.h"

namespace spectra::wire::eventstream {
namespace {

constexpr std::size_t kMaxNameBytes = 255;
constexpr std::size_t kMaxVariableValueBytes = 65535;

std::uint64_t read_be(std::string_view data, std::size_t pos, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<std::uint8_t>(data[pos + i]);
  return v;
}

void write_be(std::string* out, std::uint64_t v, std::size_t n) {
  for (std::size_t i = n; i-- > 0;) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
}

std::string hex32(std::uint32_t v) {
  char buf[11];
  std::snprintf(buf, sizeof buf, "0x%08x", static_cast<unsigned>(v));
  return buf;
}

Status malformed(std::string what) {
  return invalid_argument("eventstream: malformed message: " + std::move(what));
}

Status too_large(std::string what) {
  return Status(Code::kResourceExhausted, "eventstream: " + std::move(what));
}

// Size of a header's value bytes on the wire (after the type byte).
std::size_t value_wire_size(const HeaderValue& value) {
  return std::visit(
      [](const auto& v) -> std::size_t {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          return 0;
        } else if constexpr (std::is_integral_v<T>) {
          return sizeof(T);
        } else if constexpr (std::is_same_v<T, Bytes>) {
          return 2 + v.data.size();
        } else if constexpr (std::is_same_v<T, std::string>) {
          return 2 + v.size();
        } else if constexpr (std::is_same_v<T, Timestamp>) {
          return 8;
        } else {
          return 16;
        }
      },
      value);
}

void write_value(std::string* out, const HeaderValue& value) {
  std::visit(
      [out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          // The type byte already carries the value.
        } else if constexpr (std::is_integral_v<T>) {
          write_be(out, static_cast<std::make_unsigned_t<T>>(v), sizeof(T));
        } else if constexpr (std::is_same_v<T, Bytes>) {
          write_be(out, v.data.size(), 2);
          out->append(v.data);
        } else if constexpr (std::is_same_v<T, std::string>) {
          write_be(out, v.size(), 2);
          out->append(v);
        } else if constexpr (std::is_same_v<T, Timestamp>) {
          write_be(out, static_cast<std::uint64_t>(v.millis_since_epoch), 8);
        } else {
          out->append(reinterpret_cast<const char*>(v.bytes.data()), v.bytes.size());
        }
      },
      value);
}

Status check_encodable(const Header& h) {
  if (h.name.empty() || h.name.size() > kMaxNameBytes) {
    return invalid_argument("eventstream: header name must be 1..255 bytes, got " +
                            std::to_string(h.name.size()));
  }
  if (const auto* s = std::get_if<std::string>(&h.value);
      s != nullptr && s->size() > kMaxVariableValueBytes) {
    return invalid_argument("eventstream: string header '" + h.name + "' exceeds 65535 bytes");
  }
  if (const auto* b = std::get_if<Bytes>(&h.value);
      b != nullptr && b->data.size() > kMaxVariableValueBytes) {
    return invalid_argument("eventstream: bytes header '" + h.name + "' exceeds 65535 bytes");
  }
  return {};
}

// Reads one typed value at `*pos` inside `block`; advances `*pos`.
Status read_value(std::string_view block, std::size_t* pos, std::uint8_t type, HeaderValue* out) {
  const std::size_t left = block.size() - *pos;
  auto need = [&](std::size_t n) -> Status {
    if (left < n) {
      return malformed("header value of type " + std::to_string(type) + " needs " +
                       std::to_string(n) + " bytes, " + std::to_string(left) + " left");
    }
    return {};
  };
  auto fixed = [&](std::size_t n) -> Result<std::uint64_t> {
    if (Status s = need(n); !s.ok()) return s;
    std::uint64_t v = read_be(block, *pos, n);
    *pos += n;
    return v;
  };
  auto variable = [&]() -> Result<std::string> {
    if (Status s = need(2); !s.ok()) return s;
    const std::size_t n = read_be(block, *pos, 2);
    if (left - 2 < n) {
      return malformed("header value length " + std::to_string(n) + " exceeds the " +
                       std::to_string(left - 2) + " header bytes left");
    }
    std::string v(block.substr(*pos + 2, n));
    *pos += 2 + n;
    return v;
  };
  switch (static_cast<HeaderType>(type)) {
    case HeaderType::kBoolTrue: *out = true; return {};
    case HeaderType::kBoolFalse: *out = false; return {};
    case HeaderType::kByte: {
      auto v = fixed(1);
      if (!v.ok()) return v.status();
      *out = static_cast<std::int8_t>(static_cast<std::uint8_t>(*v));
      return {};
    }
    case HeaderType::kShort: {
      auto v = fixed(2);
      if (!v.ok()) return v.status();
      *out = static_cast<std::int16_t>(static_cast<std::uint16_t>(*v));
      return {};
    }
    case HeaderType::kInt: {
      auto v = fixed(4);
      if (!v.ok()) return v.status();
      *out = static_cast<std::int32_t>(static_cast<std::uint32_t>(*v));
      return {};
    }
    case HeaderType::kLong:
    case HeaderType::kTimestamp: {
      auto v = fixed(8);
      if (!v.ok()) return v.status();
      const auto i = static_cast<std::int64_t>(*v);
      if (type == static_cast<std::uint8_t>(HeaderType::kLong)) {
        *out = i;
      } else {
        *out = Timestamp{i};
      }
      return {};
    }
    case HeaderType::kBytes:
    case HeaderType::kString: {
      auto v = variable();
      if (!v.ok()) return v.status();
      if (type == static_cast<std::uint8_t>(HeaderType::kBytes)) {
        *out = Bytes{std::move(*v)};
      } else {
        *out = std::move(*v);
      }
      return {};
    }
    case HeaderType::kUuid: {
      if (Status s = need(16); !s.ok()) return s;
      Uuid u;
      for (std::size_t i = 0; i < 16; ++i) u.bytes[i] = static_cast<std::uint8_t>(block[*pos + i]);
      *pos += 16;
      *out = u;
      return {};
    }
  }
  return malformed("unknown header value type " + std::to_string(type));
}

Status parse_headers(std::string_view block, std::vector<Header>* out) {
  std::size_t pos = 0;
  while (pos < block.size()) {
    const std::size_t name_len = static_cast<std::uint8_t>(block[pos]);
    if (name_len == 0) {
      return malformed("empty header name at header offset " + std::to_string(pos));
    }
    // The name and the type byte must both fit.
    if (block.size() - pos - 1 < name_len + 1) {
      return malformed("header name of " + std::to_string(name_len) +
                       " bytes overruns the header block at offset " + std::to_string(pos));
    }
    Header h;
    h.name.assign(block.substr(pos + 1, name_len));
    pos += 1 + name_len;
    const auto type = static_cast<std::uint8_t>(block[pos]);
    ++pos;
    if (Status s = read_value(block, &pos, type, &h.value); !s.ok()) return s;
    out->push_back(std::move(h));
  }
  return {};
}

// Decodes a frame whose prelude was already validated and whose size equals
// the prelude's total length.
Status decode_frame(std::string_view frame, Message* out) {
  const std::size_t body_end = frame.size() - kMessageCrcBytes;
  const auto expected = static_cast<std::uint32_t>(read_be(frame, body_end, 4));
  const std::uint32_t actual = crc32(frame.substr(0, body_end));
  if (expected != actual) {
    return invalid_argument("eventstream: message CRC mismatch: frame says " + hex32(expected) +
                            ", computed " + hex32(actual));
  }
  const std::size_t headers_len = read_be(frame, 4, 4);
  if (Status s = parse_headers(frame.substr(kPreludeBytes, headers_len), &out->headers); !s.ok()) {
    return s;
  }
  out->payload.assign(frame.substr(kPreludeBytes + headers_len,
                                   body_end - kPreludeBytes - headers_len));
  return {};
}

}  // namespace

HeaderType header_type(const HeaderValue& value) {
  if (const bool* b = std::get_if<bool>(&value)) {
    return *b ? HeaderType::kBoolTrue : HeaderType::kBoolFalse;
  }
  // Alternatives 1..8 map to wire types 2..9 in order.
  return static_cast<HeaderType>(value.index() + 1);
}

const HeaderValue* Message::find_header(std::string_view name) const {
  for (const Header& h : headers) {
    if (h.name == name) return &h.value;
  }
  return nullptr;
}

std::optional<std::string_view> Message::string_header(std::string_view name) const {
  const HeaderValue* v = find_header(name);
  if (v == nullptr) return std::nullopt;
  if (const auto* s = std::get_if<std::string>(v)) return std::string_view(*s);
  return std::nullopt;
}

Status encode(const Message& message, std::string* out) {
  std::uint64_t headers_len = 0;
  for (const Header& h : message.headers) {
    if (Status s = check_encodable(h); !s.ok()) return s;
    headers_len += 1 + h.name.size() + 1 + value_wire_size(h.value);
  }
  const std::uint64_t total = kMinMessageBytes + headers_len + message.payload.size();
  if (total > std::numeric_limits<std::uint32_t>::max()) {
    return invalid_argument("eventstream: message of " + std::to_string(total) +
                            " bytes exceeds the 4 GiB the format allows");
  }
  const std::size_t start = out->size();
  out->reserve(start + total);
  write_be(out, total, 4);
  write_be(out, headers_len, 4);
  write_be(out, crc32(std::string_view(*out).substr(start, 8)), 4);
  for (const Header& h : message.headers) {
    out->push_back(static_cast<char>(h.name.size()));
    out->append(h.name);
    out->push_back(static_cast<char>(header_type(h.value)));
    write_value(out, h.value);
  }
  out->append(message.payload);
  write_be(out, crc32(std::string_view(*out).substr(start)), 4);
  return {};
}

Result<std::string> encode(const Message& message) {
  std::string out;
  if (Status s = encode(message, &out); !s.ok()) return s;
  return out;
}

Result<std::uint32_t> Decoder::check_prelude(std::string_view data) const {
  const auto total = static_cast<std::uint32_t>(read_be(data, 0, 4));
  const auto headers_len = static_cast<std::uint32_t>(read_be(data, 4, 4));
  const auto expected = static_cast<std::uint32_t>(read_be(data, 8, 4));
  const std::uint32_t actual = crc32(data.substr(0, 8));
  if (expected != actual) {
    return invalid_argument("eventstream: prelude CRC mismatch: frame says " + hex32(expected) +
                            ", computed " + hex32(actual));
  }
  if (total < kMinMessageBytes) {
    return malformed("total length " + std::to_string(total) + " is below the 16-byte minimum");
  }
  if (total > limits_.max_message_bytes) {
    return too_large("message of " + std::to_string(total) + " bytes exceeds the limit of " +
                     std::to_string(limits_.max_message_bytes));
  }
  if (headers_len > total - kMinMessageBytes) {
    return malformed("headers length " + std::to_string(headers_len) +
                     " does not fit in a message of " + std::to_string(total) + " bytes");
  }
  if (headers_len > limits_.max_headers_bytes) {
    return too_large("header block of " + std::to_string(headers_len) +
                     " bytes exceeds the limit of " + std::to_string(limits_.max_headers_bytes));
  }
  return total;
}

Status Decoder::feed(std::string_view chunk, std::vector<Message>* out) {
  if (!error_.ok()) return error_;
  // Whole messages are decoded straight from `chunk`; only a trailing partial
  // message is copied, so the common case (aligned reads) does not buffer.
  const bool buffered = !buffer_.empty();
  std::string_view input = chunk;
  if (buffered) {
    buffer_.append(chunk);
    input = buffer_;
  }
  std::size_t pos = 0;
  Status status;
  while (input.size() - pos >= kPreludeBytes) {
    const std::string_view rest = input.substr(pos);
    auto total = check_prelude(rest);
    if (!total.ok()) {
      status = total.status();
      break;
    }
    if (rest.size() < *total) break;
    Message message;
    status = decode_frame(rest.substr(0, *total), &message);
    if (!status.ok()) break;
    out->push_back(std::move(message));
    pos += *total;
  }
  if (!status.ok()) {
    error_ = status;
    buffer_.clear();
    buffer_.shrink_to_fit();
    return status;
  }
  if (buffered) {
    buffer_.erase(0, pos);
  } else {
    buffer_.assign(chunk.substr(pos));
  }
  return {};
}

Status Decoder::finish() const {
  if (!error_.ok()) return error_;
  if (!buffer_.empty()) {
    return invalid_argument("eventstream: stream ended inside a message (" +
                            std::to_string(buffer_.size()) + " bytes buffered)");
  }
  return {};
}

Result<Message> decode(std::string_view frame, const DecoderLimits& limits) {
  Decoder decoder(limits);
  std::vector<Message> messages;
  if (Status s = decoder.feed(frame, &messages); !s.ok()) return s;
  if (Status s = decoder.finish(); !s.ok()) return s;
  if (messages.size() != 1) {
    return invalid_argument("eventstream: expected one message, found " +
                            std::to_string(messages.size()));
  }
  return std::move(messages.front());
}

}  // namespace spectra::wire::eventstream
