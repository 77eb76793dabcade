#pragma once
// Parsing and checking an OpenAI chat-completions request from untrusted
// bytes, and the cache keys derived from it. Pure (no I/O), so the fuzzer
// drives exactly what the gateway runs.
#include <boost/json/object.hpp>

#include <string>
#include <string_view>

#include "common/result.h"

namespace spectra::ai {

namespace bj = boost::json;

inline constexpr std::size_t kMaxChatRequestBytes = 8 << 20;

struct ChatRequest {
  bj::object body;
  std::string model;
  bool stream = false;
  bool include_usage = false;
};

// What was wrong, in OpenAI's terms (param names the offending field).
struct RequestError {
  std::string message;
  std::string param;
  std::string code = "invalid_request";
};

// Checks the shape OpenAI documents: model, messages (roles, content forms,
// tool-call linkage), stream flags, sampling ranges, tools. Unknown fields
// pass through (providers add their own).
Result<ChatRequest> parse_chat_request(std::string_view body, RequestError* error);
// The same checks for a request already parsed (a Messages request
// translated into chat).
Result<ChatRequest> check_chat_request(bj::object body, RequestError* error);

// sha256 over the tenant's namespace, the resolved provider/model, and the
// canonical request without the fields that do not change the answer
// (model alias, stream, stream_options, user, metadata, store).
std::string exact_cache_key(const std::string& ns, const std::string& provider,
                            const std::string& model, const bj::object& request);
// Everything but the last user turn's text, hashed with the tenant and model.
std::string semantic_partition_key(const std::string& ns, const std::string& provider,
                                   const std::string& model, const bj::object& request);
// The text of the last user message (string content or its text parts).
std::string last_user_text(const bj::object& request);

// A translated request (Anthropic's Messages API, OpenAI's Responses API)
// carries Claude's own fields: `thinking`, `output_config`,
// `anthropic_beta`, each assistant message's `thinking_blocks`, and
// `cache_control` on content parts and tools. For an upstream that speaks
// OpenAI's chat API (which has none of them; OpenAI refuses unknown
// parameters) *out is the request without them; false, *out untouched,
// when there are none.
bool without_claude_fields(const bj::object& chat, bj::object* out);
// The same for an upstream of `kind` "openai" or "vllm", and for OpenAI's
// own API also without `top_k` (vLLM takes it; OpenAI refuses it).
bool for_openai_api(const bj::object& chat, std::string_view kind, bj::object* out);

}  // namespace spectra::ai
