#pragma once
// Anthropic answers -> OpenAI objects: whole messages, usage, stop reasons and
// errors. Pure; the stream translator (ai/anthropic_stream.h) shares these.
#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "ai/adapter.h"

namespace spectra::ai::anthropic {

// end_turn/stop_sequence/pause_turn -> stop, max_tokens -> length,
// tool_use -> tool_calls, refusal -> content_filter; anything else -> stop.
std::string finish_reason(std::string_view stop_reason);

// Anthropic's usage counters as reported. merge() takes only the fields
// present, so message_delta's (cumulative, possibly partial) usage updates
// what message_start gave.
struct RawUsage {
  std::int64_t input = 0;
  std::int64_t cache_read = 0;
  std::int64_t cache_creation = 0;
  std::int64_t output = 0;
  bool seen = false;
  void merge(const bj::object& anthropic_usage);
  // prompt = input + cache_read + cache_creation; cached = cache_read.
  Usage to_usage() const;
};
// A `type: "message"` object -> `chat.completion`. `model` is used when the
// message names none. Fails (kInvalidArgument) on a malformed message.
Result<bj::object> translate_message(const bj::object& message, std::string_view model,
                                     Usage* usage);

// Error translation. The Anthropic error type decides the status the client
// sees (overloaded_error -> 503); without a recognisable body the upstream
// HTTP status does.
UpstreamError translate_error(unsigned http_status, std::string_view body);
// From the `error` member {type, message} of an error body or stream event.
UpstreamError translate_error_object(unsigned http_status, const bj::object& error);
// The upstream broke the protocol (bad JSON, wrong event order, cut stream).
UpstreamError protocol_error(std::string message);

// Parses untrusted upstream JSON (size and depth limited) into an object.
Result<bj::object> parse_object(std::string_view text, std::size_t max_bytes);

}  // namespace spectra::ai::anthropic
