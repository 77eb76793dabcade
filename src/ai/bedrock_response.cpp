// Converse responses and Bedrock errors -> OpenAI objects.
#include <boost/json/serialize.hpp>
#include <algorithm>
#include <cctype>

#include "ai/bedrock_adapter.h"
#include "ai/bedrock_internal.h"
#include "common/crypto.h"
#include "common/json_util.h"

namespace spectra::ai {
namespace bedrock {
namespace detail {

Status upstream_failure(UpstreamError e, UpstreamError* out) {
  Code code = e.retryable ? Code::kUnavailable : e.http_status == 502 ? Code::kIo : Code::kInvalidArgument;
  std::string msg = e.message;
  if (out) *out = std::move(e);
  return Status(code, std::move(msg));
}

const bj::object* object_at(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_object() ? &it->value().get_object() : nullptr;
}

const bj::array* array_at(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_array() ? &it->value().get_array() : nullptr;
}

const bj::string* string_at(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? &it->value().get_string() : nullptr;
}

std::optional<std::int64_t> int_at(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return std::nullopt;
  const bj::value& v = it->value();
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(v.get_uint64());
  }
  return std::nullopt;
}

std::optional<double> number_at(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return std::nullopt;
  const bj::value& v = it->value();
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return std::nullopt;
}

Usage parse_usage(const bj::object& usage) {
  // Counts are 32-bit on the wire; anything outside [0, 2^31) is garbage and
  // is ignored rather than allowed to overflow the sums below.
  auto count = [&usage](std::string_view key) -> std::int64_t {
    auto v = int_at(usage, key);
    return v && *v >= 0 && *v <= INT32_MAX ? *v : 0;
  };
  Usage u;
  const std::int64_t cache_read = count("cacheReadInputTokens");
  u.cache_write_tokens = count("cacheWriteInputTokens");
  u.prompt_tokens = count("inputTokens") + cache_read + u.cache_write_tokens;
  u.completion_tokens = count("outputTokens");
  u.cached_prompt_tokens = cache_read;
  u.reported = true;
  return u;
}

namespace {

// One assessment: each policy's findings ({"wordPolicy": {"customWords":
// [{match, action}]}, "contentPolicy": {"filters": [{type, action}]}, ...})
// and its invocationMetrics.usage. Walked generically, so that policies
// Bedrock adds later are read too.
void read_assessment(const bj::object& assessment, Usage* u) {
  for (const auto& [policy, findings] : assessment) {
    if (policy == "invocationMetrics") {
      const bj::object* usage = findings.is_object() ? object_at(findings.get_object(), "usage") : nullptr;
      if (!usage) continue;
      for (const auto& [unit, n] : *usage) {
        if (!unit.ends_with("Units") || unit.ends_with("FreeUnits") || !n.is_int64()) continue;
        if (n.get_int64() <= 0 || n.get_int64() > INT32_MAX) continue;
        u->guardrail_units += n.get_int64();
        const std::string_view name = std::string_view(unit).substr(0, std::min<std::size_t>(unit.size() - 5, 64));
        auto& by_policy = u->guardrail_policy_units;
        auto at = std::find_if(by_policy.begin(), by_policy.end(), [&](const auto& e) { return e.first == name; });
        if (at != by_policy.end()) at->second += n.get_int64();
        else if (by_policy.size() < kMaxGuardrailActed) by_policy.emplace_back(name, n.get_int64());
      }
      continue;
    }
    if (!findings.is_object()) continue;
    for (const auto& [kind, items] : findings.get_object()) {
      if (!items.is_array()) continue;
      for (const auto& item : items.get_array()) {
        const bj::object* f = item.if_object();
        const bj::string* action = f ? string_at(*f, "action") : nullptr;
        if (!action || *action == "NONE") continue;
        // A denied topic's or a regex's own name, else the filter's type.
        const bj::string* what = string_at(*f, "name");
        if (!what) what = string_at(*f, "type");
        std::string label = std::string(policy) + ":" + std::string(what ? std::string_view(*what) : std::string_view(kind));
        if (label.size() > 128) label.resize(128);
        auto& acted = u->guardrail_acted;
        if (acted.size() < kMaxGuardrailActed && std::find(acted.begin(), acted.end(), label) == acted.end()) {
          acted.push_back(std::move(label));
        }
      }
    }
  }
}

}  // namespace

void read_guardrail_trace(const bj::object& holder, Usage* u) {
  const bj::object* trace = object_at(holder, "trace");
  const bj::object* guardrail = trace ? object_at(*trace, "guardrail") : nullptr;
  if (!guardrail) return;
  u->guardrail_traced = true;
  // inputAssessment: guardrail id -> assessment; outputAssessments: id -> [assessment].
  if (const bj::object* in = object_at(*guardrail, "inputAssessment")) {
    for (const auto& [id, a] : *in) {
      if (a.is_object()) read_assessment(a.get_object(), u);
    }
  }
  if (const bj::object* out = object_at(*guardrail, "outputAssessments")) {
    for (const auto& [id, list] : *out) {
      if (!list.is_array()) continue;
      for (const auto& a : list.get_array()) {
        if (a.is_object()) read_assessment(a.get_object(), u);
      }
    }
  }
}

namespace {

UpstreamError make_error(unsigned status, std::string type, std::string code, bool retryable,
                         std::string message) {
  UpstreamError e;
  e.http_status = status;
  e.type = std::move(type);
  e.code = std::move(code);
  e.retryable = retryable;
  e.message = std::move(message);
  return e;
}

}  // namespace

UpstreamError exception_error(std::string_view exception_type, std::string_view message) {
  std::string name(exception_type);
  if (!name.empty()) name[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[0])));
  std::string msg = "Bedrock " + name + ": " + std::string(message);
  if (name == "throttlingException") {
    return make_error(429, "rate_limit_error", "rate_limit_exceeded", true, std::move(msg));
  }
  if (name == "serviceUnavailableException" || name == "modelNotReadyException") {
    return make_error(503, "api_error", "service_unavailable", true, std::move(msg));
  }
  if (name == "internalServerException" || name == "modelStreamErrorException") {
    return make_error(500, "api_error", "upstream_error", true, std::move(msg));
  }
  if (name == "modelTimeoutException") {
    return make_error(504, "api_error", "upstream_timeout", true, std::move(msg));
  }
  if (name == "validationException") {
    return make_error(400, "invalid_request_error", "", false, std::move(msg));
  }
  if (name == "accessDeniedException") {
    return make_error(403, "permission_error", "access_denied", false, std::move(msg));
  }
  if (name == "resourceNotFoundException") {
    return make_error(404, "invalid_request_error", "model_not_found", false, std::move(msg));
  }
  return make_error(502, "api_error", "upstream_error", false, std::move(msg));
}

