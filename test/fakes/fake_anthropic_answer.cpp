// The fake's deterministic answer and its two renderings; the rules are in
// fake_anthropic_protocol.h.
#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <cstdint>

#include "fake_anthropic_protocol.h"
#include "wire/sse.h"

namespace spectra::fakes::anthropic {

namespace {

namespace sse = spectra::wire::sse;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    std::size_t start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    if (i > start) out.emplace_back(text.substr(start, i - start));
  }
  return out;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) {
    if (!out.empty()) out.push_back(' ');
    out += w;
  }
  return out;
}

// Text of a string or of the text blocks of an array, joined by spaces.
std::string text_of(const bj::value& content) {
  if (content.is_string()) return std::string(content.get_string());
  std::vector<std::string> parts;
  if (content.is_array()) {
    for (const bj::value& b : content.get_array()) {
      const bj::object& o = b.as_object();
      if (o.at("type") == "text") parts.emplace_back(o.at("text").as_string());
    }
  }
  return join(parts);
}

std::int64_t words_in(const bj::value& content) {
  if (!content.is_array()) return content.is_string() ? count_words(content.get_string()) : 0;
  std::int64_t n = 0;
  for (const bj::value& b : content.get_array()) {
    const bj::object& o = b.as_object();
    const bj::value& type = o.at("type");
    if (type == "text") n += count_words(o.at("text").as_string());
    if (type == "tool_result" && o.contains("content")) n += count_words(text_of(o.at("content")));
    if (type == "tool_use") {
      n += count_words(o.at("name").as_string()) + count_words(bj::serialize(o.at("input")));
    }
  }
  return n;
}

bool contains_ci(std::string_view hay, std::string_view needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
  return it != hay.end();
}

bj::value sample_value(const bj::value& schema) {
  const bj::object* s = schema.if_object();
  if (!s) return nullptr;
  if (const bj::value* e = s->if_contains("enum"); e && e->is_array() && !e->get_array().empty()) {
    return e->get_array()[0];
  }
  const bj::value* type = s->if_contains("type");
  if (!type) return nullptr;
  if (*type == "string") return "San Francisco, CA";
  if (*type == "number" || *type == "integer") return 1;
  if (*type == "boolean") return true;
  if (*type == "array") return bj::array{};
  if (*type == "object") return bj::object{};
  return nullptr;
}

bj::object sample_input(const bj::object& tool) {
  bj::object input;
  const bj::object& schema = tool.at("input_schema").as_object();
  if (const bj::value* props = schema.if_contains("properties"); props && props->is_object()) {
    for (const auto& kv : props->get_object()) input[kv.key()] = sample_value(kv.value());
  }
  return input;
}

// The tool to call, or null when the answer is text.
const bj::object* chosen_tool(const bj::object& request, std::string_view user_text) {
  const bj::value* tools = request.if_contains("tools");
  if (!tools || tools->get_array().empty()) return nullptr;
  const bj::value* choice = request.if_contains("tool_choice");
  std::string type = "auto";
  if (choice) type = std::string(choice->at("type").as_string());
  if (type == "none") return nullptr;
  if (type == "auto" && !contains_ci(user_text, "weather")) return nullptr;
  if (type == "tool") {
    for (const bj::value& t : tools->get_array()) {
      if (t.at("name") == choice->at("name")) return &t.as_object();
    }
  }
  return &tools->get_array()[0].as_object();
}

std::string sse_event(const std::string& type, const bj::object& data) {
  auto bytes = sse::encode(sse::Event{type, bj::serialize(data), ""});
  return bytes.ok() ? std::move(*bytes) : std::string();  // JSON never holds a raw CR
}

// Splits JSON text into fragments of at most `max` bytes, never inside a
// UTF-8 sequence.
std::vector<std::string> fragments(std::string_view text, std::size_t max) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t end = std::min(text.size(), i + max);
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
    out.emplace_back(text.substr(i, end - i));
    i = end;
  }
  return out;
}

}  // namespace

