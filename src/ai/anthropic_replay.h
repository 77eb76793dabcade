#pragma once
// Anthropic's Messages API answers, whole and streamed, for the exact cache
// of /v1/messages: a stream's events assembled into the message they
// describe (what the cache keeps, as for a whole answer), and a whole
// message replayed as the event stream Anthropic sends for it. Pure.
//
// Blocks kept: text, tool_use (input from its input_json_delta pieces),
// thinking (thinking_delta, signature_delta) and redacted_thinking. A
// stream with anything else (citations, server tool blocks, a delta type
// not listed) is not assembled: such an answer is not cached rather than
// cached lossy.
#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

namespace spectra::ai::anthropic {

namespace bj = boost::json;

class MessageAssembler {
 public:
  // One event's data (its "type" says which).
  void add(const bj::object& event);
  // The message, once message_stop came and nothing unsupported did.
  std::optional<bj::object> message() const;

 private:
  bj::object message_;
  std::vector<bj::object> blocks_;
  std::vector<std::string> partial_json_;  // per block: tool_use input pieces
  std::vector<bool> closed_;               // per block: content_block_stop seen
  bool started_ = false, stopped_ = false, unsupported_ = false;
};

// A whole message as Anthropic's event stream: message_start (content
// empty, stop_reason null), per block content_block_start, its deltas
// (the whole text, input or thinking in one), content_block_stop, then
// message_delta (stop_reason, stop_sequence, usage) and message_stop. A
// message with a block it cannot replay gives "" (the caller goes
// upstream instead).
std::string message_events(const bj::object& message);

}  // namespace spectra::ai::anthropic
