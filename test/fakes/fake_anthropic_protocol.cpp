#include "fake_anthropic_protocol.h"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <set>

#include "claude_models.h"
#include "wire/sse.h"

namespace spectra::fakes::anthropic {

namespace {

ApiError invalid(std::string message) {
  return ApiError{400, "invalid_request_error", std::move(message)};
}

bool is_number(const bj::value* v) {
  return v && (v->is_int64() || v->is_uint64() || v->is_double());
}

double number(const bj::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return v.get_double();
}

bool valid_tool_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

std::optional<ApiError> validate_text_blocks(const bj::value& v, const std::string& where) {
  if (v.is_string()) return std::nullopt;
  if (!v.is_array()) return invalid(where + ": Input should be a valid string or list");
  for (const bj::value& b : v.get_array()) {
    const bj::object* o = b.if_object();
    if (!o || !o->contains("type") || o->at("type") != "text" || !o->contains("text") ||
        !o->at("text").is_string()) {
      return invalid(where + ": only text blocks are allowed here");
    }
    if (o->at("text").get_string().empty())
      return invalid(where + ": text content blocks must be non-empty");
  }
  return std::nullopt;
}

std::optional<ApiError> validate_block(const bj::value& b, const std::string& role,
                                       const std::string& where) {
  const bj::object* o = b.if_object();
  const bj::value* type = o ? o->if_contains("type") : nullptr;
  if (!type || !type->is_string()) return invalid(where + ".type: Field required");
  const bj::string& t = type->get_string();
  if (t == "text") {
    const bj::value* text = o->if_contains("text");
    if (!text || !text->is_string()) return invalid(where + ".text: Field required");
    if (text->get_string().empty())
      return invalid("messages: text content blocks must be non-empty");
  } else if (t == "image" || t == "document") {
    const bj::value* src = o->if_contains("source");
    const bj::object* s = src ? src->if_object() : nullptr;
    const bj::value* st = s ? s->if_contains("type") : nullptr;
    bool ok = st && ((*st == "base64" && s->contains("media_type") && s->contains("data")) ||
                     (*st == "url" && s->contains("url")));
    if (!ok) return invalid(where + ".source: invalid " + std::string(t) + " source");
  } else if (t == "tool_use") {
    if (role != "assistant")
      return invalid(where + ": tool_use blocks are only allowed in assistant messages");
    const bj::value* id = o->if_contains("id");
    const bj::value* name = o->if_contains("name");
    const bj::value* input = o->if_contains("input");
    if (!id || !id->is_string() || !name || !name->is_string() || !input || !input->is_object()) {
      return invalid(where + ": tool_use needs id, name and an input object");
    }
  } else if (t == "thinking" || t == "redacted_thinking") {
    // Only the model's own, unchanged: a thinking block's signature is
    // checked against its text (as Anthropic verifies it).
    if (role != "assistant")
      return invalid(where + ": " + std::string(t) + " blocks are only allowed in assistant messages");
    if (t == "redacted_thinking") {
      const bj::value* data = o->if_contains("data");
      if (!data || !data->is_string()) return invalid(where + ".data: Field required");
    } else {
      const bj::value* text = o->if_contains("thinking");
      const bj::value* sig = o->if_contains("signature");
      if (!text || !text->is_string()) return invalid(where + ".thinking: Field required");
      if (!sig || !sig->is_string() || sig->get_string() != thinking_signature(text->get_string())) {
        return invalid(where + ": Invalid `signature` in `thinking` block");
      }
    }
  } else if (t == "tool_result") {
    if (role != "user")
      return invalid(where + ": tool_result blocks are only allowed in user messages");
    const bj::value* id = o->if_contains("tool_use_id");
    if (!id || !id->is_string()) return invalid(where + ".tool_use_id: Field required");
    if (const bj::value* c = o->if_contains("content")) {
      if (!c->is_string() && !c->is_array()) return invalid(where + ".content: invalid");
    }
  } else {
    return invalid(where + ".type: unknown content block type '" + std::string(t) + "'");
  }
  return std::nullopt;
}

std::vector<std::string> ids_of(const bj::value& content, std::string_view type,
                                std::string_view key) {
  std::vector<std::string> out;
  if (!content.is_array()) return out;
  for (const bj::value& b : content.get_array()) {
    const bj::object& o = b.as_object();
    if (o.at("type").as_string() == type) out.emplace_back(o.at(key).as_string());
  }
  return out;
}

std::optional<ApiError> validate_messages(const bj::value* messages_v) {
  if (!messages_v) return invalid("messages: Field required");
  if (!messages_v->is_array() || messages_v->get_array().empty()) {
    return invalid("messages: at least one message is required");
  }
  const bj::array& messages = messages_v->get_array();
  std::string prev_role;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const std::string where = "messages." + std::to_string(i);
    const bj::object* m = messages[i].if_object();
    const bj::value* role = m ? m->if_contains("role") : nullptr;
    if (!role || !(*role == "user" || *role == "assistant")) {
      return invalid(where + ".role: Input should be 'user' or 'assistant'");
    }
    const std::string r(role->get_string());
    if (r == prev_role) {
      return invalid(
          "messages: roles must alternate between \"user\" and \"assistant\", but found multiple "
          "\"" +
          r + "\" roles in a row");
    }
    prev_role = r;
    const bj::value* content = m->if_contains("content");
    if (!content) return invalid(where + ".content: Field required");
    if (content->is_string()) {
      if (content->get_string().empty() && i + 1 != messages.size()) {
        return invalid("messages: text content blocks must be non-empty");
      }
      continue;
    }
    if (!content->is_array() || content->get_array().empty()) {
      return invalid(where + ".content: must be a string or a non-empty list of blocks");
    }
    for (std::size_t j = 0; j < content->get_array().size(); ++j) {
      auto e = validate_block(content->get_array()[j], r, where + ".content." + std::to_string(j));
      if (e) return e;
    }
  }
  // Every tool_use must be answered by a tool_result in the very next
  // message, and every tool_result must answer a tool_use just before it.
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const bj::value& content = messages[i].as_object().at("content");
    std::vector<std::string> uses = ids_of(content, "tool_use", "id");
    if (!uses.empty()) {
      std::vector<std::string> results;
      if (i + 1 < messages.size())
        results = ids_of(messages[i + 1].as_object().at("content"), "tool_result", "tool_use_id");
      for (const std::string& id : uses) {
        if (std::find(results.begin(), results.end(), id) == results.end()) {
          return invalid(
              "messages." + std::to_string(i + 1) +
              ": `tool_use` ids were found without `tool_result` blocks immediately after: " + id);
        }
      }
    }
    for (const std::string& id : ids_of(content, "tool_result", "tool_use_id")) {
      std::vector<std::string> before;
      if (i > 0) before = ids_of(messages[i - 1].as_object().at("content"), "tool_use", "id");
      if (std::find(before.begin(), before.end(), id) == before.end()) {
        return invalid("messages." + std::to_string(i) +
                       ": unexpected `tool_use_id` found in `tool_result` blocks: " + id);
      }
    }
  }
  return std::nullopt;
}

