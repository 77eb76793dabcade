#include "ai/bedrock_embeddings.h"

#include <boost/json/serialize.hpp>
#include <cmath>
#include <cstring>

#include "ai/bedrock_adapter.h"
#include "ai/bedrock_internal.h"
#include "common/crypto.h"
#include "common/json_util.h"

namespace spectra::ai::bedrock {
namespace {

using namespace detail;

// OpenAI caps an embeddings request at 2048 inputs; so do we.
constexpr std::size_t kMaxInputs = 2048;

Status bad(std::string m) { return invalid_argument("bedrock embeddings: " + std::move(m)); }

bool is_titan_v2(std::string_view model) {
  return model.find("titan-embed-text-v2") != std::string_view::npos;
}

}  // namespace

bool wants_base64(const bj::object& request) {
  const bj::string* f = string_at(request, "encoding_format");
  return f && *f == "base64";
}

Result<std::vector<UpstreamRequest>> build_titan_embeddings(const bj::object& request,
                                                            const ModelTarget& target) {
  if (target.model.empty()) return bad("the target has no model id");
  auto base = endpoint(target);
  if (!base.ok()) return base.status();

  std::vector<std::string_view> inputs;
  auto it = request.find("input");
  if (it == request.end()) return bad("input is required");
  if (it->value().is_string()) {
    inputs.push_back(it->value().get_string());
  } else if (it->value().is_array()) {
    for (const bj::value& v : it->value().get_array()) {
      if (!v.is_string()) return bad("input must be a string or an array of strings");
      inputs.push_back(v.get_string());
    }
  } else {
    return bad("input must be a string or an array of strings");
  }
  if (inputs.empty()) return bad("input is empty");
  if (inputs.size() > kMaxInputs) return bad("at most 2048 inputs per request");

  std::optional<std::int64_t> dims;
  if (auto d = request.find("dimensions"); d != request.end() && !d->value().is_null()) {
    dims = int_at(request, "dimensions");
    if (!dims) return bad("dimensions must be an integer");
    if (!is_titan_v2(target.base())) return bad("dimensions is supported by Titan v2 models only");
    if (*dims != 256 && *dims != 512 && *dims != 1024) {
      return bad("Titan v2 dimensions must be 256, 512 or 1024");
    }
  }
  if (const bj::string* f = string_at(request, "encoding_format");
      f && *f != "float" && *f != "base64") {
    return bad("encoding_format must be float or base64");
  }

  std::vector<UpstreamRequest> out;
  out.reserve(inputs.size());
  const std::string url = *base + model_path(target.model, "invoke");
  for (std::string_view text : inputs) {
    if (text.empty()) return bad("an input is an empty string");
    bj::object body{{"inputText", text}};
    if (dims) body["dimensions"] = *dims;
    UpstreamRequest up;
    up.method = "POST";
    up.url = url;
    up.headers = {{"content-type", "application/json"}, {"accept", "application/json"}};
    up.body = bj::serialize(body);
    out.push_back(std::move(up));
  }
  return out;
}

Result<TitanEmbedding> parse_titan_embedding(unsigned http_status, std::string_view body,
                                             UpstreamError* error) {
  auto fail = [error](UpstreamError e) { return upstream_failure(std::move(e), error); };
  if (http_status < 200 || http_status > 299) {
    return fail(BedrockAdapter().parse_error(http_status, body));
  }
  auto parsed = json::parse(body, {kMaxResponseBytes, kMaxJsonDepth});
  if (!parsed.ok()) return fail(malformed_error(parsed.status().message()));
  if (!parsed->is_object()) return fail(malformed_error("body is not a JSON object"));
  const bj::object& root = parsed->get_object();
  const bj::array* vec = array_at(root, "embedding");
  if (!vec || vec->empty()) return fail(malformed_error("no embedding array"));
  TitanEmbedding out;
  out.embedding.reserve(vec->size());
  for (const bj::value& v : *vec) {
    double d = 0;
    if (v.is_double())
      d = v.get_double();
    else if (v.is_int64())
      d = static_cast<double>(v.get_int64());
    else if (v.is_uint64())
      d = static_cast<double>(v.get_uint64());
    else
      return fail(malformed_error("embedding holds a non-number"));
    out.embedding.push_back(d);
  }
  auto tokens = int_at(root, "inputTextTokenCount");
  out.input_tokens = tokens && *tokens >= 0 && *tokens <= INT32_MAX ? *tokens : 0;
  return out;
}

bj::object embeddings_response(const std::vector<TitanEmbedding>& items, std::string_view model,
                               bool base64) {
  bj::array data;
  std::int64_t tokens = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const TitanEmbedding& item = items[i];
    tokens += item.input_tokens;
    bj::object entry{{"object", "embedding"}, {"index", static_cast<std::int64_t>(i)}};
    if (base64) {
      std::string bytes;
      bytes.reserve(item.embedding.size() * 4);
      for (double d : item.embedding) {
        const float f = static_cast<float>(d);
        std::uint32_t bits = 0;
        std::memcpy(&bits, &f, sizeof bits);
        for (int b = 0; b < 4; ++b) bytes.push_back(static_cast<char>((bits >> (8 * b)) & 0xFF));
      }
      entry["embedding"] = crypto::base64(bytes);
    } else {
      bj::array vec;
      vec.reserve(item.embedding.size());
      for (double d : item.embedding) vec.push_back(d);
      entry["embedding"] = std::move(vec);
    }
    data.push_back(std::move(entry));
  }
  return bj::object{{"object", "list"},
                    {"data", std::move(data)},
                    {"model", model},
                    {"usage", bj::object{{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
}

}  // namespace spectra::ai::bedrock

namespace spectra::ai {

Result<std::vector<UpstreamRequest>> BedrockAdapter::build_embeddings(const bj::object& request,
                                                                      const ModelTarget& target) const {
  return bedrock::build_titan_embeddings(request, target);
}

Result<bj::object> BedrockAdapter::parse_embeddings(const std::vector<std::pair<unsigned, std::string>>& answers,
                                                    const bj::object& request, std::string_view model,
                                                    Usage* usage, UpstreamError* error) const {
  std::vector<bedrock::TitanEmbedding> items;
  items.reserve(answers.size());
  for (const auto& [status, body] : answers) {
    auto item = bedrock::parse_titan_embedding(status, body, error);
    if (!item.ok()) return item.status();
    usage->prompt_tokens += item->input_tokens;
    items.push_back(std::move(*item));
  }
  usage->reported = true;
  return bedrock::embeddings_response(items, model, bedrock::wants_base64(request));
}

}  // namespace spectra::ai
