#include "ai/responses_replay.h"

#include <boost/json/serialize.hpp>

namespace spectra::ai {

namespace bj = boost::json;

namespace {

class Events {
 public:
  explicit Events(std::int64_t starting_after) : after_(starting_after) {}
  void add(const char* type, bj::object data) {
    const std::int64_t seq = seq_++;
    if (seq <= after_) return;
    data["type"] = type;
    data["sequence_number"] = seq;
    out_.append("event: ").append(type).append("\ndata: ").append(bj::serialize(data)).append("\n\n");
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  std::int64_t seq_ = 0;
  std::int64_t after_;
};

// The event that ends a stream of an answer with this status.
const char* closing_event(const bj::value& status) {
  if (status == "incomplete") return "response.incomplete";
  if (status == "failed") return "response.failed";
  return "response.completed";
}

const bj::value& field(const bj::object& o, const char* k) {
  static const bj::value null;
  const auto* v = o.if_contains(k);
  return v ? *v : null;
}

}  // namespace

std::string responses_events(const bj::object& response, std::int64_t starting_after) {
  Events ev(starting_after);
  bj::object opening = response;
  opening["status"] = "in_progress";
  opening["output"] = bj::array();
  opening["usage"] = nullptr;
  ev.add("response.created", {{"response", opening}});
  ev.add("response.in_progress", {{"response", opening}});
  const bj::value& output = field(response, "output");
  const bj::array empty;
  const bj::array& items = output.is_array() ? output.get_array() : empty;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_object()) continue;
    const bj::object& item = items[i].get_object();
    const bj::value& id = field(item, "id");
    const bj::value& type = field(item, "type");
    bj::object started = item;
    if (started.contains("status")) started["status"] = "in_progress";
    if (type == "message") started["content"] = bj::array();
    if (type == "function_call") started["arguments"] = "";
    if (type == "reasoning") {
      started["summary"] = bj::array();
      started.erase("encrypted_content");
    }
    ev.add("response.output_item.added", {{"output_index", i}, {"item", started}});
    if (type == "reasoning" && field(item, "summary").is_array()) {
      const bj::array& parts = item.at("summary").get_array();
      for (std::size_t j = 0; j < parts.size(); ++j) {
        const bj::value& text = parts[j].is_object() ? field(parts[j].get_object(), "text") : bj::value();
        if (!text.is_string()) continue;
        ev.add("response.reasoning_summary_part.added", {{"item_id", id}, {"output_index", i}, {"summary_index", j},
                                                         {"part", bj::object{{"type", "summary_text"}, {"text", ""}}}});
        ev.add("response.reasoning_summary_text.delta", {{"item_id", id}, {"output_index", i}, {"summary_index", j}, {"delta", text}});
        ev.add("response.reasoning_summary_text.done", {{"item_id", id}, {"output_index", i}, {"summary_index", j}, {"text", text}});
        ev.add("response.reasoning_summary_part.done", {{"item_id", id}, {"output_index", i}, {"summary_index", j}, {"part", parts[j]}});
      }
    } else if (type == "message" && field(item, "content").is_array()) {
      const bj::array& parts = item.at("content").get_array();
      for (std::size_t j = 0; j < parts.size(); ++j) {
        if (!parts[j].is_object()) continue;
        const bj::object& part = parts[j].get_object();
        const bj::value& text = field(part, "text");
        const bj::value& refusal = field(part, "refusal");
        const bool is_text = field(part, "type") == "output_text" && text.is_string();
        const bool is_refusal = field(part, "type") == "refusal" && refusal.is_string();
        bj::object empty_part = part;
        if (is_text) empty_part["text"] = "";
        if (is_refusal) empty_part["refusal"] = "";
        ev.add("response.content_part.added",
               {{"item_id", id}, {"output_index", i}, {"content_index", j}, {"part", empty_part}});
        if (is_text) {
          ev.add("response.output_text.delta",
                 {{"item_id", id}, {"output_index", i}, {"content_index", j}, {"delta", text}, {"logprobs", bj::array()}});
          ev.add("response.output_text.done",
                 {{"item_id", id}, {"output_index", i}, {"content_index", j}, {"text", text}, {"logprobs", bj::array()}});
        } else if (is_refusal) {
          ev.add("response.refusal.delta", {{"item_id", id}, {"output_index", i}, {"content_index", j}, {"delta", refusal}});
          ev.add("response.refusal.done", {{"item_id", id}, {"output_index", i}, {"content_index", j}, {"refusal", refusal}});
        }
        ev.add("response.content_part.done", {{"item_id", id}, {"output_index", i}, {"content_index", j}, {"part", part}});
      }
    } else if (type == "function_call") {
      const bj::value& args = field(item, "arguments");
      ev.add("response.function_call_arguments.delta", {{"item_id", id}, {"output_index", i}, {"delta", args}});
      ev.add("response.function_call_arguments.done", {{"item_id", id}, {"output_index", i}, {"arguments", args}});
    }
    ev.add("response.output_item.done", {{"output_index", i}, {"item", item}});
  }
  ev.add(closing_event(field(response, "status")), {{"response", response}});
  return ev.take();
}

}  // namespace spectra::ai
