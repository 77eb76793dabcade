#include "ai/anthropic_replay.h"

#include <boost/json/serialize.hpp>

#include "ai/stream_codec.h"
#include "common/json_util.h"

namespace spectra::ai::anthropic {

namespace {

using json::string_at;

bool is_string(const bj::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string();
}

// A block this can replay: of a known type, with its fields' types right
// (what the replay writes, it must read back the same).
bool replayable(const bj::object& b) {
  const std::string_view type = string_at(b, "type");
  if (b.contains("citations")) return false;
  if (type == "text") return is_string(b, "text");
  if (type == "tool_use") return is_string(b, "id") && is_string(b, "name");
  if (type == "thinking") return is_string(b, "thinking") && (!b.contains("signature") || is_string(b, "signature"));
  if (type == "redacted_thinking") return is_string(b, "data");
  return false;
}

}  // namespace

void MessageAssembler::add(const bj::object& event) {
  if (unsupported_ || stopped_) return;
  const std::string_view type = string_at(event, "type");
  if (type == "message_start") {
    const auto* m = event.if_contains("message");
    if (!m || !m->is_object() || started_) {
      unsupported_ = true;
      return;
    }
    message_ = m->get_object();
    started_ = true;
    return;
  }
  if (type == "ping") return;
  if (!started_) {
    unsupported_ = true;
    return;
  }
  const auto* index = event.if_contains("index");
  const std::int64_t i = index ? json::to_int(*index, -1) : -1;
  if (type == "content_block_start") {
    const auto* b = event.if_contains("content_block");
    if (i != static_cast<std::int64_t>(blocks_.size()) || !b || !b->is_object() || !replayable(b->get_object())) {
      unsupported_ = true;
      return;
    }
    blocks_.push_back(b->get_object());
    partial_json_.emplace_back();
    closed_.push_back(false);
    return;
  }
  if (type == "content_block_delta" || type == "content_block_stop") {
    if (i < 0 || i >= static_cast<std::int64_t>(blocks_.size())) {
      unsupported_ = true;
      return;
    }
    bj::object& block = blocks_[static_cast<std::size_t>(i)];
    if (closed_[static_cast<std::size_t>(i)]) {
      unsupported_ = true;
      return;
    }
    if (type == "content_block_stop") {
      closed_[static_cast<std::size_t>(i)] = true;
      if (string_at(block, "type") == "tool_use") {
        const std::string& pieces = partial_json_[static_cast<std::size_t>(i)];
        auto input = json::parse(pieces.empty() ? "{}" : pieces, {.max_bytes = 8 << 20, .max_depth = 64});
        if (!input.ok() || !input->is_object()) {
          unsupported_ = true;
          return;
        }
        block["input"] = std::move(*input);
      }
      return;
    }
    const auto* d = event.if_contains("delta");
    const bj::object empty;
    const bj::object& delta = d && d->is_object() ? d->get_object() : empty;
    const std::string_view kind = string_at(delta, "type");
    auto append = [&](const char* field, std::string_view piece) {
      std::string text(string_at(block, field));
      text += piece;
      block[field] = text;
    };
    if (kind == "text_delta" && string_at(block, "type") == "text") {
      append("text", string_at(delta, "text"));
    } else if (kind == "input_json_delta" && string_at(block, "type") == "tool_use") {
      partial_json_[static_cast<std::size_t>(i)] += string_at(delta, "partial_json");
    } else if (kind == "thinking_delta" && string_at(block, "type") == "thinking") {
      append("thinking", string_at(delta, "thinking"));
    } else if (kind == "signature_delta" && string_at(block, "type") == "thinking") {
      block["signature"] = string_at(delta, "signature");
    } else {
      unsupported_ = true;
    }
    return;
  }
  if (type == "message_delta") {
    if (const auto* d = event.if_contains("delta"); d && d->is_object()) {
      for (const auto& [k, v] : d->get_object()) message_[k] = v;
    }
    if (const auto* u = event.if_contains("usage"); u && u->is_object()) {
      bj::value& usage = message_["usage"];
      if (!usage.is_object()) usage = bj::object();
      for (const auto& [k, v] : u->get_object()) usage.get_object()[k] = v;
    }
    return;
  }
  if (type == "message_stop") {
    stopped_ = true;
    return;
  }
  unsupported_ = true;  // an error event, or a type this does not know
}

std::optional<bj::object> MessageAssembler::message() const {
  if (!started_ || !stopped_ || unsupported_) return std::nullopt;
  for (bool closed : closed_) {
    if (!closed) return std::nullopt;
  }
  bj::object m = message_;
  bj::array content;
  for (const auto& b : blocks_) content.push_back(b);
  m["content"] = std::move(content);
  return m;
}

std::string message_events(const bj::object& message) {
  const auto* content = message.if_contains("content");
  if (!content || !content->is_array()) return {};
  // The end's fields come with message_delta, as Anthropic sends them.
  bj::object start = message;
  start["content"] = bj::array();
  bj::object delta;
  for (const char* end : {"stop_reason", "stop_sequence"}) {
    if (const auto* v = message.if_contains(end)) {
      delta[end] = *v;
      start[end] = nullptr;
    }
  }
  std::string out = sse_event(bj::object{{"type", "message_start"}, {"message", std::move(start)}});
  std::int64_t i = 0;
  for (const auto& bv : content->get_array()) {
    if (!bv.is_object() || !replayable(bv.get_object())) return {};
    const auto& b = bv.get_object();
    const std::string_view type = string_at(b, "type");
    bj::object opening = b;
    bj::object piece;
    if (type == "text") {
      opening["text"] = "";
      piece = {{"type", "text_delta"}, {"text", string_at(b, "text")}};
    } else if (type == "tool_use") {
      const auto* input = b.if_contains("input");
      if (!input || !input->is_object()) return {};
      opening["input"] = bj::object();
      piece = {{"type", "input_json_delta"}, {"partial_json", bj::serialize(*input)}};
    } else if (type == "thinking") {
      opening["thinking"] = "";
      if (b.contains("signature")) opening["signature"] = "";
      piece = {{"type", "thinking_delta"}, {"thinking", string_at(b, "thinking")}};
    }
    out += sse_event(bj::object{{"type", "content_block_start"}, {"index", i}, {"content_block", std::move(opening)}});
    if (!piece.empty()) {
      out += sse_event(bj::object{{"type", "content_block_delta"}, {"index", i}, {"delta", std::move(piece)}});
    }
    if (type == "thinking" && b.contains("signature")) {
      out += sse_event(bj::object{{"type", "content_block_delta"},
                                  {"index", i},
                                  {"delta", bj::object{{"type", "signature_delta"}, {"signature", string_at(b, "signature")}}}});
    }
    out += sse_event(bj::object{{"type", "content_block_stop"}, {"index", i}});
    ++i;
  }
  bj::object md{{"type", "message_delta"}, {"delta", std::move(delta)}};
  if (const auto* u = message.if_contains("usage")) md["usage"] = *u;
  out += sse_event(md);
  out += sse_event(bj::object{{"type", "message_stop"}});
  return out;
}

}  // namespace spectra::ai::anthropic