std::int64_t count_words(std::string_view text) {
  return static_cast<std::int64_t>(words_of(text).size());
}

Reply answer(const bj::object& request, std::uint64_t seq, CacheTokens cache) {
  Reply r;
  r.id = "msg_fake_" + std::to_string(seq);
  r.model = std::string(request.at("model").as_string());
  r.cache_read_input_tokens = cache.read;
  r.cache_creation_input_tokens = cache.creation;
  if (const bj::value* system = request.if_contains("system"))
    r.input_tokens += count_words(text_of(*system));
  const bj::array& messages = request.at("messages").as_array();
  const bj::value* last_user = nullptr;
  for (const bj::value& m : messages) {
    r.input_tokens += words_in(m.at("content"));
    if (m.at("role") == "user") last_user = &m.at("content");
  }
  std::string user_text;
  std::vector<std::string> tool_results;
  if (last_user) {
    user_text = text_of(*last_user);
    if (last_user->is_array()) {
      for (const bj::value& b : last_user->get_array()) {
        const bj::object& o = b.as_object();
        if (o.at("type") == "tool_result") {
          tool_results.push_back(o.contains("content") ? text_of(o.at("content")) : std::string());
        }
      }
    }
  }

  std::int64_t thinking_tokens = 0;
  if (const bj::value* th = request.if_contains("thinking"); th && (th->at("type") == "enabled" || th->at("type") == "adaptive")) {
    const std::string about = tool_results.empty() ? user_text : join(tool_results);
    const std::string thought = "Thinking about: " + join(words_of(about));
    thinking_tokens = count_words(thought);
    r.content.push_back(bj::object{{"type", "thinking"}, {"thinking", thought}, {"signature", thinking_signature(thought)}});
  }

  const bj::object* tool = tool_results.empty() ? chosen_tool(request, user_text) : nullptr;
  if (tool) {
    bj::object input = sample_input(*tool);
    r.output_tokens = thinking_tokens + std::max<std::int64_t>(1, count_words(bj::serialize(input)));
    r.content.push_back(bj::object{{"type", "tool_use"},
                                   {"id", "toolu_fake_" + std::to_string(seq)},
                                   {"name", tool->at("name")},
                                   {"input", std::move(input)}});
    r.stop_reason = "tool_use";
    return r;
  }

  std::string text;
  if (!tool_results.empty())
    text = "The tool returned: " + join(words_of(join(tool_results)));
  else
    text = "Echo: " + (user_text.empty() ? std::string("(no text)") : join(words_of(user_text)));
  r.stop_reason = "end_turn";
  if (const bj::value* stops = request.if_contains("stop_sequences")) {
    std::size_t best = std::string::npos;
    for (const bj::value& s : stops->get_array()) {
      std::string_view seq_text = s.get_string();
      if (seq_text.empty()) continue;
      std::size_t at = text.find(seq_text);
      if (at < best) {
        best = at;
        r.stop_sequence = std::string(seq_text);
      }
    }
    if (best != std::string::npos) {
      text = join(words_of(text.substr(0, best)));  // trailing space dropped
      r.stop_reason = "stop_sequence";
    }
  }
  std::vector<std::string> words = words_of(text);
  const bj::value& max_v = request.at("max_tokens");
  const std::int64_t max_tokens = max_v.is_int64() ? max_v.get_int64() : INT64_MAX;
  if (static_cast<std::int64_t>(words.size()) > max_tokens) {
    words.resize(static_cast<std::size_t>(max_tokens));
    text = join(words);
    r.stop_reason = "max_tokens";
    r.stop_sequence.reset();
  }
  r.output_tokens = thinking_tokens + std::max<std::int64_t>(1, static_cast<std::int64_t>(words.size()));
  r.content.push_back(bj::object{{"type", "text"}, {"text", text}});
  return r;
}