std::optional<ApiError> validate_tools(const bj::object& body) {
  std::set<std::string> names;
  if (const bj::value* tools = body.if_contains("tools")) {
    if (!tools->is_array()) return invalid("tools: Input should be a valid list");
    for (const bj::value& t : tools->get_array()) {
      const bj::object* o = t.if_object();
      const bj::value* name = o ? o->if_contains("name") : nullptr;
      const bj::value* schema = o ? o->if_contains("input_schema") : nullptr;
      if (!name || !name->is_string() || !valid_tool_name(name->get_string())) {
        return invalid("tools: name must match ^[a-zA-Z0-9_-]{1,64}$");
      }
      if (!schema || !schema->is_object() || !schema->get_object().contains("type") ||
          schema->get_object().at("type") != "object") {
        return invalid("tools." + std::string(name->get_string()) +
                       ".input_schema: type must be object");
      }
      names.emplace(name->get_string());
    }
  }
  if (const bj::value* tc = body.if_contains("tool_choice")) {
    const bj::object* o = tc->if_object();
    const bj::value* type = o ? o->if_contains("type") : nullptr;
    if (!type || !(*type == "auto" || *type == "any" || *type == "tool" || *type == "none")) {
      return invalid("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'");
    }
    if (*type == "tool") {
      const bj::value* name = o->if_contains("name");
      if (!name || !name->is_string() || !names.count(std::string(name->get_string()))) {
        return invalid("tool_choice.name: must name one of the tools");
      }
    }
    if ((*type == "any" || *type == "tool") && names.empty()) {
      return invalid("tool_choice: tools must be given when tool_choice is any or tool");
    }
  }
  return std::nullopt;
}

}  // namespace

