// The request side of the Responses API's translation: a Responses request
// as a chat request, the settings its answer repeats, and its input as
// input_items lists it (see responses_dialect.h; the answer side is in
// responses_answer.cpp).
#include "ai/responses_dialect.h"

#include <boost/json/serialize.hpp>

#include "common/crypto.h"
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

// The thinking blocks a reasoning item's encrypted_content carries (see
// reasoning_item), or none.
bj::array thinking_of(std::string_view encrypted) {
  if (encrypted.empty()) return {};
  auto bytes = crypto::base64_decode(encrypted);
  if (!bytes.ok()) return {};
  auto v = json::parse(*bytes, {.max_bytes = 16 << 20, .max_depth = 8});
  if (!v.ok() || !v->is_array()) return {};
  for (const auto& b : v->get_array()) {
    const auto* o = b.if_object();
    const auto type = o ? string_at(*o, "type") : std::string_view();
    if (type != "thinking" && type != "redacted_thinking") return {};
  }
  return std::move(v->get_array());
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
  if (type == "reasoning") {
    // A reasoning item this gateway made carries the model's signed
    // thinking in encrypted_content: it goes back with the assistant turn
    // it preceded (Claude needs a tool-calling turn's thinking back). Any
    // other (another model's notes) is dropped.
    auto blocks = thinking_of(string_at(item, "encrypted_content"));
    if (blocks.empty()) return {};
    out.push_back(bj::object{{"role", "assistant"}, {"content", nullptr}, {"thinking_blocks", std::move(blocks)}});
    return {};
  }
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
    // After a reasoning item, its turn is this message (as calls join it).
    bj::object* last = out.empty() ? nullptr : out.back().if_object();
    if (role == "assistant" && last && last->contains("thinking_blocks") && !last->contains("tool_calls") &&
        last->at("content").is_null()) {
      (*last)["content"] = *text;
      return {};
    }
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
  bj::object reasoning{{"effort", nullptr}, {"summary", nullptr}};
  if (const auto* r = request.if_contains("reasoning"); r && r->is_object()) {
    for (const auto& [k, v] : r->get_object()) reasoning[k] = v;
  }
  return bj::object{{"object", "response"},
                    {"background", false},
                    {"error", nullptr},
                    {"incomplete_details", nullptr},
                    {"instructions", field("instructions", nullptr)},
                    {"max_output_tokens", field("max_output_tokens", nullptr)},
                    {"model", field("model", nullptr)},
                    {"parallel_tool_calls", field("parallel_tool_calls", true)},
                    {"previous_response_id", nullptr},
                    {"reasoning", reasoning},
                    {"temperature", field("temperature", 1.0)},
                    {"text", std::move(text)},
                    {"tool_choice", field("tool_choice", "auto")},
                    {"tools", field("tools", bj::array())},
                    {"top_p", field("top_p", 1.0)},
                    {"truncation", "disabled"},
                    {"user", field("user", nullptr)},
                    {"metadata", field("metadata", bj::object())}};
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
  if (const auto* r = request.if_contains("reasoning"); r && !r->is_null()) {
    const auto* effort = r->is_object() ? r->get_object().if_contains("effort") : nullptr;
    if (!r->is_object() || (effort && !effort->is_null() && !effort->is_string())) {
      return bad(param, "reasoning", "must be an object with a string effort");
    }
    if (effort && effort->is_string()) chat["reasoning_effort"] = *effort;
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

}  // namespace spectra::ai::responses
