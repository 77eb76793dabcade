#pragma once
// OpenAI /v1/embeddings on Bedrock through InvokeModel with Amazon Titan text
// embeddings models (amazon.titan-embed-text-v1, -v2:0, ...).
//
// Titan embeds one text a call, so an OpenAI request with N inputs becomes N
// upstream requests; the core sends them (in parallel or not), parses each
// answer and assembles one OpenAI response, inputs kept in order.
#include <cstdint>
#include <string_view>
#include <vector>

#include "ai/adapter.h"

namespace spectra::ai::bedrock {

// `request` is an OpenAI embeddings body: input (a string or an array of
// strings; token arrays are refused), optional dimensions (Titan v2 only:
// 256, 512 or 1024), encoding_format (float | base64, applied at assembly).
// Each UpstreamRequest is POST {endpoint}/model/{modelId}/invoke with body
// {"inputText": ...[, "dimensions": n]}, unsigned like build_chat's.
Result<std::vector<UpstreamRequest>> build_titan_embeddings(const bj::object& request,
                                                            const ModelTarget& target);

struct TitanEmbedding {
  std::vector<double> embedding;
  std::int64_t input_tokens = 0;  // inputTextTokenCount
};

// One InvokeModel answer {"embedding": [...], "inputTextTokenCount": n}. On a
// non-2xx status or a malformed body, fills *error (as parse_chat does).
Result<TitanEmbedding> parse_titan_embedding(unsigned http_status, std::string_view body,
                                             UpstreamError* error);

// {"object":"list","data":[{"object":"embedding","index":i,"embedding":...}],
//  "model":..., "usage":{"prompt_tokens":sum,"total_tokens":sum}}. With
// `base64`, each embedding is little-endian float32 bytes in base64, as OpenAI
// sends for encoding_format=base64.
bj::object embeddings_response(const std::vector<TitanEmbedding>& items, std::string_view model,
                               bool base64);

// Whether the request asked for encoding_format=base64.
bool wants_base64(const bj::object& request);

}  // namespace spectra::ai::bedrock