std::string error_message(unsigned http_status, std::string_view body) {
  auto parsed = json::parse(body, {1u << 20, 32});
  if (parsed.ok() && parsed->is_object()) {
    const bj::object& o = parsed->get_object();
    for (std::string_view key : {"message", "Message"}) {
      if (const bj::string* m = string_at(o, key); m && !m->empty()) return std::string(*m);
    }
  }
  return "Bedrock returned HTTP " + std::to_string(http_status);
}

UpstreamError malformed_error(std::string message) {
  return make_error(502, "api_error", "bad_upstream_response", false,
                    "malformed Bedrock response: " + std::move(message));
}

}  // namespace detail

std::string finish_reason(std::string_view stop_reason) {
  if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded") {
    return "length";
  }
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "content_filtered" || stop_reason == "guardrail_intervened") {
    return "content_filter";
  }
  return "stop";  // end_turn, stop_sequence and anything newer
}

}  // namespace bedrock

using namespace bedrock::detail;

UpstreamError BedrockAdapter::parse_error(unsigned http_status, std::string_view body) const {
  std::string msg = error_message(http_status, body);
  switch (http_status) {
    case 400:
      return exception_error("validationException", msg);
    case 401:
    case 403:
      return exception_error("accessDeniedException", msg);
    case 404:
      return exception_error("resourceNotFoundException", msg);
    case 408:
      return exception_error("modelTimeoutException", msg);
    case 429:
      return exception_error("throttlingException", msg);
    case 500:
      return exception_error("internalServerException", msg);
    case 503:
      return exception_error("serviceUnavailableException", msg);
    default:
      break;
  }
  UpstreamError e;
  e.message = "Bedrock HTTP " + std::to_string(http_status) + ": " + msg;
  if (http_status >= 500) {
    e.http_status = 502;
    e.type = "api_error";
    e.code = "upstream_error";
    e.retryable = true;
  } else {
    e.http_status = http_status >= 400 ? http_status : 502;
    e.type = http_status >= 400 ? "invalid_request_error" : "api_error";
  }
  return e;
}

