#include "ai/anthropic_request.h"

#include <boost/json/serialize.hpp>
#include <cmath>
#include <limits>

#include "ai/anthropic_messages.h"
#include "ai/reasoning.h"

namespace spectra::ai::anthropic {

namespace {

Status bad(std::string_view param, std::string_view why) {
  return invalid_argument(std::string(param) + ": " + std::string(why));
}

bool present(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  return v && !v->is_null();
}

bool to_int64(const bj::value& v, std::int64_t* out) {
  if (v.is_int64()) {
    *out = v.get_int64();
    return true;
  }
  if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return false;
    }
    *out = static_cast<std::int64_t>(v.get_uint64());
    return true;
  }
  if (v.is_double()) {
    double d = v.get_double();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9.0e15) return false;
    *out = static_cast<std::int64_t>(d);
    return true;
  }
  return false;
}

bool to_double(const bj::value& v, double* out) {
  if (v.is_int64())
    *out = static_cast<double>(v.get_int64());
  else if (v.is_uint64())
    *out = static_cast<double>(v.get_uint64());
  else if (v.is_double())
    *out = v.get_double();
  else
    return false;
  return std::isfinite(*out);
}

// Parameters whose effect Anthropic cannot reproduce and whose absence would
// change the shape of the answer: refuse them rather than answer differently.
Status refuse_unsupported(const bj::object& req) {
  if (const bj::value* n = req.if_contains("n"); n && !n->is_null()) {
    std::int64_t v = 0;
    if (!to_int64(*n, &v) || v < 1) return bad("n", "must be a positive integer");
    if (v != 1) return bad("n", "Anthropic models return one choice per request; n must be 1");
  }
  if (const bj::value* lp = req.if_contains("logprobs"); lp && !lp->is_null()) {
    if (!lp->is_bool()) return bad("logprobs", "must be a boolean");
    if (lp->get_bool())
      return bad("logprobs", "log probabilities are not available from Anthropic models");
  }
  if (present(req, "top_logprobs")) {
    return bad("top_logprobs", "log probabilities are not available from Anthropic models");
  }
  if (present(req, "audio"))
    return bad("audio", "audio output is not supported by Anthropic models");
  if (const bj::value* m = req.if_contains("modalities"); m && m->is_array()) {
    for (const bj::value& x : m->get_array()) {
      if (x != "text") return bad("modalities", "Anthropic models produce text only");
    }
  }
  if (present(req, "functions"))
    return bad("functions", "the legacy functions parameter is not supported; use tools");
  if (present(req, "function_call")) {
    return bad("function_call",
               "the legacy function_call parameter is not supported; use tool_choice");
  }
  return {};
}

Result<std::int64_t> max_tokens(const bj::object& req, std::int64_t fallback) {
  const char* key = present(req, "max_completion_tokens") ? "max_completion_tokens"
                    : present(req, "max_tokens")          ? "max_tokens"
                                                          : nullptr;
  if (!key) return fallback;
  std::int64_t v = 0;
  if (!to_int64(req.at(key), &v) || v < 1) return bad(key, "must be a positive integer");
  return v;
}

Result<bj::array> stop_sequences(const bj::value& stop) {
  bj::array out;
  if (stop.is_string()) {
    if (!stop.get_string().empty()) out.push_back(stop);
    return out;
  }
  if (!stop.is_array()) return bad("stop", "must be a string or an array of strings");
  for (const bj::value& s : stop.get_array()) {
    if (!s.is_string()) return bad("stop", "must be a string or an array of strings");
    if (!s.get_string().empty()) out.push_back(s);
  }
  return out;
}

