#pragma once
// OpenAI and OpenAI-compatible upstreams (vLLM, any base URL that speaks
// /v1/chat/completions): the request passes through with the model replaced
// and, when streaming, stream_options.include_usage forced on so that usage
// is metered from the upstream's own final chunk.
#include "ai/adapter.h"

namespace spectra::ai {

class OpenAiAdapter final : public ProviderAdapter {
 public:
  Result<UpstreamRequest> build_chat(const bj::object& request, const ModelTarget& target,
                                     bool stream) const override;
  Result<bj::object> parse_chat(unsigned http_status, std::string_view body,
                                const ModelTarget& target, Usage* usage,
                                UpstreamError* error) const override;
  bool answers_verbatim() const override { return true; }
  std::unique_ptr<StreamTranslator> stream_translator(const ModelTarget& target,
                                                      std::string request_id,
                                                      std::int64_t created) const override;
  UpstreamError parse_error(unsigned http_status, std::string_view body) const override;
};

// Reads OpenAI's usage object into `u` (shared by adapters and the cache):
// Chat Completions' (prompt_tokens, ...) or the Responses API's
// (input_tokens, ...).
void read_openai_usage(const bj::value& usage, Usage* u);

}  // namespace spectra::ai
