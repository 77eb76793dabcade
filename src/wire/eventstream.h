#pragma once
// AWS event-stream framing (`application/vnd.amazon.eventstream`), as used by
// Bedrock ConverseStream / InvokeModelWithResponseStream, Transcribe, S3 Select.
//
// One message on the wire, all integers big-endian:
//   [total length u32][headers length u32][prelude CRC32 u32]   <- 12-byte prelude
//   [headers: headers-length bytes][payload][message CRC32 u32]
// The prelude CRC covers the first 8 bytes; the message CRC covers everything
// before it (prelude and prelude CRC included). Each header is
//   [name length u8 (1..255)][name][type u8][value]
// with the value layout fixed by the type (see HeaderType).
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"

namespace spectra::wire::eventstream {

inline constexpr std::size_t kPreludeBytes = 12;
inline constexpr std::size_t kMessageCrcBytes = 4;
inline constexpr std::size_t kMinMessageBytes = kPreludeBytes + kMessageCrcBytes;

// Wire type bytes. Booleans carry no value bytes: the type byte is the value.
enum class HeaderType : std::uint8_t {
  kBoolTrue = 0,
  kBoolFalse = 1,
  kByte = 2,       // int8
  kShort = 3,      // int16
  kInt = 4,        // int32
  kLong = 5,       // int64
  kBytes = 6,      // u16 length + bytes
  kString = 7,     // u16 length + UTF-8 bytes (not validated)
  kTimestamp = 8,  // int64 milliseconds since the Unix epoch
  kUuid = 9,       // 16 bytes
};

struct Bytes {
  std::string data;
  bool operator==(const Bytes&) const = default;
};

struct Timestamp {
  std::int64_t millis_since_epoch = 0;
  bool operator==(const Timestamp&) const = default;
};

struct Uuid {
  std::array<std::uint8_t, 16> bytes{};
  bool operator==(const Uuid&) const = default;
};

// The alternative held fixes the wire type: bool -> kBoolTrue/kBoolFalse,
// int8_t -> kByte, int16_t -> kShort, int32_t -> kInt, int64_t -> kLong,
// Bytes -> kBytes, std::string -> kString, Timestamp, Uuid.
using HeaderValue = std::variant<bool, std::int8_t, std::int16_t, std::int32_t, std::int64_t,
                                 Bytes, std::string, Timestamp, Uuid>;

HeaderType header_type(const HeaderValue& value);

struct Header {
  std::string name;
  HeaderValue value;
  bool operator==(const Header&) const = default;
};

struct Message {
  // Wire order is kept; names may repeat (lookups return the first).
  std::vector<Header> headers;
  std::string payload;

  const HeaderValue* find_header(std::string_view name) const;
  // The value of a string-typed header, or nullopt if absent or of another type.
  std::optional<std::string_view> string_header(std::string_view name) const;

  bool operator==(const Message&) const = default;
};

// Appends the encoding of `message` to `*out`. Fails with invalid_argument for
// what the format cannot carry: an empty or >255-byte header name, a string or
// bytes value over 65535 bytes, a message over 4 GiB. `*out` is unchanged on failure.
Status encode(const Message& message, std::string* out);
Result<std::string> encode(const Message& message);

struct DecoderLimits {
  // AWS caps messages at 16 MiB and the header block at 128 KiB.
  std::uint32_t max_message_bytes = 16u << 20;
  std::uint32_t max_headers_bytes = 128u << 10;
};

// Incremental decoder: feed bytes as they arrive, in chunks of any size (one
// byte at a time works), and complete messages come out in order.
//
// Errors are final: a CRC mismatch, a malformed header block or a message over
// the limits puts the decoder in a failed state, and every later feed() returns
// the same Status (there is no way to find the next frame boundary in a corrupt
// stream). Lengths are checked against the prelude before anything is buffered,
// so an oversize message is rejected after its first 12 bytes.
class Decoder {
 public:
  explicit Decoder(DecoderLimits limits = {}) : limits_(limits) {}

  // Appends every message completed by `chunk` to `*out`, including those
  // completed before an error in the same chunk.
  Status feed(std::string_view chunk, std::vector<Message>* out);

  // Call at end of stream: an error if the stream failed or stops mid-message.
  Status finish() const;

  std::size_t buffered_bytes() const { return buffer_.size(); }
  bool failed() const { return !error_.ok(); }

 private:
  // Validates the prelude at the front of `data` (>= kPreludeBytes) and
  // returns the message's total length.
  Result<std::uint32_t> check_prelude(std::string_view data) const;

  DecoderLimits limits_;
  std::string buffer_;  // bytes of a message not complete yet
  Status error_;
};

// Decodes exactly one complete message; `frame` must hold nothing else.
Result<Message> decode(std::string_view frame, const DecoderLimits& limits = {});

}  // namespace spectra::wire::eventstream