Result<bj::array> tools(const bj::value& tools_v) {
  if (!tools_v.is_array()) return bad("tools", "must be an array");
  bj::array out;
  const bj::array& in = tools_v.get_array();
  for (std::size_t i = 0; i < in.size(); ++i) {
    const std::string where = "tools[" + std::to_string(i) + "]";
    const bj::object* tool = in[i].if_object();
    if (!tool) return bad(where, "must be an object");
    const bj::value* type = tool->if_contains("type");
    if (!type || *type != "function")
      return bad(where + ".type", "only \"function\" tools are supported");
    const bj::value* fn_v = tool->if_contains("function");
    if (!fn_v || !fn_v->is_object()) return bad(where + ".function", "must be an object");
    const bj::object& fn = fn_v->get_object();
    const bj::value* name = fn.if_contains("name");
    if (!name || !name->is_string() || name->get_string().empty()) {
      return bad(where + ".function.name", "must be a non-empty string");
    }
    bj::object t{{"name", name->get_string()}};
    if (const bj::value* d = fn.if_contains("description"); d && !d->is_null()) {
      if (!d->is_string()) return bad(where + ".function.description", "must be a string");
      t["description"] = *d;
    }
    const bj::value* params = fn.if_contains("parameters");
    if (params && !params->is_null() && !params->is_object()) {
      return bad(where + ".function.parameters", "must be a JSON Schema object");
    }
    // OpenAI allows a function without parameters; Anthropic requires a schema.
    if (params && params->is_object())
      t["input_schema"] = *params;
    else
      t["input_schema"] = bj::object{{"type", "object"}, {"properties", bj::object{}}};
    if (const bj::value* cc = tool->if_contains("cache_control"); cc && cc->is_object()) {
      t["cache_control"] = *cc;
    }
    out.push_back(std::move(t));
  }
  return out;
}

// Returns an empty object when nothing is to be sent.
Result<bj::object> tool_choice(const bj::value& choice, bool have_tools) {
  bj::object out;
  if (choice.is_string()) {
    const bj::string& c = choice.get_string();
    if (c == "auto")
      out["type"] = "auto";
    else if (c == "none")
      out["type"] = "none";
    else if (c == "required")
      out["type"] = "any";
    else
      return bad("tool_choice", "must be \"auto\", \"none\", \"required\" or a function choice");
  } else if (choice.is_object()) {
    const bj::object& o = choice.get_object();
    const bj::value* type = o.if_contains("type");
    const bj::value* fn = o.if_contains("function");
    const bj::value* name = fn && fn->is_object() ? fn->get_object().if_contains("name") : nullptr;
    if (!type || *type != "function" || !name || !name->is_string() || name->get_string().empty()) {
      return bad("tool_choice", "must be {\"type\":\"function\",\"function\":{\"name\":...}}");
    }
    out["type"] = "tool";
    out["name"] = name->get_string();
  } else {
    return bad("tool_choice", "must be a string or an object");
  }
  if (!have_tools) {
    // Without tools, "auto" and "none" mean the same as no choice at all.
    if (out["type"] == "auto" || out["type"] == "none") return bj::object{};
    return bad("tool_choice", "requires tools");
  }
  return out;
}

const char kJsonOnly[] =
    "Do not wrap it in Markdown code fences and do not write anything before or after it.";

}  // namespace

Result<std::string> response_format_instruction(const bj::value& rf) {
  if (rf.is_null()) return std::string();
  const bj::object* o = rf.if_object();
  const bj::value* type = o ? o->if_contains("type") : nullptr;
  if (!type || !type->is_string()) return bad("response_format.type", "must be a string");
  if (*type == "text") return std::string();
  if (*type == "json_object") {
    return std::string("Respond with a single valid JSON object and nothing else. ") + kJsonOnly;
  }
  if (*type == "json_schema") {
    const bj::value* js = o->if_contains("json_schema");
    const bj::value* schema =
        js && js->is_object() ? js->get_object().if_contains("schema") : nullptr;
    if (!schema || !schema->is_object()) {
      return bad("response_format.json_schema.schema", "must be a JSON Schema object");
    }
    std::string text =
        "Respond with a single valid JSON value that conforms to the JSON Schema below";
    const bj::value* name = js->get_object().if_contains("name");
    if (name && name->is_string() && !name->get_string().empty()) {
      text += " (named \"" + std::string(name->get_string()) + "\")";
    }
    text += ", and nothing else. ";
    text += kJsonOnly;
    text += "\n\nJSON Schema:\n";
    text += bj::serialize(*schema);
    return text;
  }
  return bad("response_format.type", "unsupported type '" + std::string(type->get_string()) + "'");
}

