#include "ai/adapter.h"

namespace spectra::ai {

bj::object UpstreamError::to_openai() const {
  bj::object err{{"message", message}, {"type", type.empty() ? "api_error" : type}, {"param", nullptr}};
  if (!param.empty()) err["param"] = param;
  if (code.empty()) err["code"] = nullptr;
  else err["code"] = code;
  return bj::object{{"error", std::move(err)}};
}

Result<UpstreamRequest> ProviderAdapter::native_request(const ModelTarget&, std::string_view path) const {
  return Status(Code::kNotFound, "this provider kind has no native API at " + std::string(path));
}

Result<UpstreamRequest> ProviderAdapter::build_count_tokens(const bj::object&, const ModelTarget& target) const {
  return Status(Code::kNotFound, "provider kind '" + target.kind + "' has no token counter");
}

Result<std::int64_t> ProviderAdapter::parse_count_tokens(std::string_view) const {
  return Status(Code::kNotFound, "no token counter for this provider kind");
}

Result<std::vector<UpstreamRequest>> ProviderAdapter::build_embeddings(const bj::object&,
                                                                       const ModelTarget& target) const {
  return Status(Code::kNotFound, "provider kind '" + target.kind + "' has no embeddings through the gateway");
}

Result<bj::object> ProviderAdapter::parse_embeddings(const std::vector<std::pair<unsigned, std::string>>&,
                                                     const bj::object&, std::string_view, Usage*,
                                                     UpstreamError*) const {
  return Status(Code::kNotFound, "no embeddings for this provider kind");
}

bj::object chat_usage_json(const Usage& u) {
  bj::object details{{"cached_tokens", u.cached_prompt_tokens}};
  if (u.cache_write_tokens > 0) details["cache_write_tokens"] = u.cache_write_tokens;
  return bj::object{{"prompt_tokens", u.prompt_tokens},
                    {"completion_tokens", u.completion_tokens},
                    {"total_tokens", u.prompt_tokens + u.completion_tokens},
                    {"prompt_tokens_details", std::move(details)}};
}

}  // namespace spectra::ai
