#include "ai/responses_dialect.h"

#include <boost/json/serialize.hpp>

#include "ai/openai_adapter.h"
#include "ai/stream_codec.h"
#include "common/json_util.h"

namespace spectra::ai::responses {

namespace {

using json::string_at;

Status bad(std::string* param, std::string field, std::string message) {
  if (param) *param = field;
  return invalid_argument(field + ": " + message);
}

bool present(const bj::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  return v && !v->is_null();
}

// The text of a content given as a string or as text parts (system,
// developer and assistant turns, a function call's output).
Result<std::string> text_of(const bj::value* content, const std::string& where, std::string* param) {
  if (!content || content->is_null()) return std::string();
  if (content->is_string()) return std::string(content->get_string());
  if (!content->is_array()) return bad(param, where, "must be a string or an array of content parts");
  std::string out;
  for (std::size_t i = 0; i < content->get_array().size(); ++i) {
    const auto* p = content->get_array()[i].if_object();
    const std::string type(p ? string_at(*p, "type") : std::string_view());
    if (type == "input_text" || type == "output_text") {
      out += string_at(*p, "text");
    } else if (type == "refusal") {
      out += string_at(*p, "refusal");
    } else {
      return bad(param, where + "[" + std::to_string(i) + "]", "only text parts can be translated here");
    }
  }
  return out;
}

// A user turn's content: a string, or text and image parts.
Result<bj::value> user_content(const bj::value* content, const std::string& where, std::string* param) {
  if (content && content->is_string()) return bj::value(content->get_string());
  if (!content || !content->is_array()) return bad(param, where, "must be a string or an array of content parts");
  bj::array parts;
  for (std::size_t i = 0; i < content->get_array().size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    const auto* p = content->get_array()[i].if_object();
    const std::string type(p ? string_at(*p, "type") : std::string_view());
    if (type == "input_text") {
      parts.push_back(bj::object{{"type", "text"}, {"text", string_at(*p, "text")}});
    } else if (type == "input_image") {
      const auto url = string_at(*p, "image_url");
      if (url.empty()) return bad(param, at + ".image_url", "is required (file ids are stored at OpenAI, not here)");
      bj::object image{{"url", url}};
      if (auto detail = string_at(*p, "detail"); !detail.empty()) image["detail"] = detail;
      parts.push_back(bj::object{{"type", "image_url"}, {"image_url", std::move(image)}});
    } else {
      return bad(param, at + ".type", "content part '" + type + "' cannot be translated for this model");
    }
  }
  return bj::value(std::move(parts));
}

// One input item as chat messages, appended to `out`.
Status add_item(const bj::object& item, const std::string& where, bj::array& out, std::string* param) {
  const std::string type(string_at(item, "type"));
  if (type == "function_call") {
    bj::object call{{"id", string_at(item, "call_id")},
                    {"type", "function"},
                    {"function", bj::object{{"name", string_at(item, "name")}, {"arguments", string_at(item, "arguments")}}}};
    if (call.at("id").get_string().empty()) return bad(param, where + ".call_id", "is required");
    // Calls made in one turn share its assistant message.
    bj::object* last = out.empty() ? nullptr : out.back().if_object();
    if (last && string_at(*last, "role") == "assistant") {
      if (auto* calls = last->if_contains("tool_calls"); calls && calls->is_array()) {
        calls->get_array().push_back(std::move(call));
        return {};
      }
      (*last)["tool_calls"] = bj::array{std::move(call)};
      return {};
    }
    out.push_back(bj::object{{"role", "assistant"}, {"content", nullptr}, {"tool_calls", bj::array{std::move(call)}}});
    return {};
  }
  if (type == "function_call_output") {
    auto text = text_of(item.if_contains("output"), where + ".output", param);
    if (!text.ok()) return text.status();
    out.push_back(bj::object{{"role", "tool"}, {"tool_call_id", string_at(item, "call_id")}, {"content", *text}});
    return {};
  }
  if (type == "reasoning") return {};  // the model's own notes: not for another model
  if (!type.empty() && type != "message") {
    return bad(param, where + ".type", "input item '" + type + "' cannot be translated for this model");
  }
  const std::string role(string_at(item, "role"));
  const std::string at = where + ".content";
  if (role == "user") {
    auto content = user_content(item.if_contains("content"), at, param);
    if (!content.ok()) return content.status();
    out.push_back(bj::object{{"role", "user"}, {"content", std::move(*content)}});
    return {};
  }
  if (role == "system" || role == "developer" || role == "assistant") {
    auto text = text_of(item.if_contains("content"), at, param);
    if (!text.ok()) return text.status();
    out.push_back(bj::object{{"role", role == "assistant" ? "assistant" : "system"}, {"content", *text}});
    return {};
  }
  return bad(param, where + ".role", "must be user, assistant, system or developer");
}

Status add_tools(const bj::object& request, bj::object& chat, std::string* param) {
  if (const auto* tools = request.if_contains("tools"); tools && !tools->is_null()) {
    if (!tools->is_array()) return bad(param, "tools", "must be an array");
    bj::array out;
    for (std::size_t i = 0; i < tools->get_array().size(); ++i) {
      const std::string at = "tools[" + std::to_string(i) + "]";
      const auto* t = tools->get_array()[i].if_object();
      if (!t) return bad(param, at, "must be an object");
      const std::string type(string_at(*t, "type"));
      if (type != "function") return bad(param, at + ".type", "tool '" + type + "' runs only on OpenAI's API");
      if (string_at(*t, "name").empty()) return bad(param, at + ".name", "is required");
      bj::object fn{{"name", string_at(*t, "name")}};
      for (const char* same : {"description", "parameters", "strict"}) {
        if (const auto* v = t->if_contains(same); v && !v->is_null()) fn[same] = *v;
      }
      out.push_back(bj::object{{"type", "function"}, {"function", std::move(fn)}});
    }
    if (!out.empty()) chat["tools"] = std::move(out);
  }
  if (const auto* tc = request.if_contains("tool_choice"); tc && !tc->is_null()) {
    if (tc->is_string() && (tc->get_string() == "auto" || tc->get_string() == "none" || tc->get_string() == "required")) {
      chat["tool_choice"] = *tc;
    } else if (const auto* o = tc->if_object(); o && string_at(*o, "type") == "function" && !string_at(*o, "name").empty()) {
      chat["tool_choice"] = bj::object{{"type", "function"}, {"function", bj::object{{"name", string_at(*o, "name")}}}};
    } else {
      return bad(param, "tool_choice", "must be auto, none, required or a function by name for this model");
    }
  }
  if (const auto* p = request.if_contains("parallel_tool_calls"); p && p->is_bool()) chat["parallel_tool_calls"] = *p;
  return {};
}

Status add_format(const bj::object& request, bj::object& chat, std::string* param) {
  const auto* text = request.if_contains("text");
  const auto* format = text && text->is_object() ? text->get_object().if_contains("format") : nullptr;
  if (!format || format->is_null()) return {};
  const auto* f = format->if_object();
  const std::string type(f ? string_at(*f, "type") : std::string_view());
  if (type == "text") return {};
  if (type == "json_object") {
    chat["response_format"] = bj::object{{"type", "json_object"}};
    return {};
  }
  if (type == "json_schema") {
    bj::object schema{{"name", string_at(*f, "name")}};
    for (const char* same : {"schema", "strict", "description"}) {
      if (const auto* v = f->if_contains(same); v && !v->is_null()) schema[same] = *v;
    }
    chat["response_format"] = bj::object{{"type", "json_schema"}, {"json_schema", std::move(schema)}};
    return {};
  }
  return bad(param, "text.format.type", "must be text, json_object or json_schema");
}

bj::object echo_of(const bj::object& request) {
  auto field = [&](const char* k, bj::value fallback) {
    const auto* v = request.if_contains(k);
    return v && !v->is_null() ? *v : fallback;
  };
  bj::object text{{"format", bj::object{{"type", "text"}}}};
  if (const auto* t = request.if_contains("text"); t && t->is_object()) text = t->get_object();
  return bj::object{{"object", "response"},
                    {"background", false},
                    {"error", nullptr},
                    {"incomplete_details", nullptr},
                    {"instructions", field("instructions", nullptr)},
                    {"max_output_tokens", field("max_output_tokens", nullptr)},
                    {"model", field("model", nullptr)},
                    {"parallel_tool_calls", field("parallel_tool_calls", true)},
                    {"previous_response_id", nullptr},
                    {"reasoning", bj::object{{"effort", nullptr}, {"summary", nullptr}}},
                    {"temperature", field("temperature", 1.0)},
                    {"text", std::move(text)},
                    {"tool_choice", field("tool_choice", "auto")},
                    {"tools", field("tools", bj::array())},
                    {"top_p", field("top_p", 1.0)},
                    {"truncation", "disabled"},
                    {"user", field("user", nullptr)},
                    {"metadata", field("metadata", bj::object())}};
}

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

Result<Translation> to_chat_request(const bj::object& request, const bj::array* history, std::string* param) {
  if (present(request, "prompt")) return bad(param, "prompt", "prompt templates are stored at OpenAI: not available for this model");
  if (present(request, "previous_response_id") && !history) {
    return bad(param, "previous_response_id", "no stored conversation to continue");
  }
  const auto* store = request.if_contains("store");
  if (store && !store->is_null() && !store->is_bool()) return bad(param, "store", "must be a boolean");
  bj::object chat{{"model", request.contains("model") ? request.at("model") : bj::value(nullptr)}};
  bj::array msgs;
  if (const auto* ins = request.if_contains("instructions"); ins && !ins->is_null()) {
    if (!ins->is_string()) return bad(param, "instructions", "must be a string");
    msgs.push_back(bj::object{{"role", "system"}, {"content", ins->get_string()}});
  }
  const std::size_t first_turn = msgs.size();
  if (history) {
    for (const auto& m : *history) msgs.push_back(m);
  }
  const auto* input = request.if_contains("input");
  if (input && input->is_string()) {
    msgs.push_back(bj::object{{"role", "user"}, {"content", input->get_string()}});
  } else if (input && input->is_array() && !input->get_array().empty()) {
    for (std::size_t i = 0; i < input->get_array().size(); ++i) {
      const std::string at = "input[" + std::to_string(i) + "]";
      const auto* item = input->get_array()[i].if_object();
      if (!item) return bad(param, at, "must be an object");
      if (Status s = add_item(*item, at, msgs, param); !s.ok()) return s;
    }
  } else {
    return bad(param, "input", "must be a string or a non-empty array of items");
  }
  bj::array conversation(msgs.begin() + static_cast<std::ptrdiff_t>(first_turn), msgs.end());
  chat["messages"] = std::move(msgs);
  if (const auto* m = request.if_contains("max_output_tokens"); m && !m->is_null()) {
    if (!m->is_int64() || m->get_int64() < 1) return bad(param, "max_output_tokens", "must be a positive integer");
    chat["max_tokens"] = *m;
  }
  for (const char* same : {"temperature", "top_p"}) {
    if (const auto* v = request.if_contains(same); v && !v->is_null()) chat[same] = *v;
  }
  for (const char* who : {"user", "safety_identifier"}) {
    if (auto user = string_at(request, who); !user.empty()) {
      chat["user"] = user;
      break;
    }
  }
  if (const auto* s = request.if_contains("stream"); s && s->is_bool() && s->get_bool()) {
    chat["stream"] = true;
    chat["stream_options"] = bj::object{{"include_usage", true}};
  }
  if (Status s = add_tools(request, chat, param); !s.ok()) return s;
  if (Status s = add_format(request, chat, param); !s.ok()) return s;
  Translation t{std::move(chat), echo_of(request), std::move(conversation), !store || !store->is_bool() || store->get_bool()};
  t.echo["store"] = t.store;
  if (const auto* prev = request.if_contains("previous_response_id"); prev && prev->is_string()) {
    t.echo["previous_response_id"] = *prev;
  }
  return t;
}

bj::array input_items(const bj::object& request, std::string_view request_id) {
  bj::array out;
  auto id_for = [&](std::size_t n) { return "in_" + std::string(request_id) + "_" + std::to_string(n); };
  auto parts_of = [](const bj::value& content, const char* type) -> bj::value {
    if (!content.is_string()) return content;
    return bj::array{bj::object{{"type", type}, {"text", content.get_string()}}};
  };
  const auto* input = request.if_contains("input");
  if (input && input->is_string()) {
    out.push_back(bj::object{{"id", id_for(0)}, {"type", "message"}, {"role", "user"}, {"status", "completed"},
                             {"content", parts_of(*input, "input_text")}});
    return out;
  }
  if (!input || !input->is_array()) return out;
  for (std::size_t n = 0; n < input->get_array().size(); ++n) {
    const auto* given = input->get_array()[n].if_object();
    if (!given) continue;
    bj::object item = *given;
    if (string_at(item, "id").empty()) item["id"] = id_for(n);
    if (!item.contains("type")) item["type"] = "message";
    if (item.at("type") == "message" && item.contains("content")) {
      item["content"] = parts_of(item.at("content"), string_at(item, "role") == "assistant" ? "output_text" : "input_text");
    }
    out.push_back(std::move(item));
  }
  return out;
}

bj::object assistant_message(const bj::object& completion) {
  // A turn a chat upstream takes back: text (a refusal's, or "" when the
  // answer had none), or null content beside tool calls.
  bj::object m{{"role", "assistant"}, {"content", ""}};
  const auto* choices = completion.if_contains("choices");
  if (!choices || !choices->is_array() || choices->get_array().empty() || !choices->get_array()[0].is_object()) return m;
  const auto* msg = choices->get_array()[0].get_object().if_contains("message");
  if (!msg || !msg->is_object()) return m;
  std::string_view text = string_at(msg->get_object(), "content");
  if (text.empty()) text = string_at(msg->get_object(), "refusal");
  m["content"] = text;
  if (const auto* calls = msg->get_object().if_contains("tool_calls"); calls && calls->is_array() && !calls->get_array().empty()) {
    m["tool_calls"] = *calls;
    if (text.empty()) m["content"] = nullptr;
  }
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
  const auto* choices = completion.if_contains("choices");
  if (choices && choices->is_array() && !choices->get_array().empty() && choices->get_array()[0].is_object()) {
    const auto& choice = choices->get_array()[0].get_object();
    if (auto f = string_at(choice, "finish_reason"); !f.empty()) finish = f;
    if (const auto* m = choice.if_contains("message"); m && m->is_object()) {
      const auto& msg = m->get_object();
      // In the order a stream of it would bring them: refusal, text, calls.
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
          const auto* fn = call->if_contains("function");
          const bj::object empty;
          const bj::object& f = fn && fn->is_object() ? fn->get_object() : empty;
          output.push_back(call_item(id, output.size(), string_at(*call, "id"), string_at(f, "name"), string_at(f, "arguments"), "completed"));
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

std::string EventWriter::close_item() {
  if (!open_) return {};
  open_ = false;
  const std::size_t index = output_.size();
  std::string out;
  bj::object item;
  if (open_is_call_) {
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
  const auto* choices = chunk.if_contains("choices");
  if (!choices || !choices->is_array() || choices->get_array().empty() || !choices->get_array()[0].is_object()) return out;
  const auto& choice = choices->get_array()[0].get_object();
  const auto* d = choice.if_contains("delta");
  if (d && d->is_object()) {
    const auto& delta = d->get_object();
    for (const bool refusal : {false, true}) {
      const auto piece = string_at(delta, refusal ? "refusal" : "content");
      if (piece.empty()) continue;
      if (!open_ || open_is_call_ || part_is_refusal_ != refusal) out += open_message(refusal);
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
        const std::int64_t index = call->contains("index") ? json::to_int(call->at("index")) : 0;
        const auto* fn = call->if_contains("function");
        const bj::object empty;
        const bj::object& f = fn && fn->is_object() ? fn->get_object() : empty;
        if (!open_ || !open_is_call_ || call_index_ != index) {
          out += close_item();
          open_ = true;
          open_is_call_ = true;
          call_index_ = index;
          call_ = call_item(id_, output_.size(), string_at(*call, "id"), string_at(f, "name"), "", "in_progress");
          out += event("response.output_item.added", {{"output_index", output_.size()}, {"item", call_}});
        }
        if (auto args = string_at(f, "arguments"); !args.empty()) {
          call_["arguments"] = std::string(call_.at("arguments").get_string()) + std::string(args);
          out += event("response.function_call_arguments.delta",
                       {{"item_id", call_.at("id")}, {"output_index", output_.size()}, {"delta", args}});
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
    bj::object partial = open_is_call_ ? call_ : message_item(id_, output_.size(), text_, part_is_refusal_, "incomplete");
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