Result<bj::object> translate_request(const bj::object& req, const RequestOptions& options) {
  Status s = refuse_unsupported(req);
  if (!s.ok()) return s;

  auto think = reasoning::thinking(req, options.base_model.empty() ? options.model : options.base_model);
  if (!think.ok()) return think.status();
  const bool thinking = think->on();
  if (thinking) {
    if (Status c = reasoning::thinking_conflicts(req); !c.ok()) return c;
  }

  const bj::value* messages_v = req.if_contains("messages");
  if (!messages_v || !messages_v->is_array()) return bad("messages", "must be an array");
  auto translated = translate_messages(messages_v->get_array(), thinking);
  if (!translated.ok()) return translated.status();

  auto max = thinking ? reasoning::max_tokens_with_thinking(req, *think, options.default_max_tokens)
                      : max_tokens(req, options.default_max_tokens);
  if (!max.ok()) return max.status();

  bj::array system = std::move(translated->system);
  if (const bj::value* rf = req.if_contains("response_format")) {
    auto instruction = response_format_instruction(*rf);
    if (!instruction.ok()) return instruction.status();
    if (!instruction->empty())
      system.push_back(bj::object{{"type", "text"}, {"text", *instruction}});
  }

  bj::object out;
  out["model"] = options.model;
  out["max_tokens"] = *max;
  if (system.size() == 1 && system[0].as_object().size() == 2) {
    out["system"] = system[0].as_object().at("text");  // one plain text: the string form
  } else if (!system.empty()) {
    out["system"] = std::move(system);
  }
  out["messages"] = std::move(translated->messages);
  if (thinking) out["thinking"] = think->object();
  if (!think->effort.empty()) out["output_config"] = bj::object{{"effort", think->effort}};

  if (const bj::value* user = req.if_contains("user"); user && !user->is_null()) {
    if (!user->is_string()) return bad("user", "must be a string");
    if (!user->get_string().empty()) out["metadata"] = bj::object{{"user_id", *user}};
  }
  if (const bj::value* stop = req.if_contains("stop"); stop && !stop->is_null()) {
    auto seqs = stop_sequences(*stop);
    if (!seqs.ok()) return seqs.status();
    if (!seqs->empty()) out["stop_sequences"] = std::move(*seqs);
  }
  if (const bj::value* t = req.if_contains("temperature"); t && !t->is_null()) {
    double v = 0;
    if (!to_double(*t, &v) || v < 0) return bad("temperature", "must be a number between 0 and 2");
    out["temperature"] = v > 1.0 ? 1.0 : v;  // Anthropic's range is [0, 1]
  }
  if (const bj::value* p = req.if_contains("top_p"); p && !p->is_null()) {
    double v = 0;
    if (!to_double(*p, &v) || v < 0 || v > 1)
      return bad("top_p", "must be a number between 0 and 1");
    out["top_p"] = *p;
  }
  if (const bj::value* k = req.if_contains("top_k"); k && !k->is_null()) {
    std::int64_t v = 0;
    if (!to_int64(*k, &v) || v < 0) return bad("top_k", "must be a non-negative integer");
    out["top_k"] = v;
  }

  bool have_tools = false;
  if (const bj::value* t = req.if_contains("tools"); t && !t->is_null()) {
    auto ts = tools(*t);
    if (!ts.ok()) return ts.status();
    have_tools = !ts->empty();
    if (have_tools) out["tools"] = std::move(*ts);
  }
  bj::object choice;
  if (const bj::value* c = req.if_contains("tool_choice"); c && !c->is_null()) {
    auto tc = tool_choice(*c, have_tools);
    if (!tc.ok()) return tc.status();
    choice = std::move(*tc);
  }
  if (const bj::value* ptc = req.if_contains("parallel_tool_calls"); ptc && !ptc->is_null()) {
    if (!ptc->is_bool()) return bad("parallel_tool_calls", "must be a boolean");
    if (!ptc->get_bool() && have_tools) {
      if (choice.empty()) choice["type"] = "auto";
      if (choice["type"] != "none") choice["disable_parallel_tool_use"] = true;
    }
  }
  if (!choice.empty()) out["tool_choice"] = std::move(choice);
  if (options.stream) out["stream"] = true;
  return out;
}

}  // namespace spectra::ai::anthropic
