#pragma once
// The seam between the AI gateway (which speaks OpenAI's chat-completions
// wire format to clients) and each upstream provider's native protocol.
//
// Adapters are pure translators: no sockets, no clocks, no credentials
// lookup. The gateway core owns I/O, retries, failover, caching, metering
// and audit; an adapter only turns an OpenAI request into the provider's
// HTTP request and the provider's response (whole or streamed) back into
// OpenAI objects. That keeps every adapter unit-testable and fuzzable.
#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace spectra::ai {

namespace bj = boost::json;

// Where and how to call the upstream. `base_url` comes from config.
struct ModelTarget {
  std::string provider;  // configured provider name, e.g. "anthropic-prod"
  std::string kind;      // openai | anthropic | bedrock | vllm
  std::string model;     // the upstream's model id, e.g. "claude-3-5-sonnet-20241022"
  std::string base_url;  // e.g. https://api.anthropic.com (no trailing slash)
  std::string region;    // bedrock
  // The model `model` runs when its id names none (a Bedrock application
  // inference profile's ARN, a deployment's own name); empty: `model` itself.
  std::string base_model;
  // bedrock: the anthropic-beta flags the operator lets through to this
  // model (the provider's anthropic_betas); the request's other flags are
  // not sent.
  std::vector<std::string> anthropic_betas;
  // bedrock: the guardrail every Converse call goes through (the
  // provider's guardrail); empty id: none.
  struct Guardrail {
    std::string id, version;
    std::string stream_mode = "sync";  // ConverseStream: sync | async
  };
  Guardrail guardrail;

  // The id to read the model's features from (Claude's generation, Nova 2).
  const std::string& base() const { return base_model.empty() ? model : base_model; }
};

struct UpstreamRequest {
  std::string method = "POST";
  std::string url;  // absolute: scheme://host[:port]/path?query
  std::vector<std::pair<std::string, std::string>> headers;  // no auth: the core adds it
  std::string body;
  // https only: a PEM file of the CAs to trust instead of the system store
  // (the provider's ca_file: an in-account endpoint behind a private CA).
  std::string ca_file;
};

// Token usage as the upstream reported it (never estimated).
struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t cached_prompt_tokens = 0;  // provider-side prompt cache reads, if reported
  std::int64_t cache_write_tokens = 0;    // provider-side prompt cache writes (billed above input), if reported
  bool reported = false;
  // A Bedrock guardrail's trace, when one ran: the text units it was
  // billed (free ones not counted) and which of its policies acted, as
  // "<policy>:<type or name>" (the matched text itself is not kept).
  bool guardrail_traced = false;
  std::int64_t guardrail_units = 0;
  std::vector<std::string> guardrail_acted;
  // The same units by policy (the trace's usage field without "Units":
  // "contentPolicy", "topicPolicy", ...), which Bedrock prices apart.
  std::vector<std::pair<std::string, std::int64_t>> guardrail_policy_units;
};

// OpenAI's chat `usage` object for `u`: prompt, completion and total
// tokens, and prompt_tokens_details with cached_tokens (provider cache
// reads) and, when there were any, cache_write_tokens (writes, which
// OpenAI's API has no name for).
bj::object chat_usage_json(const Usage& u);

// An upstream error translated into OpenAI's error shape.
struct UpstreamError {
  unsigned http_status = 502;  // what the gateway answers the client
  std::string type;            // OpenAI error type: invalid_request_error, rate_limit_error, api_error, ...
  std::string message;
  std::string code;            // optional OpenAI error code
  bool retryable = false;      // 429/5xx/overloaded: eligible for failover before the first token
  std::string param;           // the request field at fault, if any
  bj::object to_openai() const;  // {"error": {"message", "type", "param", "code"}}, null when empty
};

// Incremental translation of a streamed upstream response into OpenAI
// `chat.completion.chunk` objects. Feed bytes as they arrive (any split);
// each call appends the chunks now complete. An upstream error event becomes
// an error result; `done()` is true once the upstream signalled the end.
class StreamTranslator {
 public:
  virtual ~StreamTranslator() = default;
  // Returns an error for a malformed stream or an in-stream upstream error;
  // in the latter case *error is filled.
  virtual Status feed(std::string_view bytes, std::vector<bj::object>* chunks,
                      UpstreamError* error) = 0;
  // Call at end of input: error if the stream ended before its final event.
  virtual Status finish(std::vector<bj::object>* chunks, UpstreamError* error) = 0;
  virtual bool done() const = 0;
  virtual const Usage& usage() const = 0;
};

class ProviderAdapter {
 public:
  virtual ~ProviderAdapter() = default;

  // `request` is an OpenAI chat-completions request body (already validated
  // by the gateway: has "model" and "messages"). `stream` says whether the
  // upstream should stream (the gateway may stream upstream even for a
  // non-streaming client, and the other way round).
  virtual Result<UpstreamRequest> build_chat(const bj::object& request, const ModelTarget& target,
                                             bool stream) const = 0;

  // A complete (non-streamed) upstream answer -> OpenAI `chat.completion`.
  // On a non-2xx status, returns kUnavailable/kInvalidArgument and fills *error.
  virtual Result<bj::object> parse_chat(unsigned http_status, std::string_view body,
                                        const ModelTarget& target, Usage* usage,
                                        UpstreamError* error) const = 0;

  // True when parse_chat's result is the upstream body itself (an OpenAI
  // chat completion, not a translation): the gateway may then send and
  // cache the body's bytes as they came instead of serializing the object.
  virtual bool answers_verbatim() const { return false; }

  // For a 2xx streamed answer. `request_id` and `created` go into every chunk.
  virtual std::unique_ptr<StreamTranslator> stream_translator(const ModelTarget& target,
                                                              std::string request_id,
                                                              std::int64_t created) const = 0;

  // Translates a non-2xx upstream body (streamed or not) into an error.
  virtual UpstreamError parse_error(unsigned http_status, std::string_view body) const = 0;

  // A call to the provider's own API at `path` (e.g. "/messages"), for
  // clients that speak that API: its URL from the target's base URL and the
  // headers the API requires (no auth, no body). The default: the provider
  // has no native API the gateway relays (kNotFound).
  virtual Result<UpstreamRequest> native_request(const ModelTarget& target, std::string_view path) const;

  // Counting the input tokens of a chat request with the provider's own
  // counter (Anthropic's count_tokens, Bedrock's CountTokens), generating
  // nothing: the call to make, and the count from its 2xx answer. The
  // default: the provider has no counter (kNotFound).
  virtual Result<UpstreamRequest> build_count_tokens(const bj::object& request, const ModelTarget& target) const;
  virtual Result<std::int64_t> parse_count_tokens(std::string_view body) const;

  // OpenAI /v1/embeddings for providers that do not speak it natively
  // (OpenAI-compatible ones are passed through instead). The upstream calls
  // to make for one request, in order; the default refuses (kNotFound: the
  // provider has no embeddings through the gateway).
  virtual Result<std::vector<UpstreamRequest>> build_embeddings(const bj::object& request,
                                                                const ModelTarget& target) const;
  // Their answers (status, body), in the same order -> one OpenAI embeddings
  // response named `model`. On an upstream error fills *error.
  virtual Result<bj::object> parse_embeddings(const std::vector<std::pair<unsigned, std::string>>& answers,
                                              const bj::object& request, std::string_view model, Usage* usage,
                                              UpstreamError* error) const;
};

}  // namespace spectra::ai
