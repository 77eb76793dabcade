#include "ai/anthropic_response.h"

#include <boost/json/serialize.hpp>

#include "common/json_util.h"

namespace spectra::ai::anthropic {

namespace {

// Token counts beyond this are nonsense from a broken upstream; clamping keeps
// the sums below free of overflow.
constexpr std::int64_t kMaxTokens = std::int64_t{1} << 48;

bool read_count(const bj::object& o, std::string_view key, std::int64_t* out) {
  const bj::value* v = o.if_contains(key);
  if (!v) return false;
  std::int64_t n = 0;
  if (v->is_int64())
    n = v->get_int64();
  else if (v->is_uint64())
    n = v->get_uint64() > static_cast<std::uint64_t>(kMaxTokens)
            ? kMaxTokens
            : static_cast<std::int64_t>(v->get_uint64());
  else
    return false;  // null (Anthropic sends null for absent cache counts) or garbage
  *out = n < 0 ? 0 : (n > kMaxTokens ? kMaxTokens : n);
  return true;
}

struct ErrorKind {
  std::string_view anthropic_type;
  unsigned status;
  std::string_view openai_type;
  std::string_view code;
  bool retryable;
};

// https://docs.anthropic.com/en/api/errors; overloaded (HTTP 529, which
// clients do not know) reaches the client as 503.
constexpr ErrorKind kErrorKinds[] = {
    {"invalid_request_error", 400, "invalid_request_error", "", false},
    {"authentication_error", 401, "authentication_error", "", false},
    {"billing_error", 402, "invalid_request_error", "billing_error", false},
    {"permission_error", 403, "permission_error", "", false},
    {"not_found_error", 404, "not_found_error", "", false},
    {"request_too_large", 413, "invalid_request_error", "request_too_large", false},
    {"rate_limit_error", 429, "rate_limit_error", "", true},
    {"api_error", 500, "api_error", "", true},
    {"timeout_error", 504, "api_error", "timeout_error", true},
    {"overloaded_error", 503, "api_error", "overloaded_error", true},
};

const ErrorKind* kind_by_type(std::string_view type) {
  for (const ErrorKind& k : kErrorKinds) {
    if (k.anthropic_type == type) return &k;
  }
  return nullptr;
}

// Without a recognisable error type the upstream status decides.
UpstreamError error_by_status(unsigned http_status) {
  UpstreamError e;
  const ErrorKind* k = nullptr;
  switch (http_status) {
    case 400:
      k = kind_by_type("invalid_request_error");
      break;
    case 401:
      k = kind_by_type("authentication_error");
      break;
    case 402:
      k = kind_by_type("billing_error");
      break;
    case 403:
      k = kind_by_type("permission_error");
      break;
    case 404:
      k = kind_by_type("not_found_error");
      break;
    case 413:
      k = kind_by_type("request_too_large");
      break;
    case 429:
      k = kind_by_type("rate_limit_error");
      break;
    case 529:
      k = kind_by_type("overloaded_error");
      break;
    default:
      break;
  }
  if (k) {
    e.http_status = k->status;
    e.type = k->openai_type;
    e.code = k->code;
    e.retryable = k->retryable;
  } else if (http_status >= 500 && http_status <= 599) {
    e.http_status =
        (http_status == 500 || http_status == 503 || http_status == 504) ? http_status : 502;
    e.type = "api_error";
    e.retryable = true;
  } else if (http_status >= 400 && http_status <= 499) {
    e.http_status = http_status;
    e.type = "invalid_request_error";
  } else {
    e.http_status = 502;  // an error body with a success or odd status
    e.type = "api_error";
    e.retryable = true;
  }
  return e;
}

std::string printable_prefix(std::string_view body, std::size_t max) {
  std::string out;
  for (char c : body.substr(0, max)) out.push_back(c >= 0x20 && c < 0x7f ? c : ' ');
  if (body.size() > max) out += "...";
  return out;
}

}  // namespace

std::string finish_reason(std::string_view stop_reason) {
  if (stop_reason == "max_tokens") return "length";
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "refusal") return "content_filter";
  return "stop";  // end_turn, stop_sequence, pause_turn, and any newer reason
}

void RawUsage::merge(const bj::object& u) {
  bool any = read_count(u, "input_tokens", &input);
  any = read_count(u, "cache_read_input_tokens", &cache_read) || any;
  any = read_count(u, "cache_creation_input_tokens", &cache_creation) || any;
  any = read_count(u, "output_tokens", &output) || any;
  seen = seen || any;
}

Usage RawUsage::to_usage() const {
  Usage u;
  u.prompt_tokens = input + cache_read + cache_creation;
  u.completion_tokens = output;
  u.cached_prompt_tokens = cache_read;
  u.cache_write_tokens = cache_creation;
  u.reported = seen;
  return u;
}

