// Parsing of untrusted config-API request parts, kept free of I/O and
// coroutines so the fuzzer drives exactly this code.
#include "api/request_parse.h"

#include "common/json_util.h"

namespace spectra::api {

namespace bj = boost::json;

Result<bj::object> parse_body_object(std::string_view body, std::string_view content_type,
                                     std::initializer_list<std::string_view> allowed, bool required) {
  if (body.empty()) {
    if (required) return invalid_argument("request body is empty; expected a JSON object");
    return bj::object();
  }
  if (!content_type.empty() && content_type.find("json") == std::string_view::npos) {
    return invalid_argument("Content-Type must be application/json");
  }
  auto v = json::parse(body, {.max_bytes = 1 << 20, .max_depth = 64});
  if (!v.ok()) return v.status();
  if (!v->is_object()) return invalid_argument("request body must be a JSON object");
  for (const auto& kv : v->get_object()) {
    bool ok = false;
    for (auto a : allowed) ok = ok || kv.key() == a;
    if (!ok) return invalid_argument("unknown field '" + std::string(kv.key()) + "' in request body");
  }
  return std::move(v->get_object());
}

Result<std::string> message_of(const bj::object& body) {
  const auto* m = body.if_contains("message");
  if (!m) return std::string();
  if (!m->is_string()) return invalid_argument("'message' must be a string");
  if (m->get_string().size() > kMaxMessage) return invalid_argument("'message' is longer than 512 characters");
  for (char c : m->get_string()) {
    if (static_cast<unsigned char>(c) < 0x20) return invalid_argument("'message' contains a control character");
  }
  return std::string(m->get_string());
}

Result<std::uint64_t> parse_uint(std::string_view s, const char* what) {
  if (s.empty() || s.size() > 19) return invalid_argument(std::string(what) + " must be a non-negative integer");
  std::uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return invalid_argument(std::string(what) + " must be a non-negative integer");
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

bool parse_if_match(std::string_view v, std::uint64_t* out) {
  if (v.substr(0, 2) == "W/") v.remove_prefix(2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  auto n = parse_uint(v, "If-Match");
  if (!n.ok()) return false;
  *out = *n;
  return true;
}

}  // namespace spectra::api