std::string error_type_for_status(unsigned status) {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 402:
      return "billing_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 504:
      return "timeout_error";
    case 529:
      return "overloaded_error";
    default:
      return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

std::string error_body(const ApiError& e, std::string_view request_id) {
  bj::object o{{"type", "error"},
               {"error", bj::object{{"type", e.type}, {"message", e.message}}},
               {"request_id", request_id}};
  return bj::serialize(o);
}

std::string thinking_signature(std::string_view thinking) {
  return "fakesig-" + std::to_string(std::hash<std::string_view>{}(thinking));
}

namespace {

// `thinking` as the real API checks it: enabled with a budget of at least
// 1024 tokens below max_tokens, adaptive (optionally with a display), or
// disabled, as the model takes them; with it on, no sampling
// but temperature 1 / top_p >= 0.95, no forced tool use, and an assistant
// turn that called tools (the one a tool_result answers) starting with its
// thinking.
std::optional<ApiError> validate_thinking(const bj::object& body, const bj::value& thinking) {
  const bj::object* t = thinking.if_object();
  const bj::value* type = t ? t->if_contains("type") : nullptr;
  if (!type || !(*type == "enabled" || *type == "disabled" || *type == "adaptive")) {
    return invalid("thinking.type: Input should be 'enabled', 'adaptive' or 'disabled'");
  }
  if (*type == "disabled") return std::nullopt;
  const Thinks how = thinks_for(body.at("model").as_string());
  if (*type == "adaptive") {
    if (how == Thinks::budget) return invalid("adaptive thinking is not supported on this model");
    if (t->contains("budget_tokens")) return invalid("thinking.adaptive.budget_tokens: Extra inputs are not permitted");
    if (const bj::value* d = t->if_contains("display"); d && !(*d == "summarized" || *d == "omitted")) {
      return invalid("thinking.adaptive.display: Input should be 'summarized' or 'omitted'");
    }
  } else {
    if (how == Thinks::adaptive) {
      return invalid("\"thinking.type.enabled\" is not supported for this model. Use \"thinking.type.adaptive\" and "
                     "\"output_config.effort\" to control thinking behavior.");
    }
    const bj::value* budget = t->if_contains("budget_tokens");
    if (!budget || !budget->is_int64()) return invalid("thinking.enabled.budget_tokens: Field required");
    if (budget->get_int64() < 1024) return invalid("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024");
    const bj::value& max = body.at("max_tokens");
    if (max.is_int64() && max.get_int64() <= budget->get_int64()) {
      return invalid("`max_tokens` must be greater than `thinking.budget_tokens`");
    }
  }
  if (const bj::value* temp = body.if_contains("temperature"); temp && number(*temp) != 1) {
    return invalid("`temperature` may only be set to 1 when thinking is enabled");
  }
  if (body.contains("top_k")) return invalid("`top_k` must be unset when thinking is enabled");
  if (const bj::value* p = body.if_contains("top_p"); p && number(*p) < 0.95) {
    return invalid("`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled");
  }
  if (const bj::value* tc = body.if_contains("tool_choice"); tc && tc->is_object()) {
    const bj::value* ty = tc->get_object().if_contains("type");
    if (ty && (*ty == "any" || *ty == "tool")) return invalid("Thinking may not be enabled when tool_choice forces tool use.");
  }
  const bj::array& messages = body.at("messages").as_array();
  for (std::size_t i = messages.size(); i-- > 0;) {
    const bj::object& m = messages[i].as_object();
    if (m.at("role") != "assistant") continue;
    const bj::value& content = m.at("content");
    if (ids_of(content, "tool_use", "id").empty()) break;
    const bj::value& first = content.as_array().front().as_object().at("type");
    if (first != "thinking" && first != "redacted_thinking") {
      return invalid("messages." + std::to_string(i) + ".content.0.type: Expected `thinking` or `redacted_thinking`, but found `" +
                     std::string(first.as_string()) +
                     "`. When `thinking` is enabled, a final `assistant` message must start with a thinking block.");
    }
    break;
  }
  return std::nullopt;
}

}  // namespace

std::optional<ApiError> validate(const bj::value& body_v) {
  const bj::object* body = body_v.if_object();
  if (!body) return invalid("request body must be a JSON object");
  static const std::set<std::string, std::less<>> kKnown = {
      "model",          "messages",    "max_tokens",  "system",      "metadata",
      "stop_sequences", "stream",      "temperature", "top_p",       "top_k",
      "tools",          "tool_choice", "thinking",    "service_tier", "output_config"};
  for (const auto& kv : *body) {
    if (!kKnown.count(kv.key()))
      return invalid(std::string(kv.key()) + ": Extra inputs are not permitted");
  }
  const bj::value* model = body->if_contains("model");
  if (!model) return invalid("model: Field required");
  if (!model->is_string() || model->get_string().empty())
    return invalid("model: Input should be a valid string");
  const bj::value* max = body->if_contains("max_tokens");
  if (!max) return invalid("max_tokens: Field required");
  if (!(max->is_int64() || max->is_uint64()))
    return invalid("max_tokens: Input should be a valid integer");
  if (max->is_int64() && max->get_int64() < 1)
    return invalid("max_tokens: Input should be greater than or equal to 1");
  if (auto e = validate_messages(body->if_contains("messages"))) return e;
  if (const bj::value* system = body->if_contains("system")) {
    if (auto e = validate_text_blocks(*system, "system")) return e;
  }
  for (const char* key : {"temperature", "top_p"}) {
    const bj::value* v = body->if_contains(key);
    if (v && (!is_number(v) || number(*v) < 0 || number(*v) > 1)) {
      return invalid(std::string(key) + ": Input should be a number between 0 and 1");
    }
  }
  if (const bj::value* th = body->if_contains("thinking")) {
    if (auto e = validate_thinking(*body, *th)) return e;
  }
  if (const bj::value* oc = body->if_contains("output_config")) {
    const bj::value* effort = oc->is_object() ? oc->get_object().if_contains("effort") : nullptr;
    if (!effort || !(*effort == "low" || *effort == "medium" || *effort == "high" || *effort == "max")) {
      return invalid("output_config.effort: Input should be 'low', 'medium', 'high' or 'max'");
    }
  }
  if (const bj::value* s = body->if_contains("stop_sequences")) {
    if (!s->is_array()) return invalid("stop_sequences: Input should be a valid list");
    for (const bj::value& x : s->get_array()) {
      if (!x.is_string()) return invalid("stop_sequences: Input should be a list of strings");
    }
  }
  if (const bj::value* s = body->if_contains("stream"); s && !s->is_bool()) {
    return invalid("stream: Input should be a valid boolean");
  }
  if (const bj::value* m = body->if_contains("metadata")) {
    const bj::object* o = m->if_object();
    const bj::value* uid = o ? o->if_contains("user_id") : nullptr;
    if (!o || (uid && !uid->is_string() && !uid->is_null()))
      return invalid("metadata.user_id: Input should be a valid string");
  }
  return validate_tools(*body);
}

}  // namespace spectra::fakes::anthropic