Result<bj::object> translate_message(const bj::object& message, std::string_view model,
                                     Usage* usage) {
  const bj::value* type = message.if_contains("type");
  if (!type || *type != "message")
    return invalid_argument("not a message object (type != \"message\")");
  const bj::value* content = message.if_contains("content");
  if (!content || !content->is_array()) return invalid_argument("message.content is not an array");

  std::string text, reasoning;
  bj::array tool_calls, thinking;
  for (const bj::value& b : content->get_array()) {
    const bj::object* block = b.if_object();
    if (!block) return invalid_argument("message.content holds a non-object block");
    const bj::value* bt = block->if_contains("type");
    if (bt && *bt == "thinking") {
      // Its text as reasoning_content; the block itself, signed, in
      // thinking_blocks, for the client to send back with tool results.
      const bj::value* t = block->if_contains("thinking");
      const bj::value* sig = block->if_contains("signature");
      if (!t || !t->is_string() || !sig || !sig->is_string()) {
        return invalid_argument("thinking block without thinking or signature");
      }
      reasoning += t->get_string();
      thinking.push_back(bj::object{{"type", "thinking"}, {"thinking", *t}, {"signature", *sig}});
    } else if (bt && *bt == "redacted_thinking") {
      const bj::value* d = block->if_contains("data");
      if (!d || !d->is_string()) return invalid_argument("redacted_thinking block without data");
      thinking.push_back(bj::object{{"type", "redacted_thinking"}, {"data", *d}});
    } else if (bt && *bt == "text") {
      const bj::value* t = block->if_contains("text");
      if (!t || !t->is_string()) return invalid_argument("text block without text");
      text += t->get_string();
    } else if (bt && *bt == "tool_use") {
      const bj::value* id = block->if_contains("id");
      const bj::value* name = block->if_contains("name");
      const bj::value* input = block->if_contains("input");
      if (!id || !id->is_string() || !name || !name->is_string()) {
        return invalid_argument("tool_use block without id or name");
      }
      std::string args = input ? bj::serialize(*input) : std::string("{}");
      tool_calls.push_back(
          bj::object{{"id", *id},
                     {"type", "function"},
                     {"function", bj::object{{"name", *name}, {"arguments", std::move(args)}}}});
    }
    // Newer block types have no OpenAI place.
  }

  RawUsage raw;
  if (const bj::value* u = message.if_contains("usage"); u && u->is_object())
    raw.merge(u->get_object());
  Usage out_usage = raw.to_usage();
  if (usage) *usage = out_usage;

  std::string_view stop_reason;
  if (const bj::value* sr = message.if_contains("stop_reason"); sr && sr->is_string()) {
    stop_reason = sr->get_string();
  }
  bj::object msg{{"role", "assistant"}};
  if (text.empty() && !tool_calls.empty())
    msg["content"] = nullptr;
  else
    msg["content"] = text;
  msg["refusal"] = nullptr;
  if (!reasoning.empty()) msg["reasoning_content"] = std::move(reasoning);
  if (!thinking.empty()) msg["thinking_blocks"] = std::move(thinking);
  if (!tool_calls.empty()) msg["tool_calls"] = std::move(tool_calls);

  bj::object choice{{"index", 0},
                    {"message", std::move(msg)},
                    {"logprobs", nullptr},
                    {"finish_reason", finish_reason(stop_reason)}};
  bj::object out;
  const bj::value* id = message.if_contains("id");
  out["id"] = id && id->is_string() ? id->get_string() : bj::string("msg_unknown");
  out["object"] = "chat.completion";
  out["created"] = 0;
  const bj::value* m = message.if_contains("model");
  if (m && m->is_string() && !m->get_string().empty())
    out["model"] = *m;
  else
    out["model"] = model;
  out["choices"] = bj::array{std::move(choice)};
  out["usage"] = chat_usage_json(out_usage);
  return out;
}

UpstreamError translate_error_object(unsigned http_status, const bj::object& error) {
  const bj::value* type = error.if_contains("type");
  const bj::value* message = error.if_contains("message");
  const ErrorKind* k = type && type->is_string() ? kind_by_type(type->get_string()) : nullptr;
  UpstreamError e = error_by_status(http_status);
  if (k) {
    e.http_status = k->status;
    e.type = k->openai_type;
    e.code = k->code;
    e.retryable = k->retryable;
  } else if (type && type->is_string() && !type->get_string().empty() && e.code.empty()) {
    e.code = type->get_string();  // a newer Anthropic type: keep it visible
  }
  if (message && message->is_string() && !message->get_string().empty()) {
    e.message = message->get_string();
  } else {
    e.message = "Anthropic upstream error" + (e.code.empty() ? std::string() : " (" + e.code + ")");
  }
  return e;
}

UpstreamError translate_error(unsigned http_status, std::string_view body) {
  auto parsed = parse_object(body, 1 << 20);
  if (parsed.ok()) {
    if (const bj::value* err = parsed->if_contains("error"); err && err->is_object()) {
      return translate_error_object(http_status, err->get_object());
    }
  }
  UpstreamError e = error_by_status(http_status);
  e.message = "Anthropic upstream answered HTTP " + std::to_string(http_status);
  if (!body.empty()) e.message += ": " + printable_prefix(body, 200);
  return e;
}

UpstreamError protocol_error(std::string message) {
  UpstreamError e;
  e.http_status = 502;
  e.type = "api_error";
  e.code = "upstream_protocol_error";
  e.message = std::move(message);
  e.retryable = true;  // another upstream may well answer properly
  return e;
}

Result<bj::object> parse_object(std::string_view text, std::size_t max_bytes) {
  auto v = spectra::json::parse(text, spectra::json::ParseLimits{max_bytes, 64});
  if (!v.ok()) return v.status();
  if (!v->is_object()) return invalid_argument("expected a JSON object");
  return std::move(v->get_object());
}

}  // namespace spectra::ai::anthropic
