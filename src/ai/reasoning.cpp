#include "ai/reasoning.h"

#include <cmath>
#include <string>

namespace spectra::ai::reasoning {

namespace {

Status bad(std::string_view param, std::string_view why) {
  return invalid_argument(std::string(param) + ": " + std::string(why));
}

bool present(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  return v && !v->is_null();
}

// A JSON number as a double (integers included); false for anything else.
bool number(const bj::value& v, double* out) {
  if (v.is_int64()) *out = static_cast<double>(v.get_int64());
  else if (v.is_uint64()) *out = static_cast<double>(v.get_uint64());
  else if (v.is_double()) *out = v.get_double();
  else return false;
  return std::isfinite(*out);
}

}  // namespace

bj::object Thinking::object() const {
  if (!adaptive) return bj::object{{"type", "enabled"}, {"budget_tokens", budget}};
  bj::object o{{"type", "adaptive"}};
  if (!display.empty()) o["display"] = display;
  return o;
}

bool thinks_adaptively(std::string_view id) {
  const std::size_t at = id.find("claude-");
  if (at == std::string_view::npos) return false;
  // The first one- or two-digit part after "claude-" is the major version
  // and a second right after it the minor ("claude-3-7-sonnet",
  // "claude-opus-4-1-20250805"; a date is not a version).
  auto small_number = [](std::string_view part, int* out) {
    if (part.empty() || part.size() > 2) return false;
    int n = 0;
    for (char ch : part) {
      if (ch < '0' || ch > '9') return false;
      n = n * 10 + (ch - '0');
    }
    *out = n;
    return true;
  };
  std::string_view rest = id.substr(at + 7);
  rest = rest.substr(0, rest.find_first_of(":@/"));
  int major = -1, minor = 0;
  while (!rest.empty()) {
    const std::size_t dash = rest.find('-');
    const std::string_view part = rest.substr(0, dash);
    rest = dash == std::string_view::npos ? std::string_view() : rest.substr(dash + 1);
    if (major < 0) {
      small_number(part, &major);
      continue;
    }
    small_number(part, &minor);
    break;
  }
  if (major < 0) return true;  // a name without a version: a model newer than this rule
  return major > 4 || (major == 4 && minor >= 6);
}

Result<Thinking> thinking(const bj::object& req, std::string_view model_id) {
  Thinking t;
  if (const bj::value* oc = req.if_contains("output_config"); oc && !oc->is_null()) {
    const bj::object* o = oc->if_object();
    if (!o) return bad("output_config", "must be an object");
    if (const bj::value* e = o->if_contains("effort"); e && !e->is_null()) {
      if (!(*e == "low" || *e == "medium" || *e == "high" || *e == "max")) {
        return bad("output_config.effort", "must be \"low\", \"medium\", \"high\" or \"max\"");
      }
      t.effort = std::string(e->get_string());
    }
  }
  const bj::value* effort = req.if_contains("reasoning_effort");
  std::string level;  // reasoning_effort as Claude's effort level
  if (effort && !effort->is_null() && *effort != "none") {
    if (*effort == "minimal" || *effort == "low") level = "low";
    else if (*effort == "medium" || *effort == "high") level = std::string(effort->get_string());
    else if (*effort == "xhigh") level = "max";  // the top of either scale
    else return bad("reasoning_effort", "must be \"none\", \"minimal\", \"low\", \"medium\", \"high\" or \"xhigh\"");
  }
  if (const bj::value* th = req.if_contains("thinking"); th && !th->is_null()) {
    const bj::object* o = th->if_object();
    const bj::value* type = o ? o->if_contains("type") : nullptr;
    if (type && *type == "disabled") return t;
    if (type && *type == "adaptive") {
      if (present(*o, "budget_tokens")) return bad("thinking.budget_tokens", "is not taken with adaptive thinking");
      if (const bj::value* d = o->if_contains("display"); d && !d->is_null()) {
        if (!(*d == "summarized" || *d == "omitted")) return bad("thinking.display", "must be \"summarized\" or \"omitted\"");
        t.display = std::string(d->get_string());
      }
      t.adaptive = true;
      if (t.effort.empty()) t.effort = level;
      return t;
    }
    const bj::value* b = o ? o->if_contains("budget_tokens") : nullptr;
    double budget = 0;
    if (!type || *type != "enabled" || !b || !number(*b, &budget) || budget != std::floor(budget) || budget < 1024 ||
        budget > 1e9) {
      return bad("thinking",
                 "must be {\"type\":\"enabled\",\"budget_tokens\":n} with n >= 1024, {\"type\":\"adaptive\"} or "
                 "{\"type\":\"disabled\"}");
    }
    t.budget = static_cast<std::int64_t>(budget);
    return t;
  }
  if (level.empty()) return t;
  if (thinks_adaptively(model_id)) {
    t.adaptive = true;
    if (t.effort.empty()) t.effort = level;
    return t;
  }
  t.budget = level == "low" ? 1024 : level == "medium" ? 2048 : level == "high" ? 4096 : 8192;
  return t;
}

Status thinking_conflicts(const bj::object& req) {
  const std::string why = "cannot be combined with reasoning on this model (extended thinking)";
  double v = 0;
  if (const bj::value* t = req.if_contains("temperature"); t && !t->is_null() && (!number(*t, &v) || v != 1)) {
    return bad("temperature", "other than 1 " + why);
  }
  if (present(req, "top_k")) return bad("top_k", why);
  if (const bj::value* p = req.if_contains("top_p"); p && !p->is_null() && (!number(*p, &v) || v < 0.95)) {
    return bad("top_p", "below 0.95 " + why);
  }
  if (const bj::value* c = req.if_contains("tool_choice"); c && (*c == "required" || c->is_object())) {
    return bad("tool_choice", "forcing a tool " + why + "; use \"auto\"");
  }
  return {};
}

Result<std::int64_t> max_tokens_with_thinking(const bj::object& req, const Thinking& t, std::int64_t fallback) {
  constexpr std::int64_t kAdaptiveAllowance = 12288;
  const char* key = present(req, "max_completion_tokens") ? "max_completion_tokens"
                    : present(req, "max_tokens")          ? "max_tokens"
                                                          : nullptr;
  if (!key) return fallback + (t.adaptive ? kAdaptiveAllowance : t.budget);
  double v = 0;
  if (!number(req.at(key), &v) || v != std::floor(v) || v < 1 || v > 1e12) return bad(key, "must be a positive integer");
  if (!t.adaptive && v <= static_cast<double>(t.budget)) {
    return bad(key, "must be greater than the thinking budget (" + std::to_string(t.budget) + " tokens)");
  }
  return static_cast<std::int64_t>(v);
}

bool takes_reasoning_effort(std::string_view kind, std::string_view id) {
  if (kind == "vllm") return true;
  if (kind != "openai") return false;
  if (id.find("gpt-oss") != std::string_view::npos) return true;
  if (id.starts_with("gpt-5")) return id.find("-chat") == std::string_view::npos;
  if (id.starts_with("o3") || id.starts_with("o4")) return true;
  return id == "o1" || id.starts_with("o1-2");  // o1 and its dated snapshots
}

std::string reasoning_effort_for(const bj::object& request) {
  auto t = thinking(request, "");  // a thinking object is taken as sent, whatever the model
  if (!t.ok() || !t->on()) return {};
  if (!t->adaptive) return t->budget <= 4096 ? "low" : t->budget <= 16384 ? "medium" : "high";
  if (t->effort == "max") return "high";
  return t->effort;
}

std::optional<bool> wants_thinking(const bj::object& request) {
  if (const bj::value* t = request.if_contains("thinking"); t && t->is_object()) {
    const bj::value* type = t->get_object().if_contains("type");
    if (type && (*type == "enabled" || *type == "adaptive")) return true;
    if (type && *type == "disabled") return false;
    return std::nullopt;
  }
  const bj::value* e = request.if_contains("reasoning_effort");
  if (!e || !e->is_string()) return std::nullopt;
  return e->get_string() != "none";
}

bool switch_template_thinking(bj::object& request, std::string_view kwarg, bool on) {
  bj::value& kwargs = request["chat_template_kwargs"];
  if (kwargs.is_null()) kwargs = bj::object{};
  bj::object* o = kwargs.if_object();
  if (!o || o->contains(kwarg)) return false;
  (*o)[kwarg] = on;
  return true;
}

}  // namespace spectra::ai::reasoning