bj::object message_json(const Reply& r) {
  bj::object usage{{"input_tokens", r.input_tokens},
                   {"cache_creation_input_tokens", r.cache_creation_input_tokens},
                   {"cache_read_input_tokens", r.cache_read_input_tokens},
                   {"output_tokens", r.output_tokens}};
  bj::object m{{"id", r.id},       {"type", "message"},    {"role", "assistant"},
               {"model", r.model}, {"content", r.content}, {"stop_reason", r.stop_reason}};
  if (r.stop_sequence)
    m["stop_sequence"] = *r.stop_sequence;
  else
    m["stop_sequence"] = nullptr;
  m["usage"] = std::move(usage);
  return m;
}

std::vector<StreamEvent> stream_events(const Reply& r) {
  std::vector<StreamEvent> out;
  bj::object start = message_json(r);
  start["content"] = bj::array{};
  start["stop_reason"] = nullptr;
  start["stop_sequence"] = nullptr;
  start["usage"].as_object()["output_tokens"] = 1;
  out.push_back({sse_event("message_start",
                           bj::object{{"type", "message_start"}, {"message", std::move(start)}})});

  for (std::size_t index = 0; index < r.content.size(); ++index) {
    const bj::object& block = r.content.at(index).as_object();
    const bool is_tool = block.at("type") == "tool_use";
    const bool is_thinking = block.at("type") == "thinking";
    bj::object initial = block;
    if (is_tool) {
      initial["input"] = bj::object{};
    } else if (is_thinking) {
      initial["thinking"] = "";
      initial["signature"] = "";
    } else {
      initial["text"] = "";
    }
    out.push_back(
        {sse_event("content_block_start", bj::object{{"type", "content_block_start"},
                                                     {"index", index},
                                                     {"content_block", std::move(initial)}})});
    if (index == 0) out.push_back({sse_event("ping", bj::object{{"type", "ping"}})});

    std::vector<std::string> pieces;
    if (is_tool) {
      pieces = fragments(bj::serialize(block.at("input")), 8);
    } else {
      std::vector<std::string> words = words_of(block.at(is_thinking ? "thinking" : "text").as_string());
      for (std::size_t i = 0; i < words.size(); ++i)
        pieces.push_back(i == 0 ? words[i] : " " + words[i]);
    }
    for (const std::string& p : pieces) {
      bj::object delta = is_tool       ? bj::object{{"type", "input_json_delta"}, {"partial_json", p}}
                         : is_thinking ? bj::object{{"type", "thinking_delta"}, {"thinking", p}}
                                       : bj::object{{"type", "text_delta"}, {"text", p}};
      out.push_back({sse_event("content_block_delta", bj::object{{"type", "content_block_delta"},
                                                                 {"index", index},
                                                                 {"delta", std::move(delta)}}),
                     true});
    }
    if (is_thinking) {
      out.push_back({sse_event("content_block_delta",
                               bj::object{{"type", "content_block_delta"},
                                          {"index", index},
                                          {"delta", bj::object{{"type", "signature_delta"}, {"signature", block.at("signature")}}}})});
    }
    out.push_back(
        {sse_event("content_block_stop", bj::object{{"type", "content_block_stop"}, {"index", index}})});
  }
  bj::object delta{{"stop_reason", r.stop_reason}};
  if (r.stop_sequence)
    delta["stop_sequence"] = *r.stop_sequence;
  else
    delta["stop_sequence"] = nullptr;
  out.push_back({sse_event("message_delta",
                           bj::object{{"type", "message_delta"},
                                      {"delta", std::move(delta)},
                                      {"usage", bj::object{{"output_tokens", r.output_tokens}}}})});
  out.push_back({sse_event("message_stop", bj::object{{"type", "message_stop"}})});
  return out;
}

StreamEvent error_event(const std::string& type, const std::string& message) {
  return {sse_event(
      "error",
      bj::object{{"type", "error"}, {"error", bj::object{{"type", type}, {"message", message}}}})};
}

}  // namespace spectra::fakes::anthropic
