#include "daemon/ai_component.h"

#include <boost/json/serialize.hpp>

#include <atomic>
#include <mutex>

#include "ai/gateway.h"
#include "ai/anthropic_adapter.h"
#include "ai/bedrock_adapter.h"
#include "ai/bedrock_sign.h"
#include "aws/credentials_imds.h"
#include "aws/net_fetcher.h"
#include "ai/openai_adapter.h"
#include "common/json_util.h"
#include "embed/minilm.h"
#include "common/log.h"
#include "http/server.h"

namespace spectra::daemon {

namespace bj = boost::json;

struct AiComponent::Impl {
  AiOptions opt;
  http::IoPool& io;
  metrics::Registry& metrics;
  config::ConfigService& config;
  store::Store& store;
  std::unique_ptr<aws::CachingCredentialsProvider> aws_keys;
  std::unique_ptr<ai::Gateway> gateway;
  http::Router router;
  std::unique_ptr<http::Server> server;
  std::mutex persist_mu;
  std::string persisted;  // the snapshot last written; guarded by persist_mu
  std::uint64_t generation = 0;
  bool enabled = false;
  std::atomic<bool> uses_bedrock{false};

  Impl(AiOptions o, http::IoPool& i, metrics::Registry& m, config::ConfigService& c, store::Store& s)
      : opt(std::move(o)), io(i), metrics(m), config(c), store(s) {}
};

namespace {

// Credentials per provider kind: bearer tokens, Anthropic's x-api-key, and
// SigV4 for Bedrock with keys from the environment, the shared files or the
// instance role (IMDSv2), refreshed before they expire.
Status authorize(aws::CachingCredentialsProvider& aws_keys, const ai::ProviderConfig& p, ai::UpstreamRequest& r) {
  if (p.kind == "bedrock") {
    auto creds = aws_keys.get();
    if (!creds.ok()) return creds.status();
    return ai::bedrock::sign_upstream_request(r, creds->keys, p.region);
  }
  if (p.api_key.empty()) return {};
  if (p.kind == "anthropic") r.headers.emplace_back("x-api-key", p.api_key);
  else r.headers.emplace_back("authorization", "Bearer " + p.api_key);
  return {};
}

constexpr const char* kMeterRoot = "/spectra/metering";

}  // namespace

AiComponent::AiComponent(AiOptions options, http::IoPool& io, metrics::Registry& metrics,
                         config::ConfigService& config, store::Store& store)
    : impl_(new Impl(std::move(options), io, metrics, config, store)) {}

AiComponent::~AiComponent() { stop(); }

Status AiComponent::start() {
  Impl& d = *impl_;
  ai::GatewayDeps deps;
  deps.metrics = &d.metrics;
  auto openai = std::make_shared<ai::OpenAiAdapter>();
  deps.adapters["openai"] = openai;
  deps.adapters["vllm"] = openai;
  deps.adapters["anthropic"] = std::make_shared<ai::AnthropicAdapter>();
  deps.adapters["bedrock"] = std::make_shared<ai::BedrockAdapter>();
  d.aws_keys = aws::default_credentials_chain(aws::Environment::process(), std::make_shared<aws::NetHttpFetcher>(),
                                              SystemClock::instance());
  deps.authorize = [&d](const ai::ProviderConfig& p, ai::UpstreamRequest& r) { return authorize(*d.aws_keys, p, r); };
  deps.state_dir = d.opt.state_dir;
  deps.load_embedder = [dir = d.opt.model_dir]() -> Result<std::shared_ptr<const embed::Embedder>> {
    auto m = embed::load_minilm(dir);
    if (!m.ok()) return m.status();
    return std::shared_ptr<const embed::Embedder>(std::move(*m));
  };
  d.gateway = std::make_unique<ai::Gateway>(std::move(deps));
  // Metering survives restarts: restore the last persisted snapshot.
  if (auto head = d.store.get(std::string(kMeterRoot) + "/head"); head.ok()) {
    d.generation = std::stoull(head->value);
    std::string text;
    auto chunks = d.store.list(std::string(kMeterRoot) + "/" + head->value, true);
    if (chunks.ok()) {
      std::sort(chunks->begin(), chunks->end(), [](const auto& a, const auto& b) {
        return std::stoul(a.key.substr(a.key.rfind('/') + 1)) < std::stoul(b.key.substr(b.key.rfind('/') + 1));
      });
      for (const auto& c : *chunks) text += c.value;
      auto v = json::parse(text, {.max_bytes = 256 << 20, .max_depth = 8});
      if (v.ok()) d.gateway->meter().restore(*v);
    }
  }
  // So do the owners of stored Responses answers (their ids keep working).
  if (Status st = d.gateway->open_response_journal(d.opt.state_dir + "/ai-response-owners.jsonl"); !st.ok()) {
    log::error("cannot open the response owners journal; they are kept in memory only", {{"error", st.to_string()}});
  }
  // And the translated answers it keeps itself (their conversations go on).
  if (Status st = d.gateway->open_kept_responses_journal(d.opt.state_dir + "/ai-kept-responses.jsonl"); !st.ok()) {
    log::error("cannot open the kept responses journal; they are kept in memory only", {{"error", st.to_string()}});
  }
  apply_revision();
  d.gateway->register_routes(d.router);
  http::ServerOptions so;
  so.name = "ai_gateway";
  so.address = d.opt.address;
  so.port = d.opt.port;
  if (!d.opt.port_given) {
    auto cfg = d.config.config_at(d.config.head());
    so.port = cfg.ok() ? static_cast<std::uint16_t>(json::to_int(cfg->at("ai").at("listen_port"), 8090)) : 8090;
  }
  so.body_limit = 8 << 20;
  so.error_format = &ai::openai_http_error;
  so.idle_timeout = std::chrono::seconds(120);
  so.max_requests_per_connection = 1'000'000;
  d.server = std::make_unique<http::Server>(
      d.io, so, [&d](http::Exchange& ex) { return d.router.dispatch(ex); }, &d.metrics);
  return d.server->start();
}

void AiComponent::apply_revision() {
  Impl& d = *impl_;
  auto cfg = d.config.config_at(d.config.head());
  if (!cfg.ok()) {
    log::error("AI gateway cannot read the config", {{"error", cfg.status().to_string()}});
    return;
  }
  auto g = ai::make_gateway_config(cfg->at("ai").get_object());
  d.enabled = g->enabled;
  bool bedrock = false;
  for (const auto& [name, p] : g->providers) bedrock = bedrock || p.kind == "bedrock";
  d.uses_bedrock = bedrock;
  d.gateway->configure(std::move(g));
}

void AiComponent::stop() {
  Impl& d = *impl_;
  if (d.server) d.server->stop(std::chrono::seconds(5));
  d.server.reset();
  if (d.gateway) {
    if (Status s = persist_metering(); !s.ok()) log::error("cannot persist AI metering", {{"error", s.to_string()}});
    if (d.gateway->audit()) d.gateway->audit()->flush();
  }
}

void AiComponent::warm_credentials() {
  Impl& d = *impl_;
  if (!d.uses_bedrock || !d.aws_keys) return;
  if (auto c = d.aws_keys->get(); !c.ok()) {
    log::warn("no AWS credentials for the Bedrock provider", {{"error", c.status().to_string()}});
  }
}

std::uint16_t AiComponent::port() const { return impl_->server ? impl_->server->port() : 0; }

bj::object AiComponent::status() const {
  const Impl& d = *impl_;
  return bj::object{{"name", "ai_gateway"},
                    {"state", d.enabled ? "running" : "disabled"},
                    {"detail", d.enabled ? d.opt.address + ":" + std::to_string(port()) : "disabled in config (ai.enabled)"}};
}

bj::array AiComponent::usage() const { return impl_->gateway ? impl_->gateway->meter().snapshot() : bj::array(); }
bj::array AiComponent::upstreams() const { return impl_->gateway ? impl_->gateway->upstream_status() : bj::array(); }
bj::array AiComponent::budgets() const { return impl_->gateway ? impl_->gateway->budget_status() : bj::array(); }

// Writes the snapshot as a new generation of chunks, then flips the head
// (one put: the commit point), then drops the old generation.
Status AiComponent::persist_metering() {
  Impl& d = *impl_;
  std::lock_guard lock(d.persist_mu);
  std::string text = bj::serialize(d.gateway->meter().state());
  if (d.generation > 0 && text == d.persisted) return {};  // nothing metered since the last write
  std::uint64_t gen = d.generation + 1;
  std::string prefix = std::string(kMeterRoot) + "/" + std::to_string(gen) + "/";
  std::size_t max = d.store.max_value_bytes();
  std::size_t i = 0, n = 0;
  do {  // chunks end on UTF-8 boundaries, as the store requires valid UTF-8
    std::size_t end = std::min(text.size(), i + max);
    while (end < text.size() && end > i && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) --end;
    auto r = d.store.put(prefix + std::to_string(n++), text.substr(i, end - i), store::Precondition::none());
    if (!r.ok()) return r.status();
    i = end;
  } while (i < text.size());
  auto head = d.store.put(std::string(kMeterRoot) + "/head", std::to_string(gen), store::Precondition::none());
  if (!head.ok()) return head.status();
  if (d.generation > 0) {
    auto old = d.store.list(std::string(kMeterRoot) + "/" + std::to_string(d.generation), false);
    if (old.ok()) {
      for (const auto& e : *old) (void)d.store.remove(e.key);
    }
  }
  d.generation = gen;
  d.persisted = std::move(text);
  return {};
}

}  // namespace spectra::daemon
