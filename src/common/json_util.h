#pragma once
// Parsing untrusted JSON with explicit limits, and JSON Pointer helpers.
#include <boost/json/value.hpp>

#include <initializer_list>
#include <string>
#include <string_view>

#include "common/result.h"

namespace spectra::json {

namespace bj = boost::json;

struct ParseLimits {
  std::size_t max_bytes = 1 << 20;
  std::size_t max_depth = 64;
};

// Parses one JSON document; any error (syntax, depth, size, trailing bytes,
// invalid UTF-8) is an invalid_argument Status with the byte offset named.
Result<bj::value> parse(std::string_view text, const ParseLimits& limits = {});

// Escapes one reference token for a JSON Pointer (RFC 6901).
std::string pointer_escape(std::string_view token);
std::string pointer_join(std::string_view base, std::string_view token);
std::string pointer_join(std::string_view base, std::size_t index);

// Serializes with object keys sorted, for stable hashes and diffs. Byte
// for byte what boost::json::serialize writes, apart from the key order.
std::string canonical(const bj::value& v);
// The canonical form of `o` without the top-level members named in `skip`
// (no copy of the object is made), appended to `out`.
void canonical_into(const bj::object& o, std::initializer_list<std::string_view> skip, std::string& out);
// Appends `s` as a JSON string literal, escaped as boost::json does.
void append_string(std::string& out, std::string_view s);

std::string pretty(const bj::value& v);

// Writes one JSON object member by member into `out`, without building a
// DOM: for records made on a hot path (the audit line of every request).
// Keys and strings are escaped as boost::json does; a double that is not
// finite is written as null.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_.push_back('{'); }
  ObjectWriter& str(std::string_view key, std::string_view value);
  ObjectWriter& num(std::string_view key, std::int64_t value);
  ObjectWriter& num(std::string_view key, double value);
  ObjectWriter& boolean(std::string_view key, bool value);
  ObjectWriter& null(std::string_view key);
  // A value that is already JSON text, written as it is.
  ObjectWriter& raw(std::string_view key, std::string_view json);
  // Ends the object; `out` then holds it whole.
  void close() { out_.push_back('}'); }

 private:
  void key(std::string_view k);
  std::string& out_;
  bool first_ = true;
};

// The string member `key` of `o`, or "" when it is absent or not a string
// (untrusted JSON read field by field). Valid while `o` is.
std::string_view string_at(const bj::object& o, std::string_view key);

// True when `items` is an array with an object element that has `key`
// (a null `items` or any other value: false).
bool any_element_has(const bj::value* items, std::string_view key);

// An integer from untrusted JSON without throwing: integers as they are,
// doubles truncated when finite and in range, anything else `fallback`.
// (boost::json's to_number<T>() throws when the value does not fit.)
std::int64_t to_int(const bj::value& v, std::int64_t fallback = 0);

}  // namespace spectra::json
