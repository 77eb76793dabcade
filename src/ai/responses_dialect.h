#pragma once
// OpenAI's Responses API in front of the chat pipeline: a /v1/responses
// request for a model whose provider does not speak it (Anthropic, Bedrock),
// or a local-only key's call to an alias with in-account fallbacks, is
// translated into a chat request, served by the chat pipeline (routes,
// fallbacks, overflow, both caches, limits, metering, audit), and its answer
// written back as a response object or the Responses API's typed events.
//
// Request: instructions -> a system message; input as a string -> a user
// message; input items: messages (user, system, developer -> system,
// assistant) with input_text / input_image / output_text / refusal parts;
// function_call items -> an assistant message's tool_calls (consecutive
// calls share one); function_call_output -> a tool message; a reasoning
// item this gateway made (its encrypted_content holds the model's signed
// thinking) -> thinking_blocks on the assistant turn it preceded, others
// dropped (another model's notes). Function tools -> chat functions;
// tool_choice auto | none | required | {type: function, name};
// parallel_tool_calls; max_output_tokens -> max_tokens; temperature, top_p;
// reasoning.effort -> reasoning_effort; text.format json_object /
// json_schema -> response_format; user or safety_identifier -> user.
// Dropped: include, truncation, metadata, service_tier, prompt_cache_key,
// stream_options, top_logprobs.
// Refused with 400 naming the field: built-in tools (web search, file
// search, computer use, MCP...), files and audio, item references and
// prompt templates (stored at OpenAI).
//
// State: with store (the default) the gateway keeps each answer with the
// conversation it ends (Gateway::keep_response); previous_response_id
// continues that conversation — its chat messages come first, before this
// call's input, the instructions of this call only (as OpenAI does).
//
// Answer: a response object (status completed, or incomplete with
// max_output_tokens / content_filter) with a reasoning item for a model's
// thinking (its text as the summary, Claude's signed blocks base64 in
// encrypted_content; streamed as reasoning_summary_part/_text events), a
// message item (output_text or refusal) and a function_call item per tool
// call; usage in
// the Responses API's names (input_tokens include cached ones, as
// OpenAI's do); store as asked. Ids derive from the gateway's request id.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "ai/dialect.h"
#include "common/result.h"

namespace spectra::ai::responses {

namespace bj = boost::json;

struct Translation {
  bj::object chat;  // the chat request (its model unchanged)
  bj::object echo;  // the request's settings, as a response object repeats them
  bj::array conversation;  // the history and this input as chat messages (no instructions)
  bool store = true;  // the client asks the answer to be kept
};

// `history`: the chat messages of the conversation a previous_response_id
// names (required when the request has one). An error is
// kInvalidArgument; *param names the field at fault.
Result<Translation> to_chat_request(const bj::object& request, const bj::array* history, std::string* param);

// The request's input as the Responses API lists it (input_items): items
// with ids (given ones kept, others "in_<request id>_<n>"), a string input
// as one user message, string contents as text parts.
bj::array input_items(const bj::object& request, std::string_view request_id);

// The answer's assistant turn, as the chat message a continuation sends.
bj::object assistant_message(const bj::object& completion);

// What names a translated answer: ids are derived from `request_id`.
struct Identity {
  std::string request_id;
  std::int64_t created_at = 0;  // seconds since the epoch
};

// A chat completion as a response object.
bj::object to_response(const bj::object& completion, const bj::object& echo, const Identity& id);

// The Responses API's usage object for a chat Usage.
bj::object usage_object(const Usage& u);

// Chat chunks as the Responses API's typed events: response.created and
// .in_progress; per output item output_item.added, then for a message
// content_part.added, output_text.delta (or refusal.delta)..., their .done
// events and content_part.done; for a function call
// function_call_arguments.delta... and .done; output_item.done; and
// response.completed (or .incomplete) with the whole response. A failure
// after the first byte: an error event and response.failed.
class EventWriter : public DialectStream {
 public:
  EventWriter(bj::object echo, Identity id) : echo_(std::move(echo)), id_(std::move(id)) {}
  std::string chunk(const bj::object& chunk) override;
  std::string end(const Usage& usage) override;
  std::string error(std::string_view message) override;

 private:
  std::string event(const char* type, bj::object data);
  std::string start_if_needed();
  std::string open_message(bool refusal);
  std::string open_reasoning();
  std::string close_item();
  bj::object response(const char* status) const;

  bj::object echo_;
  Identity id_;
  std::int64_t seq_ = 0;
  bool started_ = false;
  bj::array output_;        // finished items
  bool open_ = false;       // an item (output_.size()) is open
  bool open_is_call_ = false;
  std::int64_t call_index_ = -1;  // the chat tool_call index of the open call
  bool open_is_reasoning_ = false;
  bool part_is_refusal_ = false;
  std::string text_;        // the open message's text or refusal, or the reasoning's summary
  bj::array blocks_;        // the open reasoning item's signed thinking
  bj::object call_;         // the open function_call item
  std::string finish_ = "stop";
};

}  // namespace spectra::ai::responses
