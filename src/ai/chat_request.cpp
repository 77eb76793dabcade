#include "ai/chat_request.h"

#include "ai/anthropic_beta.h"
#include "common/crypto.h"
#include "common/json_util.h"

namespace spectra::ai {
namespace {

std::string text_of(const bj::value& content) {
  if (content.is_string()) return std::string(content.get_string());
  std::string out;
  if (content.is_array()) {
    for (const auto& p : content.get_array()) {
      const auto* o = p.if_object();
      if (o && o->contains("text") && o->at("text").is_string()) out += (out.empty() ? "" : "\n") + std::string(o->at("text").get_string());
    }
  }
  return out;
}

std::ptrdiff_t last_user_index(const bj::array& msgs) {
  for (std::ptrdiff_t i = static_cast<std::ptrdiff_t>(msgs.size()) - 1; i >= 0; --i) {
    const auto* o = msgs[static_cast<std::size_t>(i)].if_object();
    if (o && o->contains("role") && o->at("role") == "user") return i;
  }
  return -1;
}

bool fail(RequestError* e, std::string param, std::string message) {
  if (e) {
    e->param = std::move(param);
    e->message = std::move(message);
  }
  return false;
}

bool check_number(const bj::object& o, const char* k, double lo, double hi, RequestError* e) {
  const auto* v = o.if_contains(k);
  if (!v || v->is_null()) return true;
  if (!v->is_number()) return fail(e, k, std::string("'") + k + "' must be a number");
  double d = v->to_number<double>();
  if (!(d >= lo && d <= hi)) {
    // Bounds as people write them: 1 and 1000000000, not 1E0 and 1E9.
    auto text = [](double x) {
      return x == static_cast<double>(static_cast<long long>(x)) ? std::to_string(static_cast<long long>(x))
                                                               : json::canonical(bj::value(x));
    };
    return fail(e, k, std::string("'") + k + "' must be between " + text(lo) + " and " + text(hi));
  }
  return true;
}

bool check_content(const bj::value& c, const std::string& where, bool nullable, RequestError* e) {
  if (c.is_string() || (nullable && c.is_null())) return true;
  if (!c.is_array()) return fail(e, where, where + " must be a string or an array of content parts");
  for (const auto& part : c.get_array()) {
    const auto* p = part.if_object();
    const auto* type = p ? p->if_contains("type") : nullptr;
    if (!type || !type->is_string()) return fail(e, where, where + " parts must be objects with a 'type'");
    if (*type == "text" && !(p->contains("text") && p->at("text").is_string())) {
      return fail(e, where, where + " text parts need a string 'text'");
    }
  }
  return true;
}

bool check_messages(const bj::value* m, RequestError* e) {
  if (!m || !m->is_array() || m->get_array().empty()) return fail(e, "messages", "'messages' must be a non-empty array");
  std::size_t i = 0;
  for (const auto& v : m->get_array()) {
    std::string where = "messages[" + std::to_string(i++) + "]";
    const auto* o = v.if_object();
    if (!o) return fail(e, where, where + " must be an object");
    const auto* role = o->if_contains("role");
    if (!role || !role->is_string()) return fail(e, where + ".role", where + ".role is required");
    const auto r = role->get_string();
    if (r != "system" && r != "developer" && r != "user" && r != "assistant" && r != "tool" && r != "function") {
      return fail(e, where + ".role", where + ".role must be system, developer, user, assistant or tool");
    }
    const auto* content = o->if_contains("content");
    bool has_calls = o->contains("tool_calls") && o->at("tool_calls").is_array() && !o->at("tool_calls").get_array().empty();
    if (r == "assistant") {
      if (content && !check_content(*content, where + ".content", true, e)) return false;
      if (!has_calls && (!content || content->is_null()) && !o->contains("refusal")) {
        return fail(e, where + ".content", where + " needs content or tool_calls");
      }
      if (has_calls) {
        for (const auto& tc : o->at("tool_calls").get_array()) {
          const auto* t = tc.if_object();
          const auto* f = t ? t->if_contains("function") : nullptr;
          if (!t || !t->contains("id") || !f || !f->is_object() || !f->get_object().contains("name")) {
            return fail(e, where + ".tool_calls", where + ".tool_calls entries need an id and function.name");
          }
        }
      }
    } else {
      if (!content) return fail(e, where + ".content", where + ".content is required");
      if (!check_content(*content, where + ".content", false, e)) return false;
      if (r == "tool" && !(o->contains("tool_call_id") && o->at("tool_call_id").is_string())) {
        return fail(e, where + ".tool_call_id", where + " (role tool) needs a tool_call_id");
      }
    }
  }
  return true;
}

}  // namespace

Result<ChatRequest> parse_chat_request(std::string_view body, RequestError* error) {
  auto parsed = json::parse(body, {.max_bytes = kMaxChatRequestBytes, .max_depth = 64});
  if (!parsed.ok()) {
    fail(error, "", parsed.status().message());
    if (error) error->code = "invalid_json";
    return parsed.status();
  }
  if (!parsed->is_object()) {
    fail(error, "", "request body must be a JSON object");
    return invalid_argument("request body must be a JSON object");
  }
  return check_chat_request(std::move(parsed->get_object()), error);
}

Result<ChatRequest> check_chat_request(bj::object body, RequestError* error) {
  ChatRequest r;
  r.body = std::move(body);
  const auto* model = r.body.if_contains("model");
  if (!model || !model->is_string() || model->get_string().empty() || model->get_string().size() > 256) {
    fail(error, "model", "'model' is required: a string of at most 256 characters");
    if (error) error->code = "missing_model";
    return invalid_argument(error ? error->message : "bad model");
  }
  r.model = std::string(model->get_string());
  RequestError local;
  RequestError* e = error ? error : &local;
  if (!check_messages(r.body.if_contains("messages"), e)) return invalid_argument(e->message);
  if (const auto* s = r.body.if_contains("stream"); s && !s->is_null()) {
    if (!s->is_bool()) {
      fail(e, "stream", "'stream' must be true or false");
      return invalid_argument(e->message);
    }
    r.stream = s->get_bool();
  }
  if (const auto* so = r.body.if_contains("stream_options"); so && !so->is_null()) {
    if (!so->is_object()) {
      fail(e, "stream_options", "'stream_options' must be an object");
      return invalid_argument(e->message);
    }
    const auto* iu = so->get_object().if_contains("include_usage");
    r.include_usage = iu && iu->is_bool() && iu->get_bool();
  }
  if (!check_number(r.body, "temperature", 0, 2, e) || !check_number(r.body, "top_p", 0, 1, e) ||
      !check_number(r.body, "presence_penalty", -2, 2, e) || !check_number(r.body, "frequency_penalty", -2, 2, e) ||
      !check_number(r.body, "max_tokens", 1, 1e9, e) || !check_number(r.body, "max_completion_tokens", 1, 1e9, e) ||
      !check_number(r.body, "n", 1, 128, e)) {
    return invalid_argument(e->message);
  }
  if (auto betas = anthropic_beta::of(r.body); !betas.ok()) {
    fail(e, "anthropic_beta", betas.status().message());
    return invalid_argument(e->message);
  }
  if (const auto* t = r.body.if_contains("tools"); t && !t->is_null()) {
    if (!t->is_array()) {
      fail(e, "tools", "'tools' must be an array");
      return invalid_argument(e->message);
    }
    for (const auto& tool : t->get_array()) {
      const auto* o = tool.if_object();
      const auto* f = o ? o->if_contains("function") : nullptr;
      const auto* name = f && f->is_object() ? f->get_object().if_contains("name") : nullptr;
      if (!name || !name->is_string() || name->get_string().empty()) {
        fail(e, "tools", "every tool needs function.name");
        return invalid_argument(e->message);
      }
    }
  }
  return r;
}

std::string exact_cache_key(const std::string& ns, const std::string& provider, const std::string& model,
                            const bj::object& request) {
  std::string text;
  text.reserve(256);
  text.append("v1\n").append(ns).append("\n").append(provider).append("/").append(model).append("\n");
  json::canonical_into(request, {"model", "stream", "stream_options", "user", "metadata", "store"}, text);
  return crypto::sha256_hex(text);
}

std::string last_user_text(const bj::object& request) {
  const auto* m = request.if_contains("messages");
  if (!m || !m->is_array()) return {};
  auto i = last_user_index(m->get_array());
  if (i < 0) return {};
  const auto& msg = m->get_array()[static_cast<std::size_t>(i)].get_object();
  return msg.contains("content") ? text_of(msg.at("content")) : std::string();
}

std::string semantic_partition_key(const std::string& ns, const std::string& provider, const std::string& model,
                                   const bj::object& request) {
  bj::object r = request;
  for (const char* k : {"model", "stream", "stream_options", "user", "metadata", "store"}) r.erase(k);
  if (auto* m = r.if_contains("messages"); m && m->is_array()) {
    auto& msgs = m->get_array();
    auto i = last_user_index(msgs);
    // Everything after the last user turn is part of the partition too.
    if (i >= 0) msgs[static_cast<std::size_t>(i)].get_object()["content"] = "<last user turn>";
  }
  return crypto::sha256_hex("semantic-v1\n" + ns + "\n" + provider + "/" + model + "\n" + json::canonical(r));
}

namespace {

bool present(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  return v && !v->is_null();
}

void erase_cache_control(bj::value* items) {
  if (!items || !items->is_array()) return;
  for (bj::value& v : items->get_array()) {
    if (bj::object* o = v.if_object()) o->erase("cache_control");
  }
}

}  // namespace

bool without_claude_fields(const bj::object& chat, bj::object* out) {
  bool found = present(chat, "thinking") || present(chat, "output_config") || present(chat, "anthropic_beta") ||
               json::any_element_has(chat.if_contains("tools"), "cache_control");
  const bj::value* msgs = chat.if_contains("messages");
  if (msgs && msgs->is_array() && !found) {
    for (const bj::value& m : msgs->get_array()) {
      const bj::object* o = m.if_object();
      if (o && (o->contains("thinking_blocks") || json::any_element_has(o->if_contains("content"), "cache_control"))) {
        found = true;
        break;
      }
    }
  }
  if (!found) return false;
  *out = chat;
  out->erase("thinking");
  out->erase("output_config");
  out->erase("anthropic_beta");
  erase_cache_control(out->if_contains("tools"));
  if (bj::value* m = out->if_contains("messages"); m && m->is_array()) {
    for (bj::value& msg : m->get_array()) {
      if (bj::object* o = msg.if_object()) {
        o->erase("thinking_blocks");
        erase_cache_control(o->if_contains("content"));
      }
    }
  }
  return true;
}

bool for_openai_api(const bj::object& chat, std::string_view kind, bj::object* out) {
  const bool stripped = without_claude_fields(chat, out);
  if (kind != "openai" || !chat.contains("top_k")) return stripped;
  if (!stripped) *out = chat;
  out->erase("top_k");
  return true;
}

}  // namespace spectra::ai
