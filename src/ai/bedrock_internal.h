#pragma once
// Helpers shared by the Bedrock adapter's translation units. Not a public
// interface: include only from src/ai/bedrock_*.cpp.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ai/adapter.h"

namespace spectra::ai::bedrock::detail {

// Untrusted upstream JSON: bounded size and depth.
inline constexpr std::size_t kMaxResponseBytes = 32u << 20;
inline constexpr std::size_t kMaxJsonDepth = 128;

// Typed lookups that return null / empty / nullopt on absence or wrong type.
const bj::object* object_at(const bj::object& o, std::string_view key);
const bj::array* array_at(const bj::object& o, std::string_view key);
const bj::string* string_at(const bj::object& o, std::string_view key);
std::optional<std::int64_t> int_at(const bj::object& o, std::string_view key);
std::optional<double> number_at(const bj::object& o, std::string_view key);

// Converse TokenUsage -> Usage (reported = true). Negative or non-integer
// counts are treated as absent.
Usage parse_usage(const bj::object& usage);

// The guardrail trace of a Converse answer or a ConverseStream metadata
// event (`holder`'s trace.guardrail), if any, into *u: its billed text
// units (in all, and by policy: at most kMaxGuardrailActed policies, names
// cut to 64 bytes), and the policies of its input and output assessments whose action
// was not NONE, as "<policy>:<name or type>" in the order the trace gives
// them, once each (at most kMaxGuardrailActed, each cut to 128 bytes).
inline constexpr std::size_t kMaxGuardrailActed = 16;
void read_guardrail_trace(const bj::object& holder, Usage* u);

// An in-stream exception (`:exception-type`, camelCase as on the wire; the
// PascalCase form of HTTP error types is accepted too).
UpstreamError exception_error(std::string_view exception_type, std::string_view message);

// A failed parse: stores `e` in *out (if given) and returns the Status the
// core reads: kUnavailable when retryable, kIo for a bad gateway answer,
// kInvalidArgument otherwise.
Status upstream_failure(UpstreamError e, UpstreamError* out);

// The message of a Bedrock error body, or a fallback naming the status.
std::string error_message(unsigned http_status, std::string_view body);

// An error for an upstream answer the adapter cannot read (502, not retried:
// the model already ran).
UpstreamError malformed_error(std::string message);

}  // namespace spectra::ai::bedrock::detail
