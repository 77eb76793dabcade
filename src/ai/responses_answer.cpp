// The answer side of the Responses API's translation: a chat completion as
// a response object, its chunks as the typed event stream, and the turn a
// kept answer adds to its conversation (see responses_dialect.h).
#include <boost/json/serialize.hpp>

#include "ai/openai_adapter.h"
#include "ai/responses_dialect.h"
#include "ai/stream_codec.h"
#include "common/crypto.h"
#include "common/json_util.h"

namespace spectra::ai::responses {

namespace {

using json::string_at;

std::string item_id(const Identity& id, const char* prefix, std::size_t n) {
  return std::string(prefix) + id.request_id + (n ? "_" + std::to_string(n) : std::string());
}

// A response object: the echo, named, with its output and status.
bj::object make_response(const bj::object& echo, const Identity& id, bj::array output, std::string_view finish,
                         const bj::value& usage) {
  bj::object r = echo;
  r["id"] = "resp_" + id.request_id;
  r["created_at"] = id.created_at;
  if (finish == "length" || finish == "content_filter") {
    r["status"] = "incomplete";
    r["incomplete_details"] = bj::object{{"reason", finish == "length" ? "max_output_tokens" : "content_filter"}};
  } else {
    r["status"] = "completed";
  }
  r["output"] = std::move(output);
  r["usage"] = usage;
  return r;
}

// Items are numbered by their place in the output: msg_<request id>[_n].
bj::object message_item(const Identity& id, std::size_t n, std::string_view text, bool refusal, const char* status) {
  bj::object part = refusal ? bj::object{{"type", "refusal"}, {"refusal", text}}
                            : bj::object{{"type", "output_text"}, {"text", text}, {"annotations", bj::array()}, {"logprobs", bj::array()}};
  return bj::object{{"type", "message"},
                    {"id", item_id(id, "msg_", n)},
                    {"status", status},
                    {"role", "assistant"},
                    {"content", bj::array{std::move(part)}}};
}

// A reasoning model's thinking as a reasoning item: its text as the
// summary, and Claude's signed blocks in encrypted_content (base64 of their
// JSON), which a client that sends the item back returns to the model.
bj::object reasoning_item(const Identity& id, std::size_t n, std::string_view text, const bj::array& blocks,
                          const char* status) {
  bj::array summary;
  if (!text.empty()) summary.push_back(bj::object{{"type", "summary_text"}, {"text", text}});
  return bj::object{{"type", "reasoning"},
                    {"id", item_id(id, "rs_", n)},
                    {"summary", std::move(summary)},
                    {"encrypted_content", blocks.empty() ? bj::value(nullptr) : bj::value(crypto::base64(bj::serialize(blocks)))},
                    {"status", status}};
}

// A chat message's or delta's thinking_blocks (Claude's signed thinking).
const bj::array* blocks_of(const bj::object& m) {
  const auto* b = m.if_contains("thinking_blocks");
  return b && b->is_array() && !b->get_array().empty() ? &b->get_array() : nullptr;
}

bj::object call_item(const Identity& id, std::size_t n, std::string_view call_id, std::string_view name,
                     std::string_view arguments, const char* status) {
  return bj::object{{"type", "function_call"},
                    {"id", item_id(id, "fc_", n)},
                    {"call_id", call_id},
                    {"name", name},
                    {"arguments", arguments},
                    {"status", status}};
}

}  // namespace

bj::object assistant_message(const bj::object& completion) {
  // A turn a chat upstream takes back: text (a refusal's, or "" when the
  // answer had none), or null content beside tool calls.
  bj::object m{{"role", "assistant"}, {"content", ""}};
  const bj::object* choice = first_choice(completion);
  const auto* msg = choice ? choice->if_contains("message") : nullptr;
  if (!msg || !msg->is_object()) return m;
  std::string_view text = string_at(msg->get_object(), "content");
  if (text.empty()) text = string_at(msg->get_object(), "refusal");
  m["content"] = text;
  if (const auto* calls = msg->get_object().if_contains("tool_calls"); calls && calls->is_array() && !calls->get_array().empty()) {
    m["tool_calls"] = *calls;
    if (text.empty()) m["content"] = nullptr;
  }
  // Claude's signed thinking goes back with the turn when it is continued.
  if (const bj::array* blocks = blocks_of(msg->get_object())) m["thinking_blocks"] = *blocks;
  return m;
}

bj::object usage_object(const Usage& u) {
  return bj::object{{"input_tokens", u.prompt_tokens},
                    {"input_tokens_details", bj::object{{"cached_tokens", u.cached_prompt_tokens}}},
                    {"output_tokens", u.completion_tokens},
                    {"output_tokens_details", bj::object{{"reasoning_tokens", 0}}},
                    {"total_tokens", u.prompt_tokens + u.completion_tokens}};
}

bj::object to_response(const bj::object& completion, const bj::object& echo, const Identity& id) {
  bj::array output;
  std::string finish = "stop";
  if (const bj::object* c = first_choice(completion)) {
    const auto& choice = *c;
    if (auto f = string_at(choice, "finish_reason"); !f.empty()) finish = f;
    if (const auto* m = choice.if_contains("message"); m && m->is_object()) {
      const auto& msg = m->get_object();
      // In the order a stream of it would bring them: thinking, refusal,
      // text, calls.
      const bj::array* blocks = blocks_of(msg);
      if (auto thought = reasoning_text(msg); !thought.empty() || blocks) {
        output.push_back(reasoning_item(id, output.size(), thought, blocks ? *blocks : bj::array(), "completed"));
      }
      if (auto refusal = string_at(msg, "refusal"); !refusal.empty()) {
        output.push_back(message_item(id, output.size(), refusal, true, "completed"));
      }
      if (auto text = string_at(msg, "content"); !text.empty()) {
        output.push_back(message_item(id, output.size(), text, false, "completed"));
      }
      if (const auto* calls = msg.if_contains("tool_calls"); calls && calls->is_array()) {
        for (std::size_t n = 0; n < calls->get_array().size(); ++n) {
          const auto* call = calls->get_array()[n].if_object();
          if (!call) continue;
          const ToolCallParts t = tool_call_parts(*call);
          output.push_back(call_item(id, output.size(), t.id, t.name, t.arguments, "completed"));
        }
      }
    }
  }
  Usage u;
  const auto* usage = completion.if_contains("usage");
  if (usage && usage->is_object()) read_openai_usage(*usage, &u);
  return make_response(echo, id, std::move(output), finish, usage && usage->is_object() ? bj::value(usage_object(u)) : nullptr);
}

std::string EventWriter::event(const char* type, bj::object data) {
  data["type"] = type;
  data["sequence_number"] = seq_++;
  return sse_event(data);
}

bj::object EventWriter::response(const char* status) const {
  bj::object r = make_response(echo_, id_, bj::array(), "stop", nullptr);
  r["status"] = status;
  return r;
}

std::string EventWriter::start_if_needed() {
  if (started_) return {};
  started_ = true;
  bj::object opening = response("in_progress");
  std::string out = event("response.created", {{"response", opening}});
  out += event("response.in_progress", {{"response", std::move(opening)}});
  return out;
}

std::string EventWriter::open_message(bool refusal) {
  std::string out = close_item();
  open_ = true;
  open_is_call_ = false;
  part_is_refusal_ = refusal;
  text_.clear();
  const std::size_t index = output_.size();
  bj::object item = message_item(id_, index, "", refusal, "in_progress");
  bj::value part = item.at("content").get_array()[0];
  item["content"] = bj::array();
  out += event("response.output_item.added", {{"output_index", index}, {"item", std::move(item)}});
  out += event("response.content_part.added",
               {{"item_id", item_id(id_, "msg_", index)}, {"output_index", index}, {"content_index", 0}, {"part", std::move(part)}});
  return out;
}

std::string EventWriter::open_reasoning() {
  std::string out = close_item();
  open_ = true;
  open_is_call_ = false;
  open_is_reasoning_ = true;
  text_.clear();
  blocks_.clear();
  const std::size_t index = output_.size();
  bj::object item = reasoning_item(id_, index, "", {}, "in_progress");
  item.erase("encrypted_content");
  out += event("response.output_item.added", {{"output_index", index}, {"item", std::move(item)}});
  return out;
}

std::string EventWriter::close_item() {
  if (!open_) return {};
  open_ = false;
  const std::size_t index = output_.size();
  std::string out;
  bj::object item;
  if (open_is_reasoning_) {
    open_is_reasoning_ = false;
    const std::string id = item_id(id_, "rs_", index);
    item = reasoning_item(id_, index, text_, blocks_, "completed");
    if (!text_.empty()) {
      out += event("response.reasoning_summary_text.done",
                   {{"item_id", id}, {"output_index", index}, {"summary_index", 0}, {"text", text_}});
      out += event("response.reasoning_summary_part.done", {{"item_id", id}, {"output_index", index}, {"summary_index", 0},
                                                            {"part", item.at("summary").at(0)}});
    }
  } else if (open_is_call_) {
    const std::string id(string_at(call_, "id"));
    out += event("response.function_call_arguments.done",
                 {{"item_id", id}, {"output_index", index}, {"name", call_.at("name")}, {"arguments", call_.at("arguments")}});
    call_["status"] = "completed";
    item = std::move(call_);
    call_ = {};
    call_index_ = -1;
  } else {
    const std::string id = item_id(id_, "msg_", index);
    item = message_item(id_, index, text_, part_is_refusal_, "completed");
    bj::value part = item.at("content").get_array()[0];
    if (part_is_refusal_) {
      out += event("response.refusal.done", {{"item_id", id}, {"output_index", index}, {"content_index", 0}, {"refusal", text_}});
    } else {
      out += event("response.output_text.done", {{"item_id", id}, {"output_index", index}, {"content_index", 0},
                                                 {"text", text_}, {"logprobs", bj::array()}});
    }
    out += event("response.content_part.done", {{"item_id", id}, {"output_index", index}, {"content_index", 0}, {"part", part}});
  }
  out += event("response.output_item.done", {{"output_index", index}, {"item", item}});
  output_.push_back(std::move(item));
  return out;
}

std::string EventWriter::chunk(const bj::object& chunk) {
  std::string out = start_if_needed();
  const bj::object* first = first_choice(chunk);
  if (!first) return out;
  const auto& choice = *first;
  if (const bj::object* d = delta_of(choice)) {
    const auto& delta = *d;
    // Thinking first: its text as the reasoning item's summary, then its
    // signed blocks (which end it).
    const bj::array* blocks = blocks_of(delta);
    if (auto thought = reasoning_text(delta); !thought.empty() || blocks) {
      if (!open_ || !open_is_reasoning_) out += open_reasoning();
      const std::string id = item_id(id_, "rs_", output_.size());
      if (!thought.empty()) {
        if (text_.empty()) {
          out += event("response.reasoning_summary_part.added",
                       {{"item_id", id}, {"output_index", output_.size()}, {"summary_index", 0},
                        {"part", bj::object{{"type", "summary_text"}, {"text", ""}}}});
        }
        text_ += thought;
        out += event("response.reasoning_summary_text.delta",
                     {{"item_id", id}, {"output_index", output_.size()}, {"summary_index", 0}, {"delta", thought}});
      }
      if (blocks) blocks_.insert(blocks_.end(), blocks->begin(), blocks->end());
    }
    for (const bool refusal : {false, true}) {
      const auto piece = string_at(delta, refusal ? "refusal" : "content");
      if (piece.empty()) continue;
      if (!open_ || open_is_call_ || open_is_reasoning_ || part_is_refusal_ != refusal) out += open_message(refusal);
      text_ += piece;
      bj::object data{{"item_id", item_id(id_, "msg_", output_.size())}, {"output_index", output_.size()},
                      {"content_index", 0}, {"delta", piece}};
      if (!refusal) data["logprobs"] = bj::array();
      out += event(refusal ? "response.refusal.delta" : "response.output_text.delta", std::move(data));
    }
    if (const auto* calls = delta.if_contains("tool_calls"); calls && calls->is_array()) {
      for (const auto& cv : calls->get_array()) {
        const auto* call = cv.if_object();
        if (!call) continue;
        const ToolCallParts t = tool_call_parts(*call);
        if (!open_ || !open_is_call_ || call_index_ != t.index) {
          out += close_item();
          open_ = true;
          open_is_call_ = true;
          call_index_ = t.index;
          call_ = call_item(id_, output_.size(), t.id, t.name, "", "in_progress");
          out += event("response.output_item.added", {{"output_index", output_.size()}, {"item", call_}});
        }
        if (!t.arguments.empty()) {
          call_["arguments"] = std::string(call_.at("arguments").get_string()) + std::string(t.arguments);
          out += event("response.function_call_arguments.delta",
                       {{"item_id", call_.at("id")}, {"output_index", output_.size()}, {"delta", t.arguments}});
        }
      }
    }
  }
  if (auto f = string_at(choice, "finish_reason"); !f.empty()) finish_ = f;
  return out;
}

std::string EventWriter::end(const Usage& usage) {
  std::string out = start_if_needed();
  out += close_item();
  bj::object r = make_response(echo_, id_, output_, finish_, usage.reported ? bj::value(usage_object(usage)) : nullptr);
  const bool complete = r.at("status") == "completed";
  out += event(complete ? "response.completed" : "response.incomplete", {{"response", std::move(r)}});
  return out;
}

std::string EventWriter::error(std::string_view message) {
  std::string out = start_if_needed();
  out += event("error", {{"code", "server_error"}, {"message", message}, {"param", nullptr}});
  // What was sent of the open item is in the failed response, incomplete.
  bj::array output = output_;
  if (open_) {
    bj::object partial = open_is_call_        ? call_
                         : open_is_reasoning_ ? reasoning_item(id_, output_.size(), text_, blocks_, "incomplete")
                                              : message_item(id_, output_.size(), text_, part_is_refusal_, "incomplete");
    partial["status"] = "incomplete";
    output.push_back(std::move(partial));
  }
  bj::object r = make_response(echo_, id_, std::move(output), "stop", nullptr);
  r["status"] = "failed";
  r["error"] = bj::object{{"code", "server_error"}, {"message", message}};
  out += event("response.failed", {{"response", std::move(r)}});
  return out;
}

}  // namespace spectra::ai::responses
