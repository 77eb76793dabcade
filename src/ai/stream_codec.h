#pragma once
// Converting between a whole chat.completion and its chunk stream, so a
// response cached from a non-streamed call can be replayed as a stream and a
// streamed one can be cached (and metered) as a whole.
#include <boost/json/object.hpp>

#include <map>
#include <string>
#include <vector>

namespace spectra::ai {

namespace bj = boost::json;

// Chunks equivalent to `completion`: a role chunk, content, tool calls,
// the finish chunk, and (if include_usage) a final usage-only chunk.
std::vector<bj::object> completion_to_chunks(const bj::object& completion, bool include_usage);

// Accumulates chat.completion.chunk objects into a chat.completion.
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

// "data: <json>\n\n"
std::string sse_data(const bj::object& o);

// "event: <o.type>\ndata: <json>\n\n" (Anthropic's events name their type twice).
std::string sse_event(const bj::object& o);

}  // namespace spectra::ai
