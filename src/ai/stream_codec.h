#pragma once
// Converting between a whole chat.completion and its chunk stream, so a
// response cached from a non-streamed call can be replayed as a stream and a
// streamed one can be cached (and metered) as a whole.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace spectra::ai {

namespace bj = boost::json;

// Chunks equivalent to `completion`: a role chunk, a reasoning model's
// thinking (reasoning_content or reasoning, as the answer has it; then
// Anthropic's signed thinking_blocks, whole), content,
// tool calls, the finish chunk, and (if include_usage) a final usage-only
// chunk.
std::vector<bj::object> completion_to_chunks(const bj::object& completion, bool include_usage);

// Accumulates chat.completion.chunk objects into a chat.completion (the
// thinking of a reasoning model included: vLLM's reasoning parsers and
// DeepSeek send it as delta.reasoning_content, newer vLLM as
// delta.reasoning).
class ChunkAssembler {
 public:
  void add(const bj::object& chunk);
  bj::object completion() const;
  bool has_content() const { return any_delta_; }

 private:
  struct ToolCall {
    std::string id, type = "function", name, arguments;
  };
  struct Choice {
    std::string role = "assistant";
    std::string content;
    std::string reasoning_content, reasoning;  // a reasoning model's thinking, in the field it came in
    bj::array thinking_blocks;                 // Anthropic's signed thinking, whole blocks
    bool has_content = false;
    std::string refusal;
    std::map<std::int64_t, ToolCall> tool_calls;
    bj::value finish_reason = nullptr;
  };
  std::string id_, model_, system_fingerprint_;
  std::int64_t created_ = 0;
  std::map<std::int64_t, Choice> choices_;
  bj::value usage_ = nullptr;
  bool any_delta_ = false;
};

// The first choice of a chat.completion or chunk, or null (untrusted JSON
// read field by field).
const bj::object* first_choice(const bj::object& completion_or_chunk);

// A chunk's choice's delta, or null when it has none (or not an object).
const bj::object* delta_of(const bj::object& choice);

// A tool call of a chat message, or its delta in a chunk: index (0 when
// absent), id, function name and arguments ("" when absent). Valid while
// `call` is.
struct ToolCallParts {
  std::int64_t index = 0;
  std::string_view id, name, arguments;
};
ToolCallParts tool_call_parts(const bj::object& call);

// A chat message's or delta's thinking text: reasoning_content (vLLM's
// reasoning parsers, DeepSeek, and the gateway's for Claude) and reasoning
// (newer vLLM, gpt-oss), concatenated (an upstream sends one of them; the
// same rule whole and streamed keeps the two equal).
std::string reasoning_text(const bj::object& message_or_delta);

// "data: <json>\n\n"
std::string sse_data(const bj::object& o);

// "event: <o.type>\ndata: <json>\n\n" (Anthropic's events name their type twice).
std::string sse_event(const bj::object& o);

}  // namespace spectra::ai
