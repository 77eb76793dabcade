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

Result<std::int64_t> thinking_budget(const bj::object& req) {
  if (const bj::value* t = req.if_contains("thinking"); t && !t->is_null()) {
    const bj::object* o = t->if_object();
    const bj::value* type = o ? o->if_contains("type") : nullptr;
    if (type && *type == "disabled") return std::int64_t{0};
    const bj::value* b = o ? o->if_contains("budget_tokens") : nullptr;
    double budget = 0;
    if (!type || *type != "enabled" || !b || !number(*b, &budget) || budget != std::floor(budget) || budget < 1024 ||
        budget > 1e9) {
      return bad("thinking", "must be {\"type\":\"enabled\",\"budget_tokens\":n} with n >= 1024, or {\"type\":\"disabled\"}");
    }
    return static_cast<std::int64_t>(budget);
  }
  const bj::value* e = req.if_contains("reasoning_effort");
  if (!e || e->is_null() || *e == "none") return std::int64_t{0};
  if (*e == "minimal" || *e == "low") return std::int64_t{1024};
  if (*e == "medium") return std::int64_t{2048};
  if (*e == "high") return std::int64_t{4096};
  return bad("reasoning_effort", "must be \"none\", \"minimal\", \"low\", \"medium\" or \"high\"");
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

Result<std::int64_t> max_tokens_with_thinking(const bj::object& req, std::int64_t budget, std::int64_t fallback) {
  const char* key = present(req, "max_completion_tokens") ? "max_completion_tokens"
                    : present(req, "max_tokens")          ? "max_tokens"
                                                          : nullptr;
  if (!key) return fallback + budget;
  double v = 0;
  if (!number(req.at(key), &v) || v != std::floor(v) || v < 1 || v > 1e12) return bad(key, "must be a positive integer");
  if (v <= static_cast<double>(budget)) {
    return bad(key, "must be greater than the thinking budget (" + std::to_string(budget) + " tokens)");
  }
  return static_cast<std::int64_t>(v);
}

}  // namespace spectra::ai::reasoning
