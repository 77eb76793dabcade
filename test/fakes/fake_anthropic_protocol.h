#pragma once
// The protocol half of the fake Anthropic Messages API: request validation,
// the deterministic answer, and its rendering as JSON or as the real SSE event
// sequence. Pure functions, so the fake's behaviour is testable without
// sockets; test/fakes/fake_anthropic.h puts them behind an HTTP server.
//
// Deterministic answer, from the last user message:
//   - it holds tool_result blocks  -> text "The tool returned: <their text>"
//   - tools are given, tool_choice is not none, and tool_choice is any/tool or
//     the user text contains "weather" (any case) -> one tool_use block for the
//     chosen tool (tool_choice.name, else the first tool); its input fills each
//     property of the tool's input_schema: string "San Francisco, CA",
//     number/integer 1, boolean true, array [], object {}
//   - otherwise -> text "Echo: <user text>" ("Echo: (no text)" if it has none)
//   then stop_sequences cut the text at the earliest match (stop_reason
//   stop_sequence), and a text longer than max_tokens words is cut to
//   max_tokens words (stop_reason max_tokens).
// With thinking enabled the answer starts with a thinking block, "Thinking
// about: <user text or tool results>", signed with thinking_signature();
// its words count as output tokens. A thinking block sent back must carry
// that signature (Anthropic verifies it).
// Usage, exact and documented so tests can predict it:
//   input_tokens  = whitespace-separated words in system, every text block,
//                   every tool_result's text, and every tool_use's name and
//                   serialized input (tool definitions do not count)
//   output_tokens = words in the answer text, or in the tool_use's serialized
//                   input (at least 1)
//   cache_read_input_tokens / cache_creation_input_tokens = as configured.
// Streaming: a thinking block as one thinking_delta per word and a
// signature_delta; one text_delta per word (the word with its leading space), or
// input_json_delta fragments of at most 8 bytes (never splitting a UTF-8
// character); message_start reports output_tokens 1, message_delta the total.
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spectra::fakes::anthropic {

namespace bj = boost::json;

struct ApiError {
  unsigned status = 400;
  std::string type;  // invalid_request_error, authentication_error, ...
  std::string message;
};

// The Anthropic error type the real API uses with an HTTP status.
std::string error_type_for_status(unsigned status);
// {"type":"error","error":{"type","message"},"request_id"}.
std::string error_body(const ApiError& error, std::string_view request_id);

// Validates a request body like the real API does (a documented subset:
// required model/max_tokens/messages, no unknown top-level fields, strictly
// alternating roles, well-formed blocks, tool_use/tool_result pairing, ranges
// of temperature/top_p, tools and tool_choice). nullopt when valid.
std::optional<ApiError> validate(const bj::value& body);

// The signature the fake gives a thinking block's text.
std::string thinking_signature(std::string_view thinking);

struct Reply {
  std::string id;  // msg_fake_<n>
  std::string model;
  bj::array content;  // the answer's blocks (a thinking block, then one text or one tool_use)
  std::string stop_reason;
  std::optional<std::string> stop_sequence;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t cache_read_input_tokens = 0;
  std::int64_t cache_creation_input_tokens = 0;
};

struct CacheTokens {
  std::int64_t read = 0;
  std::int64_t creation = 0;
};

// `request` must have passed validate(). `seq` numbers ids.
Reply answer(const bj::object& request, std::uint64_t seq, CacheTokens cache = {});

// Whitespace-separated words.
std::int64_t count_words(std::string_view text);

// The non-streaming response body (a `message` object).
bj::object message_json(const Reply& reply);

struct StreamEvent {
  std::string bytes;      // one complete SSE event
  bool is_delta = false;  // a content_block_delta
};
// message_start, content_block_start, ping, content_block_delta x N,
// content_block_stop, message_delta, message_stop.
std::vector<StreamEvent> stream_events(const Reply& reply);
// An `error` event as the real API sends it mid-stream.
StreamEvent error_event(const std::string& type, const std::string& message);

}  // namespace spectra::fakes::anthropic
