#pragma once
// Anthropic's Messages API in front of the chat pipeline: a /v1/messages
// request for a model that is not an Anthropic provider's (a local vLLM, an
// OpenAI or Bedrock model) is translated into a chat request, served by the
// chat pipeline (routes, fallbacks, overflow, caches, metering), and its
// answer translated back — whole, or as Anthropic's event stream.
//
// Request: system (string or text blocks) -> a system message; text and
// image blocks -> content parts; an assistant's tool_use blocks ->
// tool_calls; a user's tool_result blocks -> tool messages (before the rest
// of that turn); tools -> functions; tool_choice auto|any|tool|none ->
// auto|required|{function}|none, disable_parallel_tool_use ->
// parallel_tool_calls: false; stop_sequences -> stop; metadata.user_id ->
// user; temperature, top_p, max_tokens as they are; thinking and
// output_config as they are, an assistant turn's signed thinking and
// redacted_thinking blocks -> its thinking_blocks, and cache_control on
// system, text, image and tool_result blocks and on tools kept on the chat
// parts and tools (prompt caching): Claude on Bedrock takes them as
// Anthropic does, an OpenAI-compatible upstream gets none of them
// (without_claude_fields). Dropped: top_k, and unsigned thinking blocks
// (another model's notes). Refused (400, naming the field): documents,
// server tools, MCP servers, containers.
//
// Answer: content [thinking, text, tool_use...] — a reasoning model's
// thinking (reasoning_content / reasoning, as vLLM's reasoning parsers
// send it) as a thinking block with an empty signature (nothing to verify:
// the model is not Anthropic's; streamed as thinking_delta events), or
// Claude-on-Bedrock's signed thinking_blocks as they are —, stop_reason from finish_reason
// (stop -> end_turn, length -> max_tokens, tool_calls -> tool_use,
// content_filter -> refusal), usage with input_tokens excluding cache reads
// (Anthropic's convention; cache_read_input_tokens has them).
#include <boost/json/object.hpp>

#include <string>
#include <string_view>

#include "ai/adapter.h"
#include "ai/dialect.h"
#include "common/result.h"

namespace spectra::ai::messages {

namespace bj = boost::json;

// The chat request for a Messages request (its model unchanged). An error
// is kInvalidArgument; *param names the field at fault.
Result<bj::object> to_chat_request(const bj::object& request, std::string* param);

// A chat completion as an Anthropic message; `id` like "msg_<request id>".
bj::object to_message(const bj::object& completion, std::string_view id, std::string_view model);

// Anthropic's usage object for a chat Usage.
bj::object usage_object(const Usage& u);

// Anthropic's error event (ends a stream that failed after its first byte).
std::string error_event(std::string_view type, std::string_view message);

// Chat completion chunks, in order, as Anthropic's event stream:
// message_start, content_block_start/delta/stop per text or tool_use block,
// message_delta (stop_reason, usage), message_stop.
class EventWriter : public DialectStream {
 public:
  EventWriter(std::string id, std::string model) : id_(std::move(id)), model_(std::move(model)) {}
  // Events for one chunk (message_start before the first).
  std::string chunk(const bj::object& chunk) override;
  // The closing events, with the upstream's usage.
  std::string end(const Usage& usage) override;
  std::string error(std::string_view message) override { return error_event("api_error", message); }

 private:
  std::string start_if_needed();
  std::string close_block();
  std::string id_, model_;
  bool started_ = false;
  std::string open_block(bj::object block);
  int next_ = 0;           // index of the next content block
  bool open_ = false;      // a block (index next_ - 1) is open
  bool block_is_text_ = false;
  bool block_is_thinking_ = false;
  std::int64_t tool_ = -1;  // the chat tool_call index the open tool_use block is for
  std::string stop_reason_ = "end_turn";
};

}  // namespace spectra::ai::messages
