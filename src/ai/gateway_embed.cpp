// The semantic cache's embedder: the built-in model (in the process: the
// prompt stays in the account), or the embeddings model of a configured
// provider (ai.cache.embedder = provider/model; the last user turn is then
// sent to that provider, and the audit record's egress says so).
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>

#include "ai/gateway.h"
#include "ai/gateway_call.h"
#include "ai/upstream_client.h"
#include "common/json_util.h"

namespace spectra::ai {

namespace asio = boost::asio;

namespace {

constexpr std::size_t kMaxEmbeddingAnswer = 16 << 20;

// data[0].embedding of an OpenAI embeddings response, as a unit vector (the
// index compares by inner product).
Result<std::vector<float>> first_embedding(const bj::object& response) {
  const auto* data = response.if_contains("data");
  if (!data || !data->is_array() || data->get_array().empty() || !data->get_array()[0].is_object()) {
    return unavailable("the embeddings answer has no data");
  }
  const auto* emb = data->get_array()[0].get_object().if_contains("embedding");
  if (!emb || !emb->is_array() || emb->get_array().empty()) {
    return unavailable("the embeddings answer has no float embedding");
  }
  std::vector<float> v;
  v.reserve(emb->get_array().size());
  double norm = 0;
  for (const auto& x : emb->get_array()) {
    if (!x.is_number()) return unavailable("the embeddings answer has a non-number in its vector");
    const double d = x.to_number<double>();
    if (!std::isfinite(d)) return unavailable("the embeddings answer has a non-finite number");
    v.push_back(static_cast<float>(d));
    norm += d * d;
  }
  if (norm <= 0) return unavailable("the embeddings answer is a zero vector");
  const float inv = static_cast<float>(1.0 / std::sqrt(norm));
  for (float& f : v) f *= inv;
  return v;
}

}  // namespace

asio::awaitable<Result<std::vector<float>>> Gateway::embed_for_cache(Call& c, const std::string& text) {
  if (c.cfg->embedder == "builtin") {
    EmbedBatcher* b = batcher();
    if (!b) co_return unavailable("the built-in embedding model is not available");
    std::vector<std::string> texts{text};
    auto emb = co_await b->embed(texts);
    if (!emb.ok()) co_return emb.status();
    if (emb->empty()) co_return internal_error("the embedder returned nothing");
    std::vector<float> v = std::move(emb->front());
    co_return v;
  }
  auto resolved = c.cfg->resolve(c.cfg->embedder);
  if (!resolved.ok()) co_return resolved.status();
  const ProviderConfig& p = *resolved->first;
  const std::string model = resolved->second;
  // The provider account's quota for the embeddings model holds for the
  // cache's calls too: at it, this lookup is skipped rather than spent on
  // a 429 (and the client's own calls to the model keep their share).
  if (const LimitVerdict room = take_quota(c, p, model); !room.allowed) co_return unavailable(room.message);
  bj::object request{{"model", model}, {"input", text}};
  const ProviderAdapter* adapter = nullptr;  // null: the provider speaks OpenAI embeddings
  if (p.kind != "openai" && p.kind != "vllm") {
    auto ait = deps_.adapters.find(p.kind);
    if (ait == deps_.adapters.end()) co_return not_found("no adapter for provider kind " + p.kind);
    adapter = ait->second.get();
  }
  // The provider's endpoints as for chat: round-robin over those not
  // ejected, a failure that may fail over tried on the others.
  EndpointWalk walk(health_, rr_, p);
  std::vector<std::pair<unsigned, std::string>> answers;
  for (;;) {
    std::vector<UpstreamRequest> requests;
    if (adapter) {
      auto built = adapter->build_embeddings(request, p.target(model, walk.endpoint()));
      if (!built.ok()) co_return built.status();
      requests = std::move(*built);
    } else {
      UpstreamRequest req;
      req.url = walk.openai_base() + "/embeddings";
      req.headers = {{"content-type", "application/json"}, {"accept", "application/json"}};
      req.body = bj::serialize(request);
      requests.push_back(std::move(req));
    }
    answers.clear();
    Status st = co_await call_each(c, p, requests, kMaxEmbeddingAnswer, answers);
    unsigned status = st.ok() ? 200 : 0;
    for (const auto& a : answers) status = std::max(status, a.first);
    const bool failed = !st.ok() || status >= 500 || status == 429;
    walk.record(!failed && status < 300, failed, st.ok() ? "status " + std::to_string(status) : st.message());
    if (failed && walk.advance()) continue;
    if (!st.ok()) co_return st;
    break;
  }
  Usage usage;
  bj::object response;
  if (adapter) {
    UpstreamError err;
    auto parsed = adapter->parse_embeddings(answers, request, model, &usage, &err);
    if (!parsed.ok()) co_return parsed.status();
    response = std::move(*parsed);
  } else {
    const auto& [status, body] = answers.front();
    if (status < 200 || status >= 300) {
      co_return unavailable(p.name + ": embeddings answered HTTP " + std::to_string(status));
    }
    auto v = json::parse(body, {.max_bytes = kMaxEmbeddingAnswer, .max_depth = 16});
    if (!v.ok() || !v->is_object()) co_return unavailable(p.name + ": the embeddings answer is not a JSON object");
    response = std::move(v->get_object());
    if (const auto* u = response.if_contains("usage"); u && u->is_object()) {
      if (const auto* t = u->get_object().if_contains("prompt_tokens"); t && t->is_number()) {
        usage.prompt_tokens = json::to_int(*t);
        usage.reported = true;
      }
    }
  }
  auto v = first_embedding(response);
  if (!v.ok()) co_return Status(v.status().code(), p.name + ": " + v.status().message());
  // The embedding call is spent on the key like any other.
  charge(c, p.name, model, usage);
  co_return v;
}

}  // namespace spectra::ai