Result<bj::object> BedrockAdapter::parse_chat(unsigned http_status, std::string_view body,
                                              const ModelTarget& target, Usage* usage,
                                              UpstreamError* error) const {
  auto fail = [error](UpstreamError e) { return upstream_failure(std::move(e), error); };
  if (http_status < 200 || http_status > 299) return fail(parse_error(http_status, body));

  auto parsed = json::parse(body, {kMaxResponseBytes, kMaxJsonDepth});
  if (!parsed.ok()) return fail(malformed_error(parsed.status().message()));
  if (!parsed->is_object()) return fail(malformed_error("body is not a JSON object"));
  const bj::object& root = parsed->get_object();
  const bj::object* output = object_at(root, "output");
  const bj::object* message = output ? object_at(*output, "message") : nullptr;
  const bj::array* content = message ? array_at(*message, "content") : nullptr;
  if (!content) return fail(malformed_error("no output.message.content"));

  std::string text, reasoning;
  bj::array tool_calls, thinking;
  for (const bj::value& block : *content) {
    if (!block.is_object()) return fail(malformed_error("content block is not an object"));
    const bj::object& b = block.get_object();
    if (const bj::object* rc = object_at(b, "reasoningContent")) {
      // Claude's thinking: its text as reasoning_content, the block signed
      // in thinking_blocks for the client to send back (as from Anthropic).
      if (const bj::object* rt = object_at(*rc, "reasoningText")) {
        const bj::string* t = string_at(*rt, "text");
        const bj::string* sig = string_at(*rt, "signature");
        if (!t) return fail(malformed_error("reasoningText without text"));
        reasoning.append(t->data(), t->size());
        thinking.push_back(bj::object{{"type", "thinking"}, {"thinking", *t}, {"signature", sig ? *sig : bj::string()}});
      } else if (const bj::string* data = string_at(*rc, "redactedContent")) {
        thinking.push_back(bj::object{{"type", "redacted_thinking"}, {"data", *data}});
      }
    } else if (const bj::string* t = string_at(b, "text")) {
      text.append(t->data(), t->size());
    } else if (const bj::object* use = object_at(b, "toolUse")) {
      const bj::string* id = string_at(*use, "toolUseId");
      const bj::string* name = string_at(*use, "name");
      if (!id || !name) return fail(malformed_error("toolUse lacks toolUseId or name"));
      auto input = use->find("input");
      std::string args = input == use->end() ? "{}" : bj::serialize(input->value());
      tool_calls.push_back(
          bj::object{{"id", *id},
                     {"type", "function"},
                     {"function", bj::object{{"name", *name}, {"arguments", std::move(args)}}}});
    }
    // citations, guardContent and newer block kinds have no chat.completion
    // field; they are dropped.
  }

  bj::object msg{{"role", "assistant"}};
  if (text.empty() && !tool_calls.empty())
    msg["content"] = nullptr;
  else
    msg["content"] = std::move(text);
  if (!reasoning.empty()) msg["reasoning_content"] = std::move(reasoning);
  if (!thinking.empty()) msg["thinking_blocks"] = std::move(thinking);
  if (!tool_calls.empty()) msg["tool_calls"] = std::move(tool_calls);

  const bj::string* stop = string_at(root, "stopReason");
  Usage u;
  if (const bj::object* uo = object_at(root, "usage")) u = parse_usage(*uo);
  read_guardrail_trace(root, &u);
  if (usage) *usage = u;

  bj::object out{
      {"id", "chatcmpl-" + crypto::sha256_hex(body).substr(0, 24)},
      {"object", "chat.completion"},
      {"created", 0},
      {"model", target.model},
      {"choices",
       bj::array{bj::object{
           {"index", 0},
           {"message", std::move(msg)},
           {"logprobs", nullptr},
           {"finish_reason", bedrock::finish_reason(stop ? std::string_view(*stop) : "")}}}}};
  if (u.reported) out["usage"] = chat_usage_json(u);
  return out;
}

}  // namespace spectra::ai
