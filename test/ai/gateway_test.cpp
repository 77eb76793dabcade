// The AI gateway pipeline in-process, against fake upstreams on loopback:
// cache (hit, miss, TTL, bypass, partitions, stream replay both ways,
// coalescing), keys and limits, failover before the first token, the error
// event after it, overflow policies with egress accounting, metering and
// the audit chain.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <thread>

#include "chat_stream_test_util.h"
#include "ai/gateway.h"
#include "ai/openai_adapter.h"
#include "ai/upstream_client.h"
#include "common/time_util.h"
#include "embed/minilm.h"
#include "fake_openai.h"
#include "http/client.h"
#include "raw_tcp.h"
#include "cache_test_util.h"
#include "redis_server.h"
#include "test_pki.h"

namespace spectra::ai {
namespace {

namespace bj = boost::json;
namespace asio = boost::asio;
using namespace std::chrono_literals;

// Another gateway of the same fleet: same config (the last configure()),
// its own state, server and metering, on the fixture's I/O pool.
// The built-in sentence model the tests embed with (fetched by install-deps).
Result<std::shared_ptr<const embed::Embedder>> load_test_embedder() {
  auto m = embed::load_minilm(std::string(SPECTRA_BINARY_DIR) + "/../models/all-minilm-l6-v2");
  if (!m.ok()) return m.status();
  return std::shared_ptr<const embed::Embedder>(std::move(*m));
}

struct SecondGateway {
  SecondGateway(http::IoPool& pool, const Clock& clock, const std::filesystem::path& dir, const std::string& ai) {
    GatewayDeps deps;
    deps.clock = &clock;
    auto oa = std::make_shared<OpenAiAdapter>();
    deps.adapters["openai"] = oa;
    deps.adapters["vllm"] = oa;
    deps.state_dir = (dir / "second").string();
    deps.load_embedder = load_test_embedder;
    std::filesystem::create_directories(deps.state_dir);
    gw = std::make_unique<Gateway>(std::move(deps));
    gw->configure(make_gateway_config(bj::parse(ai).as_object()));
    gw->register_routes(routes);
    server = std::make_unique<http::Server>(pool, http::ServerOptions{}, [this](http::Exchange& ex) { return routes.dispatch(ex); },
                                            nullptr);
    started = server->start().ok();
  }
  ~SecondGateway() { server->stop(1s); }
  http::ClientResponse post(const std::string& body, const std::string& key = "sk-team-a") {
    http::Client c({"127.0.0.1", server->port(), ""}, 10s);
    auto r = c.send(http::Verb::post, "/v1/chat/completions", body, {{"Authorization", "Bearer " + key}});
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : http::ClientResponse{};
  }
  std::unique_ptr<Gateway> gw;
  http::Router routes;
  std::unique_ptr<http::Server> server;
  bool started = false;
};

// TLS in front of a plain upstream, as a TLS-terminating proxy in front of
// an in-account vLLM: accepts on 127.0.0.1, handshakes with `cert`, and
// pipes bytes both ways to 127.0.0.1:`target`. Its own thread.
class TlsFront {
 public:
  TlsFront(const std::string& cert, const std::string& key, std::uint16_t target) : target_(target) {
    ctx_.use_certificate_chain_file(cert);
    ctx_.use_private_key_file(key, asio::ssl::context::pem);
    acceptor_.open(asio::ip::tcp::v4());
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~TlsFront() {
    ioc_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  struct Session {
    Session(asio::io_context& ioc, asio::ssl::context& ctx) : client(ioc, ctx), upstream(ioc) {}
    asio::ssl::stream<asio::ip::tcp::socket> client;
    asio::ip::tcp::socket upstream;
    void close() {
      boost::system::error_code ec;
      client.next_layer().close(ec);
      upstream.close(ec);
    }
  };
  template <class From, class To>
  static asio::awaitable<void> pump(From& from, To& to, Session& s) {
    std::array<char, 16384> buf;
    for (;;) {
      boost::system::error_code ec;
      std::size_t n = co_await from.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      co_await asio::async_write(to, asio::buffer(buf.data(), n), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    s.close();
  }
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto s = std::make_shared<Session>(ioc_, ctx_);
      boost::system::error_code ec;
      co_await acceptor_.async_accept(s->client.next_layer(), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      asio::co_spawn(ioc_, [this, s]() -> asio::awaitable<void> {
        boost::system::error_code ec;
        co_await s->client.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
        if (!ec) s->upstream.connect({asio::ip::make_address("127.0.0.1"), target_}, ec);
        if (ec) {
          s->close();  // the client refused our certificate, or no upstream
          co_return;
        }
        asio::co_spawn(ioc_, [s]() -> asio::awaitable<void> { co_await pump(s->upstream, s->client, *s); }, asio::detached);
        co_await pump(s->client, s->upstream, *s);
      }, asio::detached);
    }
  }

  asio::ssl::context ctx_{asio::ssl::context::tls_server};
  std::uint16_t target_;
  asio::io_context ioc_{1};
  asio::ip::tcp::acceptor acceptor_{ioc_};
  std::thread thread_;
};

// Kept-alive upstream connections: a burst's worth stays for reuse, the
// newest is reused first, and those idle past the keep-alive are closed
// when the next call returns although the newest keep being used.
TEST(UpstreamPool, ClosesConnectionsIdlePastTheKeepAlive) {
  fakes::FakeOpenAi up{"up"};
  ASSERT_TRUE(up.start().ok());
  // The pool is per thread and its connections belong to this io_context:
  // the thread (and its pool) ends before the context does.
  boost::asio::io_context io;
  UpstreamTimeouts t;
  t.keepalive = 1000ms;
  UpstreamRequest req;
  req.method = "POST";
  req.url = up.base_url() + "/chat/completions";
  req.headers = {{"content-type", "application/json"}};
  req.body = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";
  auto call = [&]() -> boost::asio::awaitable<void> {
    UpstreamCall c;
    Status s = co_await c.start(req, t);
    EXPECT_TRUE(s.ok()) << s.to_string();
    std::string body;
    if (s.ok()) s = co_await c.read_all(body, 1 << 20);
    EXPECT_TRUE(s.ok()) << s.to_string();
  };
  auto run = [&](int n) {
    for (int i = 0; i < n; ++i) boost::asio::co_spawn(io, call(), boost::asio::detached);
    io.run();
    io.restart();
  };
  std::thread io_thread([&] {
    run(5);  // five at once: five connections, all idle afterwards
    EXPECT_EQ(idle_upstream_connections(), 5u);
    std::this_thread::sleep_for(600ms);
    run(1);  // reuses the newest; nothing is past the keep-alive yet
    EXPECT_EQ(idle_upstream_connections(), 5u);
    std::this_thread::sleep_for(600ms);
    run(1);  // the newest again (600 ms idle); the other four (1,200 ms) are closed
    EXPECT_EQ(idle_upstream_connections(), 1u);
  });
  io_thread.join();
  EXPECT_EQ(up.request_count(), 7u);
}

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(remote_.start().ok());
    ASSERT_TRUE(backup_.start().ok());
    ASSERT_TRUE(local_.start().ok());
    dir_ = std::filesystem::temp_directory_path() / ("spectra-gw-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    GatewayDeps deps;
    deps.clock = &clock_;
    auto oa = std::make_shared<OpenAiAdapter>();
    deps.adapters["openai"] = oa;
    deps.adapters["vllm"] = oa;
    deps.state_dir = dir_.string();
    deps.load_embedder = load_test_embedder;
    deps.metrics = &metrics_;
    gw_ = std::make_unique<Gateway>(std::move(deps));
    configure("");
    gw_->register_routes(router_);
    http::ServerOptions o;
    o.body_limit = 8 << 20;
    o.error_format = &openai_http_error;  // as the daemon's AI port
    server_ = std::make_unique<http::Server>(pool_, o, [this](http::Exchange& ex) { return router_.dispatch(ex); }, nullptr);
    ASSERT_TRUE(server_->start().ok());
    pool_.start();
  }
  void TearDown() override {
    server_->stop(1s);
    pool_.stop();
    pool_.join();
    gw_.reset();
    std::filesystem::remove_all(dir_);
  }

  // The ai section; `extra_route` is spliced into the routes array.
  // `cache_extra` is spliced into the cache object (", \"embedder\": ...").
  void configure(const std::string& overflow_policy, const std::string& audit_bodies = "false",
                 const std::string& semantic = "false", const std::string& cache_extra = "") {
    std::string ai = R"({"enabled": true,
      "providers": [
        {"name": "remote", "kind": "openai", "base_url": ")" + remote_.base_url() + R"("},
        {"name": "backup", "kind": "openai", "base_url": ")" + backup_.base_url() + R"("},
        {"name": "local", "kind": "vllm", "endpoints": [")" + local_.base_url() + R"("], "max_concurrency": 1},
        {"name": "dead", "kind": "openai", "base_url": "http://127.0.0.1:1/v1"}],
      "routes": [
        {"alias": "gpt", "target": "remote/gpt-4o", "fallbacks": ["backup/gpt-4o"]},
        {"alias": "solo", "target": "remote/gpt-4o"},
        {"alias": "llama", "target": "local/llama-3", "overflow": {"policy": ")" +
                     (overflow_policy.empty() ? "reject" : overflow_policy) + R"(", "spill_to": "remote/gpt-4o-mini", "max_wait_ms": 2000}}],
      "virtual_keys": [
        {"name": "team-a", "key": "sk-team-a"},
        {"name": "team-b", "key": "sk-team-b"},
        {"name": "limited", "key": "sk-limited", "rpm": 2, "allowed_models": ["gpt"]},
        {"name": "remote-only", "key": "sk-remote-only", "allowed_models": ["remote/*", "sol*"]},
        {"name": "private", "key": "sk-private", "local_only": true}],
      "cache": {"exact_enabled": true, "ttl_seconds": 60, "semantic_enabled": )" + semantic + R"(, "semantic_threshold": 0.97)" + cache_extra + R"(},
      "audit": {"enabled": true, "path": "audit.jsonl", "log_bodies": )" + audit_bodies + R"(},
      "prices": [{"model": "remote/gpt-4o", "input_per_mtok_usd": 2.5, "output_per_mtok_usd": 10}]})";
    gw_->configure(make_gateway_config(bj::parse(ai).as_object()));
    last_ai_ = ai;
  }

  http::ClientResponse post(const std::string& body, const std::string& key = "sk-team-a",
                            std::vector<std::pair<std::string, std::string>> extra = {}) {
    http::Client c({"127.0.0.1", server_->port(), ""}, 10s);
    extra.emplace_back("Authorization", "Bearer " + key);
    auto r = c.send(http::Verb::post, "/v1/chat/completions", body, extra);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : http::ClientResponse{};
  }

  static std::string chat(const std::string& model, const std::string& text, bool stream = false,
                          const std::string& system = "") {
    bj::array messages;
    if (!system.empty()) messages.push_back(bj::object{{"role", "system"}, {"content", system}});
    messages.push_back(bj::object{{"role", "user"}, {"content", text}});
    bj::object o{{"model", model}, {"messages", messages}};
    if (stream) {
      o["stream"] = true;
      o["stream_options"] = bj::object{{"include_usage", true}};
    }
    return bj::serialize(o);
  }

  // Content and usage of an SSE body; *errored if an error event came.
  static std::string sse_content(const std::string& body, bj::object* usage = nullptr, bool* done = nullptr,
                                 bool* errored = nullptr) {
    std::string out;
    std::size_t pos = 0;
    while ((pos = body.find("data: ", pos)) != std::string::npos) {
      std::size_t end = body.find("\n\n", pos);
      std::string data = body.substr(pos + 6, end - pos - 6);
      pos = end;
      if (data == "[DONE]") {
        if (done) *done = true;
        continue;
      }
      auto v = bj::parse(data).as_object();
      if (v.contains("error")) {
        if (errored) *errored = true;
        continue;
      }
      if (v.contains("usage") && usage) *usage = v.at("usage").as_object();
      for (const auto& ch : v.at("choices").as_array()) {
        const auto& d = ch.at("delta").as_object();
        if (d.contains("content") && d.at("content").is_string()) out += d.at("content").as_string();
      }
    }
    return out;
  }

  // Audit records are appended just after the answer is sent: wait for them.
  std::vector<bj::object> audit_records(std::size_t at_least = 0) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      gw_->audit()->flush();
      if (gw_->audit()->written() >= at_least) break;
      std::this_thread::sleep_for(5ms);
    }
    std::vector<bj::object> out;
    std::ifstream f(dir_ / "audit.jsonl");
    std::string line;
    while (std::getline(f, line)) out.push_back(bj::parse(line).as_object());
    return out;
  }

  FakeClock clock_;
  metrics::Registry metrics_;
  fakes::FakeOpenAi remote_{"remote"}, backup_{"backup"}, local_{"local"};
  std::filesystem::path dir_;
  std::unique_ptr<Gateway> gw_;
  // A fleet: a real Redis as the cache backend (plus `cache_extra` in the
  // cache section, and the semantic cache on if `semantic`) and a second
  // gateway configured the same; null (with
  // the failure recorded) if either cannot start.
  struct Fleet {
    testing::RedisServer redis;
    std::unique_ptr<SecondGateway> second;
  };
  std::unique_ptr<Fleet> start_fleet(const std::string& cache_extra, const std::string& semantic = "false") {
    auto f = std::make_unique<Fleet>();
    if (!f->redis.start()) return nullptr;
    configure("", "false", semantic, R"(, "backend": "redis", "redis_url": ")" + f->redis.url() + "\"" + cache_extra);
    f->second = std::make_unique<SecondGateway>(pool_, clock_, dir_, last_ai_);
    EXPECT_TRUE(f->second->started);
    return f->second->started ? std::move(f) : nullptr;
  }

  std::string last_ai_;  // the ai section configure() applied last
  http::Router router_;
  http::IoPool pool_{2};
  std::unique_ptr<http::Server> server_;
};

TEST_F(GatewayTest, NonStreamingMissThenHitWithExactUsage) {
  auto r1 = post(chat("gpt", "hello there world"));
  ASSERT_EQ(r1.status, 200u) << r1.body;
  EXPECT_EQ(r1.header("x-spectra-cache"), "miss");
  auto j = bj::parse(r1.body);
  EXPECT_EQ(j.at("choices").at(0).at("message").at("content").as_string(), "remote says: hello there world");
  EXPECT_EQ(j.at("usage").at("prompt_tokens").as_int64(), 3);
  EXPECT_EQ(j.at("usage").at("completion_tokens").as_int64(), 5);
  auto r2 = post(chat("gpt", "hello there world"));
  EXPECT_EQ(r2.header("x-spectra-cache"), "hit");
  EXPECT_EQ(bj::parse(r2.body), j);
  EXPECT_EQ(remote_.request_count(), 1u);
  auto t = gw_->meter().totals("team-a", "remote", "gpt-4o");
  EXPECT_EQ(t.requests, 2);
  EXPECT_EQ(t.prompt_tokens, 3);
  EXPECT_EQ(t.completion_tokens, 5);
  EXPECT_EQ(t.exact_hits, 1);
  EXPECT_EQ(t.saved_tokens, 8);
  EXPECT_DOUBLE_EQ(t.cost_usd, (3 * 2.5 + 5 * 10) / 1e6);
  // Each audit record has its own cost: the miss what it cost, the hit
  // what it saved; a model without a price has neither.
  EXPECT_EQ(post(chat("backup/gpt-4o", "no price")).status, 200u);
  // (Records are written as calls end, which may be after the client has
  // its answer and sent the next: each is found by what it is.)
  std::map<std::string, bj::object> by_call;  // "<requested model> <cache result>"
  for (auto& r : audit_records(3)) {
    by_call[std::string(r.at("requested_model").as_string()) + " " + std::string(r.at("cache").as_string())] = r;
  }
  ASSERT_EQ(by_call.size(), 3u);
  const bj::object& miss = by_call["gpt miss"];
  const bj::object& hit = by_call["gpt hit"];
  const bj::object& unpriced = by_call["backup/gpt-4o miss"];
  ASSERT_TRUE(miss.contains("cost_usd"));
  EXPECT_DOUBLE_EQ(miss.at("cost_usd").to_number<double>(), (3 * 2.5 + 5 * 10) / 1e6);
  EXPECT_FALSE(miss.contains("saved_usd"));
  ASSERT_TRUE(hit.contains("saved_usd"));
  EXPECT_DOUBLE_EQ(hit.at("saved_usd").to_number<double>(), (3 * 2.5 + 5 * 10) / 1e6);
  EXPECT_FALSE(hit.contains("cost_usd"));
  EXPECT_EQ(hit.at("finish_reason"), "stop") << "as the answer was given";
  EXPECT_FALSE(unpriced.contains("cost_usd"));
  EXPECT_FALSE(unpriced.contains("saved_usd"));
}

TEST_F(GatewayTest, StreamingForwardsChunksAndMetersTheUpstreamUsage) {
  auto r = post(chat("gpt", "stream me please", true));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  bj::object usage;
  bool done = false;
  EXPECT_EQ(sse_content(r.body, &usage, &done), "remote says: stream me please");
  EXPECT_TRUE(done);
  EXPECT_EQ(usage.at("prompt_tokens").as_int64(), 3);
  EXPECT_EQ(usage.at("completion_tokens").as_int64(), 5);
  auto t = gw_->meter().totals("team-a", "remote", "gpt-4o");
  EXPECT_EQ(t.prompt_tokens, 3);
  EXPECT_EQ(t.completion_tokens, 5);
  // Without include_usage the client gets no usage chunk, but metering still has it.
  auto plain = post(R"({"model":"gpt","stream":true,"messages":[{"role":"user","content":"no usage chunk"}]})");
  EXPECT_EQ(plain.body.find("\"usage\""), std::string::npos);
  EXPECT_EQ(gw_->meter().totals("team-a", "remote", "gpt-4o").prompt_tokens, 6);
}

// A stream's time to its first token and time per output token after it,
// per provider and model on /metrics, and the first in the audit record
// (ttft_ms). The fixture's clock is a fake one: it moves 2 s while the
// upstream has not answered yet and 4 s once the first token has reached
// the client, so the numbers are exact: 2 s, and 4 s over the 4 tokens
// after the first.
TEST_F(GatewayTest, StreamsReportTimeToFirstTokenAndPerOutputToken) {
  remote_.set_faults({.latency = 800ms, .chunk_interval = 100ms});
  std::thread mover([&] {
    test::eventually([&] { return remote_.request_count() >= 1; }, 5s);
    clock_.advance(2s);
  });
  const std::string body = chat("gpt", "stream me please", true);
  const std::string request = "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\nauthorization: Bearer sk-team-a\r\n"
                              "content-type: application/json\r\nconnection: close\r\ncontent-length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  bool moved = false;
  spectra::testing::RawTcpOptions read;
  read.on_read = [&](const std::string& so_far) {
    if (!moved && so_far.find("\"content\":\"remote") != std::string::npos) {
      moved = true;
      clock_.advance(4s);
    }
  };
  const std::string raw = spectra::testing::raw_tcp_exchange(server_->port(), request, read);
  mover.join();
  ASSERT_TRUE(moved) << raw;
  EXPECT_NE(raw.find("data: [DONE]"), std::string::npos) << raw;
  const std::string labels = R"({provider="remote",model="gpt-4o"})";
  auto value = [&](const std::string& series) {
    const std::string text = metrics_.render();
    const std::size_t at = text.find(series + labels + " ");
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + series.size() + labels.size() + 1));
  };
  EXPECT_EQ(value("spectra_ai_time_to_first_token_seconds_count"), 1);
  EXPECT_DOUBLE_EQ(value("spectra_ai_time_to_first_token_seconds_sum"), 2.0);
  EXPECT_EQ(value("spectra_ai_time_per_output_token_seconds_count"), 1);
  EXPECT_DOUBLE_EQ(value("spectra_ai_time_per_output_token_seconds_sum"), 1.0) << "4 s over 5 - 1 tokens";
  auto recs = audit_records(1);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_DOUBLE_EQ(recs[0].at("ttft_ms").to_number<double>(), 2000.0);
  EXPECT_DOUBLE_EQ(recs[0].at("latency_ms").to_number<double>(), 6000.0);

  // A streamed cache hit has its time to first token in the audit record
  // only (the metrics are the upstream's); a whole answer has none.
  remote_.set_faults({});
  auto hit = post(chat("gpt", "stream me please", true));
  EXPECT_EQ(hit.header("x-spectra-cache"), "hit");
  auto whole = post(chat("gpt", "a whole answer"));
  ASSERT_EQ(whole.status, 200u);
  recs = audit_records(3);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_TRUE(recs[1].contains("ttft_ms"));
  EXPECT_FALSE(recs[2].contains("ttft_ms"));
  EXPECT_EQ(value("spectra_ai_time_to_first_token_seconds_count"), 1);
  EXPECT_EQ(value("spectra_ai_time_per_output_token_seconds_count"), 1);
}

TEST_F(GatewayTest, CachedResponsesReplayAcrossStreamingModes) {
  auto whole = post(chat("gpt", "replay this answer"));
  ASSERT_EQ(whole.status, 200u);
  auto as_stream = post(chat("gpt", "replay this answer", true));
  EXPECT_EQ(as_stream.header("x-spectra-cache"), "hit");
  bj::object usage;
  EXPECT_EQ(sse_content(as_stream.body, &usage), "remote says: replay this answer");
  EXPECT_EQ(usage.at("completion_tokens").as_int64(), 5);
  // The other way: streamed first, then read whole.
  auto s = post(chat("gpt", "streamed first", true));
  ASSERT_EQ(s.header("x-spectra-cache"), "miss");
  auto w = post(chat("gpt", "streamed first"));
  EXPECT_EQ(w.header("x-spectra-cache"), "hit");
  EXPECT_EQ(bj::parse(w.body).at("choices").at(0).at("message").at("content").as_string(), "remote says: streamed first");
  EXPECT_EQ(remote_.request_count(), 2u);
}

// A reasoning model's thinking (vLLM's reasoning parsers: reasoning_content,
// or reasoning) is part of the answer: forwarded as it streams, kept by the
// cache whichever way the answer came, and replayed in the same field both
// ways (it was dropped when a stream was cached or a whole answer replayed
// as a stream).
TEST_F(GatewayTest, AReasoningModelsThinkingIsCachedAndReplayedBothWays) {
  auto joined = test::joined_deltas;
  const std::pair<const char*, const char*> models[] = {{"local/deepseek-r1", "reasoning_content"},
                                                        {"remote/gpt-oss-120b", "reasoning"}};
  for (const auto& [model, field] : models) {
    const std::string upstream = std::string(model).starts_with("local") ? "local" : "remote";
    // Streamed first: the thinking goes out as it comes, then is kept.
    auto streamed = post(chat(model, "think it over", true));
    ASSERT_EQ(streamed.status, 200u) << streamed.body;
    EXPECT_EQ(streamed.header("x-spectra-cache"), "miss");
    EXPECT_EQ(joined(streamed.body, field), upstream + " thinks about: think it over") << streamed.body;
    EXPECT_EQ(sse_content(streamed.body), upstream + " says: think it over");
    auto whole = post(chat(model, "think it over"));
    EXPECT_EQ(whole.header("x-spectra-cache"), "hit");
    auto msg = bj::parse(whole.body).at("choices").at(0).at("message").as_object();
    EXPECT_EQ(msg.at(field), bj::value(upstream + " thinks about: think it over")) << whole.body;
    EXPECT_EQ(msg.at("content"), bj::value(upstream + " says: think it over"));
    // Whole first: replayed as a stream, the thinking comes before the answer.
    auto first = post(chat(model, "whole first"));
    ASSERT_EQ(first.header("x-spectra-cache"), "miss");
    auto replayed = post(chat(model, "whole first", true));
    EXPECT_EQ(replayed.header("x-spectra-cache"), "hit");
    EXPECT_EQ(joined(replayed.body, field), upstream + " thinks about: whole first") << replayed.body;
    EXPECT_LT(replayed.body.find(field), replayed.body.find(upstream + " says"));
    EXPECT_EQ(sse_content(replayed.body), upstream + " says: whole first");
  }
}

TEST_F(GatewayTest, CachePartitionsTtlAndBypass) {
  ASSERT_EQ(post(chat("gpt", "same words")).header("x-spectra-cache"), "miss");
  EXPECT_EQ(post(chat("gpt", "same words"), "sk-team-b").header("x-spectra-cache"), "miss");     // tenant
  EXPECT_EQ(post(chat("gpt", "same words", false, "be terse")).header("x-spectra-cache"), "miss");  // system prompt
  EXPECT_EQ(post(chat("solo", "same words")).header("x-spectra-cache"), "hit");  // same resolved model
  auto other_model = R"({"model":"remote/gpt-4o-mini","messages":[{"role":"user","content":"same words"}]})";
  EXPECT_EQ(post(other_model).header("x-spectra-cache"), "miss");
  auto with_temp = R"({"model":"gpt","temperature":0.2,"messages":[{"role":"user","content":"same words"}]})";
  EXPECT_EQ(post(with_temp).header("x-spectra-cache"), "miss");
  auto earlier_turns = R"({"model":"gpt","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"},{"role":"user","content":"same words"}]})";
  EXPECT_EQ(post(earlier_turns).header("x-spectra-cache"), "miss");
  EXPECT_EQ(post(chat("gpt", "same words"), "sk-team-a", {{"Cache-Control", "no-cache"}}).header("x-spectra-cache"), "bypass");
  EXPECT_EQ(post(chat("gpt", "never stored"), "sk-team-a", {{"Cache-Control", "no-store"}}).header("x-spectra-cache"), "bypass");
  EXPECT_EQ(post(chat("gpt", "never stored")).header("x-spectra-cache"), "miss");
  clock_.advance(61s);
  EXPECT_EQ(post(chat("gpt", "same words")).header("x-spectra-cache"), "miss");  // TTL passed
}

// A pipeline re-indexing unchanged documents asks for the same vectors
// again: embeddings are answered from the exact cache as chat is, per
// tenant, model and request (encoding, dimensions), with its TTL and
// bypass; the built-in model's too (it costs the instance's CPU).
TEST_F(GatewayTest, EmbeddingsAreAnsweredFromTheExactCache) {
  http::Client c({"127.0.0.1", server_->port(), ""}, 10s);
  auto embed = [&](const std::string& body, const std::string& key = "sk-team-a",
                   const std::string& cache_control = "") {
    std::vector<std::pair<std::string, std::string>> h{{"Authorization", "Bearer " + key}};
    if (!cache_control.empty()) h.emplace_back("Cache-Control", cache_control);
    auto r = c.send(http::Verb::post, "/v1/embeddings", body, h);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : http::ClientResponse{};
  };
  const std::string docs = R"({"model":"solo","input":["first chunk of the manual","second chunk"]})";
  auto first = embed(docs);
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(first.header("x-spectra-cache"), "miss");
  const auto calls = remote_.request_count();
  auto again = embed(docs);
  ASSERT_EQ(again.status, 200u) << again.body;
  EXPECT_EQ(again.header("x-spectra-cache"), "hit");
  EXPECT_EQ(bj::parse(again.body), bj::parse(first.body));
  EXPECT_EQ(remote_.request_count(), calls) << "not asked again";
  const auto t = gw_->meter().totals("team-a", "remote", "gpt-4o");
  EXPECT_EQ(t.exact_hits, 1);
  EXPECT_EQ(t.saved_tokens, bj::parse(first.body).at("usage").at("prompt_tokens").as_int64());
  EXPECT_EQ(t.prompt_tokens, bj::parse(first.body).at("usage").at("prompt_tokens").as_int64()) << "the miss only";

  EXPECT_EQ(embed(docs, "sk-team-b").header("x-spectra-cache"), "miss");  // tenant
  EXPECT_EQ(embed(R"({"model":"solo","input":["first chunk of the manual","second chunk"],"dimensions":4})")
                .header("x-spectra-cache"), "miss");
  EXPECT_EQ(embed(R"({"model":"solo","input":["first chunk of the manual","second chunk"],"encoding_format":"base64"})")
                .header("x-spectra-cache"), "miss");
  EXPECT_EQ(embed(R"({"model":"remote/text-embedding-3-small","input":["first chunk of the manual","second chunk"]})")
                .header("x-spectra-cache"), "miss");
  EXPECT_EQ(embed(docs, "sk-team-a", "no-cache").header("x-spectra-cache"), "bypass");
  EXPECT_EQ(embed(docs, "sk-team-a", "no-store").header("x-spectra-cache"), "bypass") << "said, as on chat";
  EXPECT_EQ(remote_.request_count(), calls + 6);
  clock_.advance(61s);
  EXPECT_EQ(embed(docs).header("x-spectra-cache"), "miss");  // TTL passed

  // The built-in model: the second call is not embedded again.
  const std::string local = R"({"model":"local/all-minilm-l6-v2","input":"in-account vectors"})";
  auto built = embed(local);
  ASSERT_EQ(built.status, 200u) << built.body;
  EXPECT_EQ(built.header("x-spectra-cache"), "miss");
  auto built_again = embed(local);
  EXPECT_EQ(built_again.header("x-spectra-cache"), "hit");
  EXPECT_EQ(bj::parse(built_again.body), bj::parse(built.body));
  EXPECT_EQ(gw_->meter().totals("team-a", "builtin", "all-minilm-l6-v2").exact_hits, 1);
}

TEST_F(GatewayTest, IdenticalConcurrentMissesShareOneUpstreamCall) {
  remote_.set_faults({.latency = 300ms});
  std::vector<std::thread> ts;
  std::atomic<int> hits{0}, ok{0};
  for (int i = 0; i < 8; ++i) {
    ts.emplace_back([&] {
      auto r = post(chat("gpt", "thundering herd"));
      if (r.status == 200) ++ok;
      if (r.header("x-spectra-cache") == "hit") ++hits;
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(remote_.request_count(), 1u);
  EXPECT_EQ(hits.load(), 7);
}

TEST_F(GatewayTest, KeysModelsAndRateLimits) {
  EXPECT_EQ(post(chat("gpt", "x"), "sk-nope").status, 401u);
  auto denied = post(chat("solo", "x"), "sk-limited");
  EXPECT_EQ(denied.status, 403u);
  EXPECT_NE(denied.body.find("not allowed"), std::string::npos);
  // Each answer carries the key's headroom as OpenAI's x-ratelimit-* headers.
  auto one = post(chat("gpt", "one"), "sk-limited");
  EXPECT_EQ(one.status, 200u);
  EXPECT_EQ(one.header("x-ratelimit-limit-requests"), "2");
  EXPECT_EQ(one.header("x-ratelimit-remaining-requests"), "1");
  EXPECT_EQ(one.header("x-ratelimit-reset-requests"), "30s");
  EXPECT_EQ(one.header("x-ratelimit-limit-tokens"), "");  // the key has no token limit
  auto two = post(chat("gpt", "two", /*stream=*/true), "sk-limited");  // streamed: in the stream's head
  EXPECT_EQ(two.status, 200u);
  EXPECT_EQ(two.header("x-ratelimit-remaining-requests"), "0");
  EXPECT_EQ(two.header("x-ratelimit-reset-requests"), "1m0s");
  auto limited = post(chat("gpt", "three"), "sk-limited");
  EXPECT_EQ(limited.status, 429u);
  EXPECT_NE(limited.body.find("rpm 2"), std::string::npos) << limited.body;
  EXPECT_FALSE(limited.header("retry-after").empty());
  EXPECT_EQ(limited.header("x-ratelimit-remaining-requests"), "0");
  EXPECT_EQ(post(chat("gpt", "no limits")).header("x-ratelimit-limit-requests"), "");
  clock_.advance(31s);  // half a minute refills one request
  EXPECT_EQ(post(chat("gpt", "four"), "sk-limited").status, 200u);
  EXPECT_EQ(post(chat("nosuch", "x")).status, 404u);
  EXPECT_EQ(post("{not json").status, 400u);
  EXPECT_EQ(post(R"({"model":"gpt","messages":[]})").status, 400u);
  // A refused request names the field at fault, as OpenAI's `param`.
  auto bad_role = post(R"({"model":"gpt","messages":[{"role":"wizard","content":"x"}]})");
  EXPECT_EQ(bad_role.status, 400u);
  EXPECT_EQ(bj::parse(bad_role.body).at("error").at("param").as_string(), "messages[0].role") << bad_role.body;
  EXPECT_TRUE(bj::parse(post(chat("nosuch", "x")).body).at("error").at("param").is_null());
  // The pass-through routes hold the key's model list and limits too.
  http::Client c({"127.0.0.1", server_->port(), ""}, 10s);
  auto emb = c.send(http::Verb::post, "/v1/embeddings", R"({"model":"solo","input":"x"})",
                    {{"Authorization", "Bearer sk-limited"}});
  ASSERT_TRUE(emb.ok());
  EXPECT_EQ(emb->status, 403u) << emb->body;
  auto over = c.send(http::Verb::post, "/v1/embeddings", R"({"model":"gpt","input":"x"})",
                     {{"Authorization", "Bearer sk-limited"}});  // rpm 2: the refilled request went to "four"
  ASSERT_TRUE(over.ok());
  EXPECT_EQ(over->status, 429u) << over->body;
}

// GET /v1/models lists the aliases a key may use; GET /v1/models/{id}
// retrieves one, or a provider/model the key may address (encoded as the
// SDKs send it, or as two segments).
TEST_F(GatewayTest, ModelsListAndRetrieveFollowTheKeysModels) {
  http::Client c({"127.0.0.1", server_->port(), ""}, 10s);
  auto get = [&](const std::string& path, const std::string& key) {
    auto r = c.send(http::Verb::get, path, "", {{"Authorization", "Bearer " + key}});
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : http::ClientResponse{};
  };
  auto all = get("/v1/models", "sk-team-a");
  ASSERT_EQ(all.status, 200u) << all.body;
  EXPECT_EQ(bj::parse(all.body).at("data").as_array().size(), 3u);  // gpt, llama, solo
  auto limited = get("/v1/models", "sk-limited");
  ASSERT_EQ(limited.status, 200u);
  const bj::value limited_list = bj::parse(limited.body);
  const auto& only = limited_list.at("data").as_array();
  ASSERT_EQ(only.size(), 1u) << limited.body;
  EXPECT_EQ(only[0].at("id").as_string(), "gpt");

  auto gpt = get("/v1/models/gpt", "sk-team-a");
  ASSERT_EQ(gpt.status, 200u) << gpt.body;
  EXPECT_EQ(bj::parse(gpt.body).at("owned_by").as_string(), "remote");
  for (const char* path : {"/v1/models/remote%2Fgpt-4o", "/v1/models/remote/gpt-4o"}) {
    auto direct = get(path, "sk-team-a");
    ASSERT_EQ(direct.status, 200u) << path << ": " << direct.body;
    EXPECT_EQ(bj::parse(direct.body).at("id").as_string(), "remote/gpt-4o");
  }
  for (auto [path, key] : {std::pair{"/v1/models/nosuch", "sk-team-a"}, std::pair{"/v1/models/nobody/gpt-4o", "sk-team-a"},
                           std::pair{"/v1/models/solo", "sk-limited"}, std::pair{"/v1/models/remote/gpt-4o", "sk-limited"}}) {
    auto missing = get(path, key);
    EXPECT_EQ(missing.status, 404u) << path;
    EXPECT_EQ(bj::parse(missing.body).at("error").at("code").as_string(), "model_not_found") << missing.body;
  }
  EXPECT_EQ(get("/v1/models/gpt", "sk-nope").status, 401u);

  // Entries ending in * allow a family: every model of a provider, every
  // alias with a prefix.
  auto family = get("/v1/models", "sk-remote-only");
  ASSERT_EQ(family.status, 200u) << family.body;
  const bj::value family_list = bj::parse(family.body);
  ASSERT_EQ(family_list.at("data").as_array().size(), 1u) << family.body;
  EXPECT_EQ(family_list.at("data").at(0).at("id"), "solo");
  EXPECT_EQ(get("/v1/models/remote/gpt-4o-mini", "sk-remote-only").status, 200u);
  EXPECT_EQ(get("/v1/models/backup/gpt-4o", "sk-remote-only").status, 404u);
}

TEST_F(GatewayTest, AKeysModelListMayNameFamiliesOfModels) {
  EXPECT_EQ(post(chat("remote/gpt-4o-mini", "mine"), "sk-remote-only").status, 200u);
  EXPECT_EQ(post(chat("solo", "mine too"), "sk-remote-only").status, 200u);
  auto other_provider = post(chat("backup/gpt-4o", "not mine"), "sk-remote-only");
  EXPECT_EQ(other_provider.status, 403u) << other_provider.body;
  EXPECT_EQ(bj::parse(other_provider.body).at("error").at("code"), "model_not_allowed");
  EXPECT_EQ(post(chat("gpt", "not mine either"), "sk-remote-only").status, 403u) << "an alias outside the family";
  EXPECT_EQ(post(chat("remote", "no slash"), "sk-remote-only").status, 403u) << "a prefix, not a substring";
  http::Client c({"127.0.0.1", server_->port(), ""}, 10s);
  auto emb = c.send(http::Verb::post, "/v1/embeddings", R"({"model":"remote/text-embedding-3-small","input":"x"})",
                    {{"Authorization", "Bearer sk-remote-only"}});
  ASSERT_TRUE(emb.ok());
  EXPECT_EQ(emb->status, 200u) << emb->body;
  auto refused = c.send(http::Verb::post, "/v1/embeddings", R"({"model":"backup/text-embedding-3-small","input":"x"})",
                        {{"Authorization", "Bearer sk-remote-only"}});
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 403u) << refused->body;
}

// A key with expires_at authenticates until then, and after it gets 401 on
// every route, naming when it expired.
TEST_F(GatewayTest, AnExpiredKeyNoLongerAuthenticates) {
  const auto expires = std::chrono::floor<std::chrono::seconds>(clock_.system_now()) + std::chrono::hours(1);
  const std::string ai = R"({"enabled": true,
      "providers": [{"name": "remote", "kind": "openai", "base_url": ")" + remote_.base_url() + R"("}],
      "routes": [{"alias": "solo", "target": "remote/gpt-4o"}],
      "virtual_keys": [{"name": "contractor", "key": "sk-contractor", "expires_at": ")" + rfc3339_utc(expires) + R"("},
                       {"name": "staff", "key": "sk-staff"}],
      "cache": {"exact_enabled": false}})";
  SecondGateway gw(pool_, clock_, dir_, ai);
  ASSERT_TRUE(gw.started);
  http::Client c({"127.0.0.1", gw.server->port(), ""}, 10s);
  auto call = [&](http::Verb verb, const std::string& path, const std::string& body) {
    auto r = c.send(verb, path, body, {{"Authorization", "Bearer sk-contractor"}});
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : http::ClientResponse{};
  };
  EXPECT_EQ(gw.post(chat("solo", "still valid"), "sk-contractor").status, 200u);
  EXPECT_EQ(call(http::Verb::get, "/v1/models", "").status, 200u);
  clock_.advance(std::chrono::hours(1));
  auto refused = gw.post(chat("solo", "too late"), "sk-contractor");
  EXPECT_EQ(refused.status, 401u);
  const auto err = bj::parse(refused.body).at("error");
  EXPECT_EQ(err.at("code").as_string(), "invalid_api_key");
  EXPECT_EQ(err.at("message").as_string(), "the API key 'contractor' expired at " + rfc3339_utc(expires));
  EXPECT_EQ(call(http::Verb::post, "/v1/embeddings", R"({"model":"solo","input":"x"})").status, 401u);
  EXPECT_EQ(call(http::Verb::get, "/v1/models", "").status, 401u);
  EXPECT_EQ(call(http::Verb::get, "/v1/models/solo", "").status, 401u);
  EXPECT_EQ(gw.post(chat("solo", "no expiry"), "sk-staff").status, 200u);
  EXPECT_EQ(remote_.request_count(), 2u);
}

// A daily budget refuses until the next UTC day and then renews; a total
// budget (the default) stays spent.
// Each budgeted key's budget and its spend are gauges on /metrics, so an
// alert can fire on spent / budget before the key is refused.
TEST_F(GatewayTest, BudgetsAndTheirSpendAreGaugesForAlerts) {
  const std::string key = R"({"name": "team-a", "key": "sk-team-a")";
  std::string ai = last_ai_;
  ai.replace(ai.find(key), key.size(), key + R"(, "budget_usd": 2, "budget_period": "monthly")");
  gw_->configure(make_gateway_config(bj::parse(ai).as_object()));
  ASSERT_EQ(post(chat("gpt", "hello there world")).status, 200u);
  const std::string text = metrics_.render();
  EXPECT_NE(text.find("spectra_ai_budget_usd{key=\"team-a\",period=\"monthly\"} 2\n"), std::string::npos) << text;
  const std::string spent = "spectra_ai_budget_spent_usd{key=\"team-a\",period=\"monthly\"} ";
  const auto at = text.find(spent);
  ASSERT_NE(at, std::string::npos) << text;
  EXPECT_NEAR(std::stod(text.substr(at + spent.size())), (3 * 2.5 + 5 * 10) / 1e6, 1e-12) << "what the call cost";
  EXPECT_EQ(text.find("spectra_ai_budget_usd{key=\"team-b\""), std::string::npos) << "no budget: no series";
}

TEST_F(GatewayTest, APeriodicBudgetRenewsWithItsPeriod) {
  const std::string ai = R"({"enabled": true,
      "providers": [{"name": "remote", "kind": "openai", "base_url": ")" + remote_.base_url() + R"("}],
      "routes": [{"alias": "solo", "target": "remote/gpt-4o"}],
      "virtual_keys": [{"name": "daily", "key": "sk-daily", "budget_usd": 0.00001, "budget_period": "daily"},
                       {"name": "total", "key": "sk-total", "budget_usd": 0.00001}],
      "cache": {"exact_enabled": false},
      "prices": [{"model": "remote/gpt-4o", "input_per_mtok_usd": 2.5, "output_per_mtok_usd": 10}]})";
  SecondGateway gw(pool_, clock_, dir_, ai);
  ASSERT_TRUE(gw.started);
  for (const char* key : {"sk-daily", "sk-total"}) {
    ASSERT_EQ(gw.post(chat("solo", "spend it"), key).status, 200u) << key;  // costs more than the budget
  }
  auto refused = gw.post(chat("solo", "and more"), "sk-daily");
  ASSERT_EQ(refused.status, 429u) << refused.body;
  const auto err = bj::parse(refused.body).at("error");
  EXPECT_EQ(err.at("code").as_string(), "budget_exceeded");
  EXPECT_NE(std::string(err.at("message").as_string()).find("daily budget of $0.00 for key 'daily' is spent"),
            std::string::npos)
      << refused.body;
  const auto now = clock_.system_now();
  const auto midnight = std::chrono::floor<std::chrono::days>(now) + std::chrono::days(1);
  EXPECT_EQ(refused.header("retry-after"), std::to_string(std::chrono::ceil<std::chrono::seconds>(midnight - now).count()));
  EXPECT_EQ(gw.post(chat("solo", "and more"), "sk-total").status, 429u);
  EXPECT_EQ(remote_.request_count(), 2u);
  const bj::array budgets = gw.gw->budget_status();  // sorted by key
  ASSERT_EQ(budgets.size(), 2u) << bj::serialize(budgets);
  EXPECT_EQ(budgets[0].at("key").as_string(), "daily");
  EXPECT_EQ(budgets[0].at("period").as_string(), "daily");
  EXPECT_GT(budgets[0].at("spent_usd").as_double(), 0.00001);
  EXPECT_EQ(budgets[0].at("remaining_usd").as_double(), 0.0);
  EXPECT_EQ(budgets[0].at("renews_at").as_string(), rfc3339_utc(midnight));
  EXPECT_EQ(budgets[0].at("scope").as_string(), "instance");
  EXPECT_EQ(budgets[1].at("key").as_string(), "total");
  EXPECT_FALSE(budgets[1].as_object().contains("renews_at"));

  clock_.advance(midnight - now);  // the next day
  EXPECT_EQ(gw.post(chat("solo", "a new day"), "sk-daily").status, 200u);
  EXPECT_EQ(gw.post(chat("solo", "a new day"), "sk-daily").status, 429u);  // spent again
  EXPECT_EQ(gw.post(chat("solo", "a new day"), "sk-total").status, 429u);
  EXPECT_EQ(remote_.request_count(), 3u);
  EXPECT_EQ(gw.gw->budget_status().at(0).at("renews_at").as_string(), rfc3339_utc(midnight + std::chrono::days(1)));
}

// What the HTTP layer answers by itself on the AI port (no such path, wrong
// method, a header over the limit) is in OpenAI's error shape too.
TEST_F(GatewayTest, ErrorsOfTheHttpLayerAreInOpenAiShape) {
  http::Client c({"127.0.0.1", server_->port(), ""}, 10s);
  auto expect_openai = [](const Result<http::ClientResponse>& r, unsigned status, std::string_view code) {
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->status, status) << r->body;
    auto err = bj::parse(r->body).at("error").as_object();
    EXPECT_EQ(err.at("type").as_string(), status >= 500 ? "server_error" : "invalid_request_error") << r->body;
    EXPECT_EQ(err.at("code").as_string(), code) << r->body;
    EXPECT_TRUE(err.at("param").is_null()) << r->body;
    EXPECT_FALSE(err.at("message").as_string().empty()) << r->body;
  };
  expect_openai(c.send(http::Verb::post, "/v1/no/such/path", "{}"), 404, "not_found");
  expect_openai(c.send(http::Verb::get, "/v1/chat/completions"), 405, "method_not_allowed");
  http::Client big({"127.0.0.1", server_->port(), ""}, 10s);
  expect_openai(big.send(http::Verb::get, "/v1/models", "", {{"X-Big", std::string(20000, 'a')}}), 431,
                "header_too_large");
  auto five = openai_http_error(http::HttpStatus::internal_server_error, "internal", "boom");
  EXPECT_EQ(bj::parse(five.body()).at("error").at("type").as_string(), "server_error");
}

// An https upstream behind a private CA (an in-account endpoint): trusted
// through the provider's ca_file; without it, or for a certificate of
// another name, the call fails at the handshake and nothing is sent.
TEST_F(GatewayTest, HttpsUpstreamTrustedThroughTheProvidersCaFile) {
  const auto pki = spectra::testing::make_test_pki(dir_ / "pki", {{"good", "IP:127.0.0.1"}, {"other", "DNS:other.example"}});
  ASSERT_TRUE(pki.ok) << "openssl failed; see " << pki.log();
  TlsFront good(pki.cert("good"), pki.key("good"), remote_.port());
  TlsFront other(pki.cert("other"), pki.key("other"), remote_.port());
  auto provider = [&](const std::string& name, const TlsFront& front, const std::string& ca) {
    return R"({"name": ")" + name + R"(", "kind": "openai", "base_url": "https://127.0.0.1:)" +
           std::to_string(front.port()) + R"(/v1")" + (ca.empty() ? "" : R"(, "ca_file": ")" + ca + "\"") + "}";
  };
  const std::string ai = R"({"enabled": true, "providers": [)" + provider("private", good, pki.ca()) + ", " +
                         provider("system", good, "") + ", " + provider("misnamed", other, pki.ca()) + R"(],
      "routes": [{"alias": "private", "target": "private/gpt-4o"}, {"alias": "system", "target": "system/gpt-4o"},
                 {"alias": "misnamed", "target": "misnamed/gpt-4o"}],
      "virtual_keys": [{"name": "team-a", "key": "sk-team-a"}], "cache": {"exact_enabled": false}})";
  SecondGateway gw(pool_, clock_, dir_, ai);
  ASSERT_TRUE(gw.started);
  for (int i = 0; i < 2; ++i) {  // the second over the kept-alive TLS connection
    auto r = gw.post(chat("private", "over tls " + std::to_string(i)));
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(bj::parse(r.body).at("choices").at(0).at("message").at("content").as_string(),
              "remote says: over tls " + std::to_string(i));
  }
  EXPECT_EQ(remote_.request_count(), 2u);
  for (const char* alias : {"system", "misnamed"}) {
    auto r = gw.post(chat(alias, "must not arrive"));
    EXPECT_EQ(r.status, 502u) << alias << ": " << r.body;
    EXPECT_NE(r.body.find("certificate verify failed"), std::string::npos) << alias << ": " << r.body;
  }
  EXPECT_EQ(remote_.request_count(), 2u);
  // The bundle rotated in place (a new CA, a new certificate, same paths):
  // the next new connection trusts the new file without a restart.
  const auto rotated = spectra::testing::make_test_pki(dir_ / "pki", {{"good", "IP:127.0.0.1"}});
  ASSERT_TRUE(rotated.ok) << "openssl failed; see " << rotated.log();
  TlsFront renewed(rotated.cert("good"), rotated.key("good"), remote_.port());
  std::string moved = ai;
  const std::string old_port = ":" + std::to_string(good.port()) + "/", new_port = ":" + std::to_string(renewed.port()) + "/";
  for (auto at = moved.find(old_port); at != std::string::npos; at = moved.find(old_port, at + new_port.size())) {
    moved.replace(at, old_port.size(), new_port);
  }
  gw.gw->configure(make_gateway_config(bj::parse(moved).as_object()));
  auto after = gw.post(chat("private", "after rotation"));
  EXPECT_EQ(after.status, 200u) << after.body;
  EXPECT_EQ(remote_.request_count(), 3u);
  // A CA file that cannot be read fails the call with a message that says so.
  auto broken = ai;
  broken.replace(broken.find(pki.ca()), pki.ca().size(), (dir_ / "no-such-ca.pem").string());
  gw.gw->configure(make_gateway_config(bj::parse(broken).as_object()));
  auto r = gw.post(chat("private", "no ca"));
  EXPECT_EQ(r.status, 502u) << r.body;
  EXPECT_NE(r.body.find("cannot load the CA certificates from"), std::string::npos) << r.body;
}

// A route balanced 3:1 over two accounts of one model: requests take
// turns by weight (smooth: the lighter one never twice in a row), the
// accounts share cache entries, and a throttled account's turn is
// answered by the other before the route's fallback.
TEST_F(GatewayTest, ABalancedRouteTakesTurnsByWeightAndSharesItsCache) {
  std::string ai = last_ai_;
  const std::string routes = R"("routes": [)";
  ai.replace(ai.find(routes), routes.size(), routes + R"({"alias": "spread", "target": "remote/gpt-4o", "weight": 3,
      "balance": [{"target": "backup/gpt-4o", "weight": 1}], "fallbacks": ["local/llama-3"]},)");
  gw_->configure(make_gateway_config(bj::parse(ai).as_object()));
  std::string turns;
  for (int i = 0; i < 8; ++i) {
    auto r = post(chat("spread", "turn " + std::to_string(i)));
    ASSERT_EQ(r.status, 200u) << r.body;
    const std::string said(bj::parse(r.body).at("choices").at(0).at("message").at("content").as_string());
    turns += said.starts_with("remote") ? 'r' : said.starts_with("backup") ? 'b' : '?';
    EXPECT_EQ(r.header("x-spectra-provider"), said.substr(0, said.find(' ')));
  }
  EXPECT_EQ(turns, "rrbrrrbr");
  // Turn 8 (remote) fills the cache; turn 10 (backup's) reads it.
  auto filled = post(chat("spread", "shared answer"));
  EXPECT_EQ(filled.header("x-spectra-cache"), "miss");
  EXPECT_EQ(post(chat("spread", "turn 9")).header("x-spectra-provider"), "remote");
  const auto backup_calls = backup_.request_count();
  auto shared = post(chat("spread", "shared answer"));
  EXPECT_EQ(shared.header("x-spectra-cache"), "hit");
  EXPECT_EQ(bj::parse(shared.body).at("choices").at(0).at("message").at("content"), "remote says: shared answer");
  EXPECT_EQ(backup_.request_count(), backup_calls) << "not asked";

  // Turns 11-15: remote, remote, remote, backup, remote. A throttled
  // backup's turn goes to remote; with both failing, the fallback answers.
  backup_.set_faults({.error_status = 429});
  for (int turn = 11; turn <= 13; ++turn) {
    EXPECT_EQ(post(chat("spread", "turn " + std::to_string(turn))).header("x-spectra-provider"), "remote");
  }
  EXPECT_EQ(backup_.request_count(), backup_calls);
  auto covered = post(chat("spread", "turn 14"));
  ASSERT_EQ(covered.status, 200u) << covered.body;
  EXPECT_EQ(covered.header("x-spectra-provider"), "remote");
  EXPECT_EQ(backup_.request_count(), backup_calls + 1) << "its turn, tried first";
  remote_.set_faults({.error_status = 503});
  auto last = post(chat("spread", "turn 15"));
  ASSERT_EQ(last.status, 200u) << last.body;
  EXPECT_EQ(last.header("x-spectra-provider"), "local");
  EXPECT_EQ(backup_.request_count(), backup_calls + 2) << "remote's turn, then backup, then the fallback";
  // (Records are written as calls end: counted, not taken in order.)
  std::map<std::string, int> answered_instead;
  for (const auto& r : audit_records(16)) {
    if (r.at("route") == "spread" && r.at("fallback").is_string()) ++answered_instead[std::string(r.at("fallback").as_string())];
  }
  EXPECT_EQ(answered_instead, (std::map<std::string, int>{{"remote/gpt-4o", 1}, {"local/llama-3", 1}}));
}

// A target that keeps failing is ejected after three failures in a row:
// later requests go straight to its fallback (it is not asked at all)
// until the cool-down ends; a route with nothing else still tries it; a
// success after the cool-down restores it.
TEST_F(GatewayTest, AFailingTargetIsSkippedUntilItsCoolDownEnds) {
  remote_.set_faults({.error_status = 503});
  for (int i = 0; i < 3; ++i) {
    auto r = post(chat("gpt", "eject " + std::to_string(i)));
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.header("x-spectra-provider"), "backup");
  }
  EXPECT_EQ(remote_.request_count(), 3u);
  EXPECT_EQ(gw_->upstream_health().ejected_now(), 1u);
  auto state_of = [&](const std::string& provider) {
    for (const auto& row : gw_->upstream_status()) {
      if (row.at("provider") == provider.c_str()) return row.as_object();
    }
    return bj::object();
  };
  const bj::object ejected = state_of("remote");
  EXPECT_EQ(ejected.at("state"), "ejected") << bj::serialize(ejected);
  EXPECT_EQ(ejected.at("ejections_in_a_row").as_int64(), 1);
  EXPECT_EQ(ejected.at("ejected_for_ms").as_int64(), 5000);
  EXPECT_NE(ejected.at("last_error").as_string().find("remote"), std::string::npos) << bj::serialize(ejected);
  EXPECT_EQ(state_of("backup").at("state"), "healthy");
  auto skipped = post(chat("gpt", "eject 3"));
  ASSERT_EQ(skipped.status, 200u) << skipped.body;
  EXPECT_EQ(skipped.header("x-spectra-provider"), "backup");
  EXPECT_EQ(remote_.request_count(), 3u);  // not asked
  // "solo" has no fallback: the ejected target is tried anyway.
  EXPECT_EQ(post(chat("solo", "nothing else")).status, 502u);
  EXPECT_EQ(remote_.request_count(), 4u);
  clock_.advance(5s);
  remote_.set_faults({});
  auto back = post(chat("gpt", "eject 4"));
  ASSERT_EQ(back.status, 200u) << back.body;
  EXPECT_EQ(back.header("x-spectra-provider"), "remote");
  EXPECT_EQ(gw_->upstream_health().ejected_now(), 0u);
  EXPECT_EQ(gw_->upstream_health().ejections(), 1u);
  EXPECT_EQ(state_of("remote").at("state"), "healthy");
}

// A vLLM provider with a dead replica: a failed call goes to the provider's
// next endpoint (the client never sees the failure; chat and the
// pass-through routes alike), and after three failures the dead one is not
// tried any more.
TEST_F(GatewayTest, ADeadVllmEndpointIsRetriedElsewhereThenSkipped) {
  const std::string ai = R"({"enabled": true,
      "providers": [{"name": "pool", "kind": "vllm", "endpoints": ["http://127.0.0.1:1/v1", ")" + local_.base_url() + R"("]}],
      "routes": [{"alias": "pool", "target": "pool/llama-3"}],
      "virtual_keys": [{"name": "team-a", "key": "sk-team-a"}], "cache": {"exact_enabled": false}})";
  SecondGateway gw(pool_, clock_, dir_, ai);
  ASSERT_TRUE(gw.started);
  http::Client c({"127.0.0.1", gw.server->port(), ""}, 10s);
  for (const char* path : {"/v1/embeddings", "/v1/completions"}) {  // round-robin: one of them meets the dead one
    auto r = c.send(http::Verb::post, path, R"({"model":"pool","input":"x","prompt":"x"})",
                    {{"Authorization", "Bearer sk-team-a"}});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->status, 200u) << path << ": " << r->body;
  }
  EXPECT_EQ(local_.request_count(), 2u);
  for (int i = 0; i < 8; ++i) {
    auto r = gw.post(chat("pool", "replica " + std::to_string(i)));
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(bj::parse(r.body).at("choices").at(0).at("message").at("content").as_string(),
              "local says: replica " + std::to_string(i));
  }
  EXPECT_EQ(local_.request_count(), 10u);
  EXPECT_EQ(gw.gw->upstream_health().ejected_now(), 1u);
  EXPECT_EQ(gw.gw->upstream_health().ejections(), 1u);
}

// Active health checks: a replica failing its checks is ejected without a
// client request reaching it, stays out while its checks fail (also after
// its cool-down), and is back in rotation once a check passes.
TEST_F(GatewayTest, HealthChecksEjectAndRestoreAReplicaWithoutClientRequests) {
  const std::string ai = R"({"enabled": true,
      "providers": [{"name": "pool", "kind": "vllm", "endpoints": [")" + backup_.base_url() + R"(", ")" +
                         local_.base_url() + R"("],
                     "health_check": {"path": "/health", "interval_ms": 200, "timeout_ms": 150}}],
      "routes": [{"alias": "pool", "target": "pool/llama-3"}],
      "virtual_keys": [{"name": "team-a", "key": "sk-team-a"}], "cache": {"exact_enabled": false},
      "upstream_health": {"max_failures": 2, "ejection_ms": 1000}})";
  SecondGateway gw(pool_, clock_, dir_, ai);
  ASSERT_TRUE(gw.started);
  const UpstreamHealth& health = gw.gw->upstream_health();
  const std::string sick = backup_.base_url();
  auto wait_for = [](const std::function<bool()>& done) {
    for (auto until = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < until;) {
      if (done()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return done();
  };
  ASSERT_TRUE(wait_for([&] { return backup_.health_requests() >= 2 && local_.health_requests() >= 2; }));
  EXPECT_EQ(health.ejected_now(), 0u);

  fakes::FakeOpenAiFaults faults;
  faults.health_status = 503;
  backup_.set_faults(faults);
  ASSERT_TRUE(wait_for([&] { return health.ejected_now() == 1; }));
  auto st = health.state("pool", sick);
  ASSERT_TRUE(st.has_value());
  EXPECT_GT(st->ejected_for.count(), 0);
  EXPECT_NE(st->last_error.find("HTTP 503"), std::string::npos) << st->last_error;
  EXPECT_EQ(backup_.request_count(), 0u);  // no client request was spent on it
  EXPECT_GE(gw.gw->health_checks().failed, 2u);

  auto answered_by = [&](const std::string& text) {
    auto r = gw.post(chat("pool", text));
    EXPECT_EQ(r.status, 200u) << r.body;
    return r.status == 200 ? std::string(bj::parse(r.body).at("choices").at(0).at("message").at("content").as_string())
                           : std::string();
  };
  for (int i = 0; i < 4; ++i) EXPECT_EQ(answered_by("a" + std::to_string(i)), "local says: a" + std::to_string(i));

  // Its cool-down ends while its checks still fail: the next check ejects
  // it again (twice as long), and requests still do not reach it.
  clock_.advance(1s);
  ASSERT_TRUE(wait_for([&] { return health.ejections() == 2; }));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(answered_by("b" + std::to_string(i)), "local says: b" + std::to_string(i));
  EXPECT_EQ(backup_.request_count(), 0u);

  // Healthy again: back once its cool-down is over and a check has passed.
  backup_.set_faults({});
  clock_.advance(2s);
  ASSERT_TRUE(wait_for([&] { return !health.state("pool", sick).has_value(); }));
  EXPECT_EQ(health.ejected_now(), 0u);
  for (int i = 0; i < 4; ++i) answered_by("c" + std::to_string(i));
  EXPECT_EQ(backup_.request_count(), 2u);  // round-robin over both again
  EXPECT_EQ(local_.request_count(), 10u);

  // A revision that turns the checks off (empty path) stops them: three
  // intervals pass without one.
  const std::string on = R"("path": "/health")";
  std::string passive = ai;
  passive.replace(passive.find(on), on.size(), R"("path": "")");
  gw.gw->configure(make_gateway_config(bj::parse(passive).as_object()));
  // A check started before the revision landed ends within its timeout
  // (150 ms) and the prober's tick (100 ms); none starts after.
  std::this_thread::sleep_for(150ms + 100ms);
  const auto checks = backup_.health_requests() + local_.health_requests();
  std::this_thread::sleep_for(600ms);
  EXPECT_EQ(backup_.health_requests() + local_.health_requests(), checks);
}

// A listener whose accept queue is full and never drained: the kernel
// drops further SYNs, so a connect to it hangs, as to a blackholed host.
class Blackhole {
 public:
  Blackhole() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ok_ = listener_ >= 0 && ::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
          ::listen(listener_, 0) == 0 && ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len) == 0;
    port_ = ntohs(a.sin_port);
    // Fill the queue: backlog 0 holds one connection, never accepted; once
    // its handshake is done, the kernel drops every further SYN.
    if (ok_) {
      filler_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      (void)::connect(filler_, reinterpret_cast<sockaddr*>(&a), sizeof a);
      pollfd p{filler_, POLLOUT, 0};
      ok_ = ::poll(&p, 1, 2000) == 1;
    }
  }
  ~Blackhole() {
    if (filler_ >= 0) ::close(filler_);
    if (listener_ >= 0) ::close(listener_);
  }
  bool ok() const { return ok_; }
  std::uint16_t port() const { return port_; }

 private:
  int listener_ = -1;
  int filler_ = -1;
  std::uint16_t port_ = 0;
  bool ok_ = false;
};

// An endpoint that never answers a SYN costs a request the provider's
// connect_timeout_ms, not the default 5 s, before the fallback answers; and
// once ejected, nothing.
TEST_F(GatewayTest, AnUnansweredConnectFailsOverAfterTheProvidersConnectTimeout) {
  Blackhole hole;
  ASSERT_TRUE(hole.ok());
  const std::string ai = R"({"enabled": true, "providers": [
      {"name": "hole", "kind": "vllm", "endpoints": ["http://127.0.0.1:)" + std::to_string(hole.port()) +
                         R"(/v1"], "connect_timeout_ms": 200},
      {"name": "remote", "kind": "openai", "base_url": ")" + remote_.base_url() + R"("}],
      "routes": [{"alias": "gpt", "target": "hole/llama-3", "fallbacks": ["remote/gpt-4o"]}],
      "virtual_keys": [{"name": "team-a", "key": "sk-team-a"}], "cache": {"exact_enabled": false}})";
  SecondGateway gw(pool_, clock_, dir_, ai);
  ASSERT_TRUE(gw.started);
  for (int i = 0; i < 4; ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto r = gw.post(chat("gpt", "through the hole " + std::to_string(i)));
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.header("x-spectra-provider"), "remote");
    if (i < 3) {
      EXPECT_GE(took, 150ms) << i;  // it waited for the connect
      EXPECT_LT(took, 2s) << i;     // not the default 5 s
    } else {
      EXPECT_LT(took, 150ms);  // ejected: not tried
    }
  }
  EXPECT_EQ(gw.gw->upstream_health().ejected_now(), 1u);
}

TEST_F(GatewayTest, FailoverBeforeTheFirstToken) {
  remote_.set_faults({.error_status = 503});
  auto r = post(chat("gpt", "fail over please"));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(bj::parse(r.body).at("choices").at(0).at("message").at("content").as_string(), "backup says: fail over please");
  // Streaming: the primary dies after sending its headers but before a token.
  remote_.set_faults({.error_after_chunks = 0});
  auto s = post(chat("gpt", "stream fail over", true));
  EXPECT_EQ(sse_content(s.body), "backup says: stream fail over");
  auto recs = audit_records(2);
  ASSERT_GE(recs.size(), 2u);
  EXPECT_EQ(recs[0].at("fallback").as_string(), "backup/gpt-4o");
  EXPECT_EQ(recs[0].at("resolved").as_string(), "backup/gpt-4o");
  // A non-retryable upstream error is passed on, not failed over.
  remote_.set_faults({.error_status = 0});
  auto solo_fail = post(R"({"model":"solo","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(solo_fail.status, 200u);
}

TEST_F(GatewayTest, AfterTheFirstTokenAnErrorEndsTheStream) {
  remote_.set_faults({.error_after_chunks = 2});
  auto s = post(chat("solo", "break in the middle now", true));
  bool done = false, errored = false;
  std::string got = sse_content(s.body, nullptr, &done, &errored);
  EXPECT_EQ(got, "remote says:");
  EXPECT_TRUE(errored);
  EXPECT_FALSE(done);
  EXPECT_EQ(backup_.request_count(), 0u);
  // A dropped connection mid-stream is reported the same way.
  remote_.set_faults({.drop_after_chunks = 1});
  auto d = post(chat("solo", "drop me", true));
  errored = done = false;
  sse_content(d.body, nullptr, &done, &errored);
  EXPECT_TRUE(errored);
  EXPECT_FALSE(done);
  // Neither partial answer was cached.
  remote_.set_faults({});
  EXPECT_EQ(post(chat("solo", "drop me")).header("x-spectra-cache"), "miss");
}

TEST_F(GatewayTest, OverflowRejectKeepsPromptsInsideTheAccount) {
  local_.set_faults({.latency = 400ms});
  std::thread busy([&] { EXPECT_EQ(post(chat("llama", "occupy the only slot")).status, 200u); });
  while (local_.request_count() == 0) std::this_thread::yield();
  auto r = post(chat("llama", "no room"));
  busy.join();
  EXPECT_EQ(r.status, 429u);
  EXPECT_NE(r.body.find("capacity"), std::string::npos);
  EXPECT_FALSE(r.header("retry-after").empty());
  EXPECT_EQ(remote_.request_count(), 0u);  // nothing left the account
  auto recs = audit_records(2);
  ASSERT_EQ(recs.size(), 2u);
  for (const auto& rec : recs) EXPECT_EQ(rec.at("egress").as_string(), "none");
}

TEST_F(GatewayTest, OverflowSpillGoesToTheConfiguredRemote) {
  configure("spill");
  local_.set_faults({.latency = 400ms});
  std::thread busy([&] { post(chat("llama", "occupy")); });
  while (local_.request_count() == 0) std::this_thread::yield();
  auto r = post(chat("llama", "spill me"));
  busy.join();
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(bj::parse(r.body).at("choices").at(0).at("message").at("content").as_string(), "remote says: spill me");
  EXPECT_EQ(remote_.request_count(), 1u);
  bool saw = false;
  for (const auto& rec : audit_records(2)) {
    if (rec.at("resolved").as_string() == "remote/gpt-4o-mini") {
      EXPECT_EQ(rec.at("egress").as_string(), "127.0.0.1");
      EXPECT_EQ(rec.at("fallback").as_string(), "remote/gpt-4o-mini");
      saw = true;
    }
  }
  EXPECT_TRUE(saw);
}

// A local-only key's prompts stay in the account whatever the routes say:
// a remote model is refused, a full local model does not spill to the
// remote one, and a remote embedder is not asked (the semantic cache is
// skipped for it); every audit record says egress none.
TEST_F(GatewayTest, ALocalOnlyKeyNeverSendsAPromptOut) {
  configure("spill", "false", "true", R"(, "embedder": "backup/text-embedding-3-small")");
  auto remote = post(chat("gpt", "secret"), "sk-private");
  EXPECT_EQ(remote.status, 403u) << remote.body;
  EXPECT_NE(remote.body.find("local-only"), std::string::npos) << remote.body;
  http::Client c({"127.0.0.1", server_->port(), ""}, 10s);
  auto emb = c.send(http::Verb::post, "/v1/embeddings", R"({"model":"gpt","input":"secret"})",
                    {{"Authorization", "Bearer sk-private"}});
  ASSERT_TRUE(emb.ok());
  EXPECT_EQ(emb->status, 403u) << emb->body;

  auto listed = c.send(http::Verb::get, "/v1/models", "", {{"Authorization", "Bearer sk-private"}});
  ASSERT_TRUE(listed.ok());
  const bj::value models = bj::parse(listed->body);
  ASSERT_EQ(models.at("data").as_array().size(), 1u) << listed->body;  // only what it can be served
  EXPECT_EQ(models.at("data").at(0).at("id").as_string(), "llama");
  EXPECT_EQ(c.send(http::Verb::get, "/v1/models/remote%2Fgpt-4o", "", {{"Authorization", "Bearer sk-private"}})->status, 404u);

  auto first = post(chat("llama", "What is our revenue?"), "sk-private");
  ASSERT_EQ(first.status, 200u) << first.body;
  auto again = post(chat("llama", "what is our revenue?"), "sk-private");
  ASSERT_EQ(again.status, 200u) << again.body;
  EXPECT_EQ(again.header("x-spectra-cache"), "miss");  // no remote embedding, so no semantic lookup

  local_.set_faults({.latency = 400ms});
  const auto before = local_.request_count();
  std::thread busy([&] { EXPECT_EQ(post(chat("llama", "occupy", false, "busy"), "sk-private").status, 200u); });
  const bool taken = test::eventually([&] { return local_.request_count() > before; }, 5s);
  http::ClientResponse full = taken ? post(chat("llama", "no room for me"), "sk-private") : http::ClientResponse{};
  busy.join();
  ASSERT_TRUE(taken) << "the local model's only slot was never taken";
  EXPECT_EQ(full.status, 429u) << full.body;  // the spill target is remote: not for this key

  EXPECT_EQ(remote_.request_count(), 0u);
  EXPECT_EQ(backup_.request_count(), 0u);
  auto recs = audit_records(6);
  ASSERT_EQ(recs.size(), 6u);
  for (const auto& rec : recs) EXPECT_EQ(rec.at("egress").as_string(), "none") << bj::serialize(rec);
}

// A full local model's slot is free again by the time its client has the
// answer: a client asking again at once is never refused for capacity
// (the slot is given back before the answer's last byte, whole or streamed).
TEST_F(GatewayTest, AClientAskingAgainAtOnceFindsTheSlotFree) {
  for (int i = 0; i < 150; ++i) {
    auto r = post(chat("llama", "again " + std::to_string(i), /*stream=*/i % 2 == 1));
    ASSERT_EQ(r.status, 200u) << "request " << i << ": " << r.body;
  }
  EXPECT_EQ(local_.max_in_flight(), 1);
}

TEST_F(GatewayTest, OverflowQueueWaitsForTheSlot) {
  configure("queue");
  local_.set_faults({.latency = 200ms});
  std::thread busy([&] { post(chat("llama", "first")); });
  while (local_.request_count() == 0) std::this_thread::yield();
  auto r = post(chat("llama", "second waits"));
  busy.join();
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(local_.max_in_flight(), 1);
  EXPECT_EQ(remote_.request_count(), 0u);
}

TEST_F(GatewayTest, AuditChainDetectsAnEditedLine) {
  for (int i = 0; i < 5; ++i) post(chat("gpt", "audit " + std::to_string(i)));
  audit_records(5);
  std::string path = (dir_ / "audit.jsonl").string();
  auto v = verify_audit({path});
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.lines, 5u);
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  auto at = text.find("\"prompt_tokens\":2");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 17, "\"prompt_tokens\":0");
  std::ofstream(path) << text;
  auto bad = verify_audit({path});
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.line, 1u);
  // Removing a whole line (the second) breaks the chain at the line after it.
  std::string original = ss.str();
  std::size_t first_end = original.find('\n') + 1;
  std::size_t second_end = original.find('\n', first_end) + 1;
  std::ofstream(path) << original.substr(0, first_end) + original.substr(second_end);
  auto gap = verify_audit({path});
  EXPECT_FALSE(gap.ok);
  EXPECT_EQ(gap.line, 2u);
  EXPECT_NE(gap.reason.find("chain broken"), std::string::npos);
}

TEST_F(GatewayTest, SemanticCacheHitsOnlyInsideItsPartition) {
  configure("", "false", "true");
  auto first = post(chat("gpt", "What is the capital of France?"));
  ASSERT_EQ(first.header("x-spectra-cache"), "miss") << first.body;
  // Same words, other case and spacing (the model is uncased): not an exact
  // hit, a semantic one.
  auto again = post(chat("gpt", "what is the capital of  France ?"));
  EXPECT_EQ(again.header("x-spectra-cache"), "semantic-hit") << again.body;
  EXPECT_EQ(bj::parse(again.body).at("choices").at(0).at("message").at("content").as_string(),
            "remote says: What is the capital of France?");
  EXPECT_EQ(remote_.request_count(), 1u);
  // A different question is a miss.
  EXPECT_EQ(post(chat("gpt", "How do I bake sourdough bread at home?")).header("x-spectra-cache"), "miss");
  // The same question under another system prompt, tenant, model or
  // conversation is never answered from this entry.
  EXPECT_EQ(post(chat("gpt", "what is the capital of  France ?", false, "Answer in French")).header("x-spectra-cache"), "miss");
  EXPECT_EQ(post(chat("gpt", "what is the capital of  France ?"), "sk-team-b").header("x-spectra-cache"), "miss");
  EXPECT_EQ(post(R"({"model":"remote/gpt-4o-mini","messages":[{"role":"user","content":"what is the capital of  France ?"}]})")
                .header("x-spectra-cache"), "miss");
  EXPECT_EQ(post(R"({"model":"gpt","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"},{"role":"user","content":"what is the capital of  France ?"}]})")
                .header("x-spectra-cache"), "miss");
  auto t = gw_->meter().totals("team-a", "remote", "gpt-4o");
  EXPECT_EQ(t.semantic_hits, 1);
}

TEST_F(GatewayTest, SemanticCacheWithAProviderEmbedderNamesItsEgress) {
  // The chat goes to the in-account vLLM model, the embedding of the prompt
  // to an OpenAI-compatible provider: the prompt has left the account, and
  // the audit record must say so.
  configure("", "false", "true", R"(, "embedder": "backup/text-embedding-3-small")");
  auto first = post(chat("llama", "What is the capital of France?"));
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(first.header("x-spectra-cache"), "miss");
  EXPECT_EQ(local_.request_count(), 1u);
  EXPECT_EQ(backup_.request_count(), 1u);  // the embeddings call
  // Not the same bytes (an exact miss), the same embedding from this
  // provider's model: a semantic hit, answered without the chat upstream.
  auto again = post(chat("llama", "what is the capital of france?"));
  ASSERT_EQ(again.status, 200u) << again.body;
  EXPECT_EQ(again.header("x-spectra-cache"), "semantic-hit");
  EXPECT_EQ(bj::parse(again.body).at("choices").at(0).at("message").at("content").as_string(),
            bj::parse(first.body).at("choices").at(0).at("message").at("content").as_string());
  EXPECT_EQ(local_.request_count(), 1u);
  EXPECT_EQ(backup_.request_count(), 2u);
  EXPECT_EQ(remote_.request_count(), 0u);
  auto recs = audit_records(2);
  ASSERT_EQ(recs.size(), 2u);
  for (const auto& rec : recs) EXPECT_EQ(rec.at("egress").as_string(), "127.0.0.1") << bj::serialize(rec);
  // The embedding calls are metered on the key, under the embeddings model.
  auto t = gw_->meter().totals("team-a", "backup", "text-embedding-3-small");
  EXPECT_EQ(t.requests, 2);
  EXPECT_EQ(t.prompt_tokens, 2 * fakes::fake_word_count("What is the capital of France?"));
  // The same words in another partition (another tenant) stay a miss.
  EXPECT_EQ(post(chat("llama", "what is the capital of france?"), "sk-team-b").header("x-spectra-cache"), "miss");
}

// The embedder's provider is walked like chat's: a dead replica of a vLLM
// embeddings pool costs a retry on the other replica (never a semantic
// miss), and is ejected after three failures like any other endpoint.
TEST_F(GatewayTest, TheEmbedderBalancesOverItsProvidersEndpoints) {
  const std::string ai = R"({"enabled": true,
      "providers": [{"name": "remote", "kind": "openai", "base_url": ")" + remote_.base_url() + R"("},
        {"name": "pool", "kind": "vllm", "endpoints": ["http://127.0.0.1:1/v1", ")" + backup_.base_url() + R"("]}],
      "routes": [{"alias": "solo", "target": "remote/gpt-4o"}],
      "virtual_keys": [{"name": "team-a", "key": "sk-team-a"}],
      "cache": {"exact_enabled": true, "semantic_enabled": true, "semantic_threshold": 0.97,
                "embedder": "pool/text-embedding-3-small"}})";
  SecondGateway gw(pool_, clock_, dir_, ai);
  ASSERT_TRUE(gw.started);
  const std::vector<std::string> questions = {"What is the capital of France?", "How tall is Mount Everest?",
                                              "Who wrote The Odyssey?", "When did the Berlin Wall fall?"};
  for (const auto& q : questions) {
    // The fake's embeddings depend only on the text's length: each question
    // in its own partition (system prompt) so that none answers another.
    auto first = gw.post(chat("solo", q, false, q));
    ASSERT_EQ(first.status, 200u) << first.body;
    EXPECT_EQ(first.header("x-spectra-cache"), "miss");
    std::string lower = q;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto again = gw.post(chat("solo", lower, false, q));
    ASSERT_EQ(again.status, 200u) << again.body;
    EXPECT_EQ(again.header("x-spectra-cache"), "semantic-hit") << q;
  }
  EXPECT_EQ(remote_.request_count(), questions.size());
  EXPECT_EQ(backup_.request_count(), 2 * questions.size());  // every embedding answered by the live replica
  EXPECT_EQ(gw.gw->upstream_health().ejected_now(), 1u);
  auto st = gw.gw->upstream_health().state("pool", "http://127.0.0.1:1/v1");
  ASSERT_TRUE(st.has_value());
  EXPECT_GT(st->ejected_for.count(), 0);
}

TEST_F(GatewayTest, AFailingEmbedderOnlySkipsTheSemanticCache) {
  configure("", "false", "true", R"(, "embedder": "dead/text-embedding-3-small")");
  auto r = post(chat("solo", "Is the embedder down?"));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("x-spectra-cache"), "miss");
  auto again = post(chat("solo", "is the embedder down?"));
  ASSERT_EQ(again.status, 200u) << again.body;
  EXPECT_EQ(again.header("x-spectra-cache"), "miss");
  EXPECT_EQ(remote_.request_count(), 2u);
  // Still an exact hit for the same bytes.
  EXPECT_EQ(post(chat("solo", "Is the embedder down?")).header("x-spectra-cache"), "hit");
}

// A fleet: two gateways on one Redis. An answer one of them got from the
// upstream is a hit on the other, and a Redis that goes away costs requests
// nothing but their hits.
TEST_F(GatewayTest, TwoGatewaysShareOneRedisCache) {
  auto fleet = start_fleet(R"(, "redis_timeout_ms": 200)");
  ASSERT_TRUE(fleet);
  testing::RedisServer& redis = fleet->redis;
  SecondGateway& second = *fleet->second;

  auto first = post(chat("gpt", "Shared across the fleet?"));
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(first.header("x-spectra-cache"), "miss");
  EXPECT_EQ(gw_->cache()->backend(), std::string("redis"));
  // The store is asynchronous: wait (bounded) until the entry is in Redis.
  test::eventually([&] { return redis.command({"DBSIZE"}) != ":0\r\n"; }, 5s);
  ASSERT_EQ(redis.command({"DBSIZE"}), ":1\r\n");
  auto other = second.post(chat("gpt", "Shared across the fleet?"));
  ASSERT_EQ(other.status, 200u) << other.body;
  EXPECT_EQ(other.header("x-spectra-cache"), "hit");
  EXPECT_EQ(other.body, first.body);
  EXPECT_EQ(remote_.request_count(), 1u);
  EXPECT_EQ(second.gw->meter().totals("team-a", "remote", "gpt-4o").exact_hits, 1);
  // Streamed from the shared entry as well.
  auto streamed = second.post(chat("gpt", "Shared across the fleet?", true));
  EXPECT_EQ(streamed.header("x-spectra-cache"), "hit");
  EXPECT_EQ(sse_content(streamed.body), bj::parse(first.body).at("choices").at(0).at("message").at("content").as_string());

  // Redis goes away: requests are answered from the upstream, as misses.
  redis.stop();
  auto without = second.post(chat("gpt", "Shared across the fleet?"));
  ASSERT_EQ(without.status, 200u) << without.body;
  EXPECT_EQ(without.header("x-spectra-cache"), "miss");
  EXPECT_EQ(remote_.request_count(), 2u);
  EXPECT_GE(second.gw->cache()->stats().errors, 1u);
}

// A key's RPM holds for the fleet: one request on each gateway uses up a
// limit of two, although each gateway alone has one left.
TEST_F(GatewayTest, RateLimitsHoldAcrossTheFleet) {
  auto fleet = start_fleet(R"(, "redis_timeout_ms": 500)");
  ASSERT_TRUE(fleet);
  testing::RedisServer& redis = fleet->redis;
  SecondGateway& second = *fleet->second;
  ASSERT_EQ(post(chat("gpt", "first", false), "sk-limited").status, 200u);
  ASSERT_EQ(second.post(chat("gpt", "second", false), "sk-limited").status, 200u);
  // Both counts reach Redis within a sync interval (250 ms) or two...
  // (The fixture's clock stands still: no minute boundary can move the window.)
  const auto minute = std::chrono::duration_cast<std::chrono::minutes>(clock_.system_now().time_since_epoch()).count();
  const std::string window = "spectra:ai:limit:limited:req:" + std::to_string(minute);
  test::eventually([&] { return redis.command({"GET", window}) == "$1\r\n2\r\n"; }, 5s);
  ASSERT_EQ(redis.command({"GET", window}), "$1\r\n2\r\n");
  // ...and this gateway reads the fleet's total at its next sync (check()
  // has no side effects: it only shows what the next request would get).
  auto fleet_limits = gw_->fleet_limits();
  ASSERT_TRUE(fleet_limits);
  EXPECT_TRUE(test::eventually([&] { return !fleet_limits->check("limited", 2, 0, 0).allowed; }, 5s));
  auto third = post(chat("gpt", "third", false), "sk-limited");
  EXPECT_EQ(third.status, 429u) << third.body;
  EXPECT_NE(third.body.find("across the fleet"), std::string::npos) << third.body;
  EXPECT_FALSE(third.header("retry-after").empty());
  EXPECT_EQ(third.header("x-ratelimit-remaining-requests"), "0");
  // A revision that leaves the Redis settings alone keeps the counter (and
  // its counts); one that changes them starts a new one on a new connection.
  gw_->configure(make_gateway_config(bj::parse(last_ai_).as_object()));
  EXPECT_EQ(gw_->fleet_limits(), fleet_limits);
  std::string slower = last_ai_;
  slower.replace(slower.find(R"("redis_timeout_ms": 500)"), 23, R"("redis_timeout_ms": 600)");
  gw_->configure(make_gateway_config(bj::parse(slower).as_object()));
  ASSERT_TRUE(gw_->fleet_limits());
  EXPECT_NE(gw_->fleet_limits(), fleet_limits);
}

// A provider's quota holds for the fleet: one request through each gateway
// uses up a quota of two, and the third goes to the route's fallback
// without the provider being asked.
TEST_F(GatewayTest, ProviderQuotasHoldAcrossTheFleet) {
  auto fleet = start_fleet(R"(, "redis_timeout_ms": 500)");
  ASSERT_TRUE(fleet);
  const std::string remote = R"("name": "remote", "kind": "openai", "base_url": ")" + remote_.base_url() + "\"";
  std::string ai = last_ai_;
  ai.replace(ai.find(remote), remote.size(), remote + R"(, "quotas": [{"model": "gpt-4o", "rpm": 2}])");
  gw_->configure(make_gateway_config(bj::parse(ai).as_object()));
  SecondGateway& second = *fleet->second;
  second.gw->configure(make_gateway_config(bj::parse(ai).as_object()));
  ASSERT_EQ(post(chat("gpt", "first")).header("x-spectra-provider"), "remote");
  ASSERT_EQ(second.post(chat("gpt", "second")).header("x-spectra-provider"), "remote");
  const auto minute = std::chrono::duration_cast<std::chrono::minutes>(clock_.system_now().time_since_epoch()).count();
  const std::string window = "spectra:ai:limit:quota:remote/gpt-4o:req:" + std::to_string(minute);
  EXPECT_TRUE(test::eventually([&] { return fleet->redis.command({"GET", window}) == "$1\r\n2\r\n"; }, 5s));
  auto fleet_limits = gw_->fleet_limits();
  ASSERT_TRUE(fleet_limits);
  EXPECT_TRUE(test::eventually([&] { return !fleet_limits->check("quota:remote/gpt-4o", 2, 0, 0).allowed; }, 5s));
  // What is left, on /metrics: the fleet's (none), not this gateway's (one).
  const std::string text = metrics_.render();
  EXPECT_NE(text.find(R"(spectra_ai_quota_remaining{provider="remote",model="gpt-4o",limit="rpm"} 0)"), std::string::npos) << text;
  auto third = post(chat("gpt", "third"));
  ASSERT_EQ(third.status, 200u) << third.body;
  EXPECT_EQ(third.header("x-spectra-provider"), "backup");
  EXPECT_EQ(remote_.request_count(), 2u);
}

// A key's end-user limit holds for the fleet: one request of alice through
// each gateway uses up her two a minute, and the third is refused although
// this gateway admitted her only once; bob is not held by her count.
TEST_F(GatewayTest, EndUserLimitsHoldAcrossTheFleet) {
  auto fleet = start_fleet(R"(, "redis_timeout_ms": 500)");
  ASSERT_TRUE(fleet);
  const std::string key = R"({"name": "team-a", "key": "sk-team-a")";
  std::string ai = last_ai_;
  ai.replace(ai.find(key), key.size(), key + R"(, "end_user_rpm": 2)");
  gw_->configure(make_gateway_config(bj::parse(ai).as_object()));
  SecondGateway& second = *fleet->second;
  second.gw->configure(make_gateway_config(bj::parse(ai).as_object()));
  auto ask = [](const std::string& user, const std::string& text) {
    auto body = bj::parse(chat("gpt", text)).as_object();
    body["user"] = user;
    return bj::serialize(body);
  };
  const auto minute = std::chrono::duration_cast<std::chrono::minutes>(clock_.system_now().time_since_epoch()).count();
  const std::string window = "spectra:ai:limit:user:team-a\nalice:req:" + std::to_string(minute);
  ASSERT_EQ(second.post(ask("alice", "one")).status, 200u);
  // (In Redis before this gateway's count goes, so that its push reads both.)
  ASSERT_TRUE(test::eventually([&] { return fleet->redis.command({"GET", window}) == "$1\r\n1\r\n"; }, 5s));
  ASSERT_EQ(post(ask("alice", "two")).status, 200u);
  ASSERT_TRUE(test::eventually([&] { return fleet->redis.command({"GET", window}) == "$1\r\n2\r\n"; }, 5s));
  auto fleet_limits = gw_->fleet_limits();
  ASSERT_TRUE(fleet_limits);
  ASSERT_TRUE(test::eventually([&] { return !fleet_limits->check_rate("user:team-a\nalice", 2, 0, true).allowed; }, 5s));
  auto third = post(ask("alice", "three"));
  EXPECT_EQ(third.status, 429u) << third.body;
  EXPECT_NE(third.body.find("end_user_rpm_exceeded"), std::string::npos) << third.body;
  EXPECT_NE(third.body.find("for end user 'alice' of key 'team-a' across the fleet"), std::string::npos) << third.body;
  EXPECT_EQ(post(ask("bob", "three")).status, 200u);
  EXPECT_EQ(remote_.request_count(), 3u);
  EXPECT_EQ(fleet->redis.command({"KEYS", "spectra:ai:spend:user:*"}), "*0\r\n");
}

// With the Redis backend the fleet shares its semantic index: a paraphrase
// of what this gateway answered is a semantic hit on the other one, served
// from the shared answer without the upstream.
TEST_F(GatewayTest, TheFleetSharesItsSemanticIndex) {
  auto fleet = start_fleet("", "true");
  ASSERT_TRUE(fleet);
  SecondGateway& second = *fleet->second;
  ASSERT_TRUE(gw_->semantic_share());
  auto first = post(chat("gpt", "What is the capital of France?"));
  ASSERT_EQ(first.header("x-spectra-cache"), "miss") << first.body;
  // Published within a sync interval (250 ms), read by the other gateway at its next one.
  auto share = second.gw->semantic_share();
  ASSERT_TRUE(share);
  ASSERT_TRUE(test::eventually([&] { return share->stats().received >= 1; }, 5s));
  auto again = second.post(chat("gpt", "what is the capital of  France ?"));
  ASSERT_EQ(again.status, 200u) << again.body;
  EXPECT_EQ(again.header("x-spectra-cache"), "semantic-hit") << again.body;
  EXPECT_EQ(bj::parse(again.body).at("choices").at(0).at("message").at("content").as_string(),
            "remote says: What is the capital of France?");
  EXPECT_EQ(remote_.request_count(), 1u);
  // Partitions hold across the fleet too: another system prompt is a miss.
  EXPECT_EQ(second.post(chat("gpt", "what is the capital of  France ?", false, "Answer in French"))
                .header("x-spectra-cache"), "miss");
  EXPECT_EQ(gw_->semantic_share()->stats().rejected, 0u);
}

// Without fleet limits (redis_fleet_limits: false) each gateway counts alone.
TEST_F(GatewayTest, FleetLimitsCanBeTurnedOff) {
  auto fleet = start_fleet(R"(, "redis_fleet_limits": false)");
  ASSERT_TRUE(fleet);
  testing::RedisServer& redis = fleet->redis;
  SecondGateway& second = *fleet->second;
  EXPECT_FALSE(gw_->fleet_limits());
  EXPECT_FALSE(second.gw->fleet_limits());
  ASSERT_EQ(post(chat("gpt", "one", false), "sk-limited").status, 200u);
  ASSERT_EQ(second.post(chat("gpt", "two", false), "sk-limited").status, 200u);
  EXPECT_EQ(post(chat("gpt", "three", false), "sk-limited").status, 200u);
  EXPECT_EQ(redis.command({"KEYS", "spectra:ai:limit:*"}), "*0\r\n");
}

TEST_F(GatewayTest, BuiltinEmbeddingsNeverLeaveTheProcess) {
  http::Client c({"127.0.0.1", server_->port(), ""}, 30s);
  auto r = c.send(http::Verb::post, "/v1/embeddings",
                  R"({"model":"local/all-minilm-l6-v2","input":["in-account embeddings","second text"]})",
                  {{"Authorization", "Bearer sk-team-a"}});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 200u) << r->body;
  auto j = bj::parse(r->body);
  ASSERT_EQ(j.at("data").as_array().size(), 2u);
  EXPECT_EQ(j.at("data").at(0).at("embedding").as_array().size(), 384u);
  // Usage counts the WordPiece tokens the model read: "in-account" alone is
  // three ("in", "-", "account"), so more than the five words.
  EXPECT_GT(j.at("usage").at("prompt_tokens").as_int64(), 5);
  auto one = c.send(http::Verb::post, "/v1/embeddings", R"({"model":"local/all-minilm-l6-v2","input":"second text"})",
                    {{"Authorization", "Bearer sk-team-a"}});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(bj::parse(one->body).at("usage").at("prompt_tokens").as_int64(), 2);
  EXPECT_EQ(remote_.request_count() + backup_.request_count() + local_.request_count(), 0u);
}

// A streamed request over a raw socket, timing when the first event (a
// body line starting "data: " with content) arrives.
struct TimedStream {
  std::string raw;
  std::chrono::steady_clock::duration first_event{}, total{};
};
TimedStream timed_stream(std::uint16_t port, const std::string& path, const std::string& body, const std::string& marker) {
  std::string req = "POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-team-a\r\n"
                    "Content-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
  TimedStream out;
  auto t0 = std::chrono::steady_clock::now();
  spectra::testing::RawTcpOptions opt;
  opt.on_read = [&](const std::string& so_far) {
    if (out.first_event.count() == 0 && so_far.find(marker) != std::string::npos) {
      out.first_event = std::chrono::steady_clock::now() - t0;
    }
  };
  out.raw = spectra::testing::raw_tcp_exchange(port, req, opt);
  out.total = std::chrono::steady_clock::now() - t0;
  return out;
}

// Tokens reach the client as the upstream sends them, not when it is done.
TEST_F(GatewayTest, StreamedTokensAreForwardedAsTheyArrive) {
  remote_.set_faults({.chunk_interval = 150ms});
  // "remote says: one two three": five words, four 150 ms gaps after the first.
  auto s = timed_stream(server_->port(), "/v1/chat/completions", chat("solo", "one two three", true), "\"content\":\"remote\"");
  EXPECT_NE(s.raw.find("HTTP/1.1 200"), std::string::npos) << s.raw;
  EXPECT_NE(s.raw.find("data: [DONE]"), std::string::npos) << s.raw;
  EXPECT_GE(s.total, 550ms);
  EXPECT_GT(s.first_event.count(), 0);
  EXPECT_LT(s.first_event, s.total - 300ms) << "the first token waited for later ones";
}

// /v1/completions with stream: the upstream's events are relayed as they
// arrive, and the usage event is metered on the way.
TEST_F(GatewayTest, StreamedPassThroughIsRelayedAsItArrives) {
  remote_.set_faults({.chunk_interval = 150ms});
  std::string body = R"({"model":"solo","prompt":"one two three","stream":true,"stream_options":{"include_usage":true}})";
  auto s = timed_stream(server_->port(), "/v1/completions", body, "data: ");
  // "remote completes: one two three": five words, four 150 ms gaps.
  EXPECT_GE(s.total, 550ms);
  EXPECT_GT(s.first_event.count(), 0);
  EXPECT_LT(s.first_event, s.total - 300ms) << "the first event waited for the whole answer";
  EXPECT_NE(s.raw.find("HTTP/1.1 200"), std::string::npos) << s.raw;
  EXPECT_NE(s.raw.find("text/event-stream"), std::string::npos);
  EXPECT_NE(s.raw.find("\"text\":\" three\""), std::string::npos) << s.raw;
  EXPECT_NE(s.raw.find("data: [DONE]"), std::string::npos);
  auto t = gw_->meter().totals("team-a", "remote", "gpt-4o");
  EXPECT_EQ(t.prompt_tokens, 3);
  EXPECT_EQ(t.completion_tokens, 5);
}


// The Responses API (/v1/responses) passes through to OpenAI-compatible
// providers, whole and as its typed event stream; its usage (input/output
// tokens, in the answer or in response.completed) is metered exactly, and
// local-only keys and providers that do not speak it are refused.
TEST_F(GatewayTest, ResponsesApiPassesThroughAndIsMetered) {
  http::Client c({"127.0.0.1", server_->port(), ""}, 10s);
  const std::vector<std::pair<std::string, std::string>> auth{{"Authorization", "Bearer sk-team-a"}};
  // instructions (2 words) + input (3 words); reply "remote says: one two three" (5 words)
  auto whole = c.send(http::Verb::post, "/v1/responses",
                      R"({"model":"solo","instructions":"be brief","input":"one two three"})", auth);
  ASSERT_TRUE(whole.ok());
  ASSERT_EQ(whole->status, 200u) << whole->body;
  auto answer = bj::parse(whole->body);
  EXPECT_EQ(answer.at("object"), "response");
  EXPECT_EQ(answer.at("model"), "gpt-4o");  // the resolved model went upstream
  EXPECT_EQ(answer.at("output").at(0).at("content").at(0).at("text"), "remote says: one two three");
  auto t = gw_->meter().totals("team-a", "remote", "gpt-4o");
  EXPECT_EQ(t.prompt_tokens, 5);
  EXPECT_EQ(t.completion_tokens, 5);

  remote_.set_faults({.chunk_interval = 100ms});
  auto s = timed_stream(server_->port(), "/v1/responses",
                        R"({"model":"solo","input":[{"role":"user","content":"four five"}],"stream":true})",
                        "response.output_text.delta");
  EXPECT_NE(s.raw.find("HTTP/1.1 200"), std::string::npos) << s.raw;
  EXPECT_NE(s.raw.find("event: response.completed"), std::string::npos) << s.raw;
  EXPECT_LT(s.first_event, s.total - 200ms) << "the first delta waited for the whole answer";
  t = gw_->meter().totals("team-a", "remote", "gpt-4o");
  EXPECT_EQ(t.prompt_tokens, 5 + 2);      // "four five"
  EXPECT_EQ(t.completion_tokens, 5 + 4);  // "remote says: four five"
  EXPECT_EQ(t.requests, 2);

  auto local_only = c.send(http::Verb::post, "/v1/responses", R"({"model":"solo","input":"x"})",
                           {{"Authorization", "Bearer sk-private"}});
  ASSERT_TRUE(local_only.ok());
  EXPECT_EQ(local_only->status, 403u) << local_only->body;
  EXPECT_EQ(remote_.request_count(), 2u);
}

// A stored Responses API answer is read, listed and deleted by id through
// the endpoint that made it, and only by the key that made it: another key
// (which shares the provider's credentials) gets the same 404 as an
// unknown id, and nothing reaches the upstream. A background response is
// refused (its usage could not be metered).
TEST_F(GatewayTest, StoredResponsesAreServedOnlyToTheKeyThatMadeThem) {
  http::Client c({"127.0.0.1", server_->port(), ""}, 10s);
  const std::vector<std::pair<std::string, std::string>> a{{"Authorization", "Bearer sk-team-a"}},
      b{{"Authorization", "Bearer sk-team-b"}};
  auto made = c.send(http::Verb::post, "/v1/responses", R"({"model":"solo","input":"keep this"})", a);
  ASSERT_TRUE(made.ok());
  ASSERT_EQ(made->status, 200u) << made->body;
  const std::string id(bj::parse(made->body).at("id").as_string());
  auto streamed = c.send(http::Verb::post, "/v1/responses", R"({"model":"solo","input":"and this","stream":true})", a);
  ASSERT_TRUE(streamed.ok());
  const auto at = streamed->body.find("\"id\":\"resp_");
  ASSERT_NE(at, std::string::npos) << streamed->body;
  const std::string streamed_id = streamed->body.substr(at + 6, streamed->body.find('"', at + 6) - at - 6);
  // A stream is metered after its last byte went out: wait (bounded) for it.
  test::eventually([&] { return gw_->meter().totals("team-a", "remote", "gpt-4o").requests == 2; }, 5s);
  const auto metered = gw_->meter().totals("team-a", "remote", "gpt-4o");
  ASSERT_EQ(metered.prompt_tokens, 4);  // "keep this", "and this"

  auto got = c.send(http::Verb::get, "/v1/responses/" + id, "", a);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, 200u) << got->body;
  EXPECT_EQ(bj::parse(got->body).at("output").at(0).at("content").at(0).at("text"), "remote says: keep this");
  auto got_streamed = c.send(http::Verb::get, "/v1/responses/" + streamed_id, "", a);
  ASSERT_TRUE(got_streamed.ok());
  EXPECT_EQ(got_streamed->status, 200u) << streamed_id << " " << got_streamed->body;
  auto items = c.send(http::Verb::get, "/v1/responses/" + id + "/input_items?limit=10", "", a);
  ASSERT_TRUE(items.ok());
  EXPECT_EQ(items->status, 200u) << items->body;
  EXPECT_EQ(bj::parse(items->body).at("data").at(0).at("content").at(0).at("text"), "keep this");
  // Reading it again is not spending again.
  EXPECT_EQ(gw_->meter().totals("team-a", "remote", "gpt-4o").prompt_tokens, metered.prompt_tokens);

  const auto upstream_calls = remote_.request_count();
  for (const std::string& path : {"/v1/responses/" + id, "/v1/responses/" + id + "/input_items",
                                  std::string("/v1/responses/resp_unknown")}) {
    auto other = c.send(http::Verb::get, path, "", b);
    ASSERT_TRUE(other.ok());
    EXPECT_EQ(other->status, 404u) << path << " " << other->body;
    EXPECT_EQ(bj::parse(other->body).at("error").at("code"), "response_not_found");
  }
  auto other_delete = c.send(http::Verb::delete_, "/v1/responses/" + id, "", b);
  ASSERT_TRUE(other_delete.ok());
  EXPECT_EQ(other_delete->status, 404u);
  auto hostile = c.send(http::Verb::get, "/v1/responses/..%2F..%2Fmodels", "", a);  // decoded: never in a URL
  ASSERT_TRUE(hostile.ok());
  EXPECT_EQ(hostile->status, 404u) << hostile->body;
  EXPECT_EQ(remote_.request_count(), upstream_calls) << "a refused id reached the upstream";

  // The audit record of a read names the answer (five requests so far).
  const auto records = audit_records(5);
  EXPECT_TRUE(std::any_of(records.begin(), records.end(), [&](const bj::object& r) {
    return r.at("route") == bj::value("/responses/" + id + "/input_items") && r.at("key") == "team-a";
  }));
  auto deleted = c.send(http::Verb::delete_, "/v1/responses/" + id, "", a);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->status, 200u) << deleted->body;
  EXPECT_TRUE(bj::parse(deleted->body).at("deleted").as_bool());
  auto gone = c.send(http::Verb::get, "/v1/responses/" + id, "", a);
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->status, 404u);
  EXPECT_EQ(remote_.request_count(), upstream_calls + 1);  // the delete only

  // An answer not stored upstream (store: false) is not recorded either.
  const auto owners = gw_->response_owner_count();
  auto unstored = c.send(http::Verb::post, "/v1/responses", R"({"model":"solo","input":"x","store":false})", a);
  ASSERT_TRUE(unstored.ok());
  ASSERT_EQ(unstored->status, 200u);
  EXPECT_EQ(gw_->response_owner_count(), owners);
  auto missing = c.send(http::Verb::get, "/v1/responses/" + std::string(bj::parse(unstored->body).at("id").as_string()), "", a);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404u);

  auto background = c.send(http::Verb::post, "/v1/responses", R"({"model":"solo","input":"x","background":true})", a);
  ASSERT_TRUE(background.ok());
  EXPECT_EQ(background->status, 400u);
  EXPECT_EQ(bj::parse(background->body).at("error").at("param"), "background");
  auto conversation = c.send(http::Verb::post, "/v1/responses", R"({"model":"solo","input":"x","conversation":"conv_1"})", a);
  ASSERT_TRUE(conversation.ok());
  EXPECT_EQ(conversation->status, 400u);
  EXPECT_EQ(bj::parse(conversation->body).at("error").at("param"), "conversation");
  EXPECT_EQ(remote_.request_count(), upstream_calls + 2);  // the delete and the unstored answer
}

// With the Redis backend, a response made through one gateway of the fleet
// is found through another (and still only for its key).
TEST_F(GatewayTest, StoredResponsesAreFoundAcrossTheFleet) {
  auto fleet = start_fleet(R"(, "redis_timeout_ms": 500)");
  ASSERT_TRUE(fleet);
  http::Client c({"127.0.0.1", server_->port(), ""}, 10s);
  auto made = c.send(http::Verb::post, "/v1/responses", R"({"model":"solo","input":"fleet wide"})",
                     {{"Authorization", "Bearer sk-team-a"}});
  ASSERT_TRUE(made.ok());
  ASSERT_EQ(made->status, 200u) << made->body;
  const std::string id(bj::parse(made->body).at("id").as_string());
  http::Client other({"127.0.0.1", fleet->second->server->port(), ""}, 10s);
  // The record is written to Redis asynchronously: wait (bounded) for it.
  test::eventually([&] { return fleet->redis.command({"EXISTS", "spectra:ai:cache:response-owner:" + id}) == ":1\r\n"; }, 5s);
  ASSERT_EQ(fleet->redis.command({"EXISTS", "spectra:ai:cache:response-owner:" + id}), ":1\r\n");
  ASSERT_EQ(fleet->redis.command({"GET", "spectra:ai:cache:response-owner:" + id}),
            "$" + std::to_string(("team-a\nremote\n" + remote_.base_url()).size()) + "\r\nteam-a\nremote\n" + remote_.base_url() + "\r\n");
  auto got = other.send(http::Verb::get, "/v1/responses/" + id, "", {{"Authorization", "Bearer sk-team-a"}});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, 200u) << got->body;
  auto refused = other.send(http::Verb::get, "/v1/responses/" + id, "", {{"Authorization", "Bearer sk-team-b"}});
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 404u) << refused->body;
  // A record in Redis that does not decode is no record.
  fleet->redis.command({"SET", "spectra:ai:cache:response-owner:resp_garbled", "team-a remote"});
  auto garbled = other.send(http::Verb::get, "/v1/responses/resp_garbled", "", {{"Authorization", "Bearer sk-team-a"}});
  ASSERT_TRUE(garbled.ok());
  EXPECT_EQ(garbled->status, 404u) << garbled->body;
}

// A Responses call that continues another (previous_response_id) goes to the
// vLLM replica that holds that state, not the next in the rotation, and
// only for the key that made it (another key's continuation would read the
// first key's conversation).
TEST_F(GatewayTest, PreviousResponseIdPinsTheReplicaAndTheKey) {
  const std::string ai = R"({"enabled": true,
      "providers": [{"name": "pool", "kind": "vllm", "endpoints": [")" + backup_.base_url() + R"(", ")" +
                         local_.base_url() + R"("]}],
      "routes": [{"alias": "pool", "target": "pool/llama-3"}],
      "virtual_keys": [{"name": "team-a", "key": "sk-team-a"}, {"name": "team-b", "key": "sk-team-b"}],
      "cache": {"exact_enabled": false}})";
  SecondGateway gw(pool_, clock_, dir_, ai);
  ASSERT_TRUE(gw.started);
  http::Client c({"127.0.0.1", gw.server->port(), ""}, 10s);
  const std::vector<std::pair<std::string, std::string>> a{{"Authorization", "Bearer sk-team-a"}};
  auto first = c.send(http::Verb::post, "/v1/responses", R"({"model":"pool","input":"start"})", a);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->status, 200u) << first->body;
  const std::string id(bj::parse(first->body).at("id").as_string());
  fakes::FakeOpenAi& holder = backup_.request_count() == 1 ? backup_ : local_;
  ASSERT_EQ(holder.request_count(), 1u);
  const std::string follow = R"({"model":"pool","input":"go on","previous_response_id":")" + id + R"("})";
  for (int i = 0; i < 4; ++i) {
    auto r = c.send(http::Verb::post, "/v1/responses", follow, a);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200u) << r->body;
  }
  EXPECT_EQ(holder.request_count(), 5u) << "a continuation left the replica holding its state";
  EXPECT_EQ(backup_.request_count() + local_.request_count(), 5u);

  // Another key's answer (or one never made) is not continued, counted or
  // compacted: each would read the conversation it holds.
  for (const char* path : {"/v1/responses", "/v1/responses/input_tokens", "/v1/responses/compact"}) {
    for (const std::string key : {"sk-team-b", "sk-team-a"}) {
      const std::string prev = key == "sk-team-b" ? id : "resp_never_made";
      auto r = c.send(http::Verb::post, path, R"({"model":"pool","input":"x","previous_response_id":")" + prev + R"("})",
                      {{"Authorization", "Bearer " + key}});
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->status, 404u) << path << " " << r->body;
      EXPECT_EQ(bj::parse(r->body).at("error").at("param"), "previous_response_id");
    }
  }
  EXPECT_EQ(backup_.request_count() + local_.request_count(), 5u);
  // The key that made it may compact it, on the replica that holds it.
  auto compacted = c.send(http::Verb::post, "/v1/responses/compact", follow, a);
  ASSERT_TRUE(compacted.ok());
  EXPECT_EQ(compacted->status, 200u) << compacted->body;
  EXPECT_EQ(holder.request_count(), 6u);
}

// With replica_affinity: conversation every turn of a conversation goes to
// the replica that served its first (vLLM's prefix cache there holds the
// turns so far), different conversations spread over the replicas, and a
// conversation whose replica fails is answered by another for that turn.
TEST_F(GatewayTest, ConversationsStayOnTheirReplica) {
  const std::string ai = R"({"enabled": true,
      "providers": [{"name": "pool", "kind": "vllm", "endpoints": [")" + backup_.base_url() + R"(", ")" +
                         local_.base_url() + R"("], "replica_affinity": "conversation"}],
      "routes": [{"alias": "pool", "target": "pool/llama-3"}],
      "virtual_keys": [{"name": "team-a", "key": "sk-team-a"}],
      "cache": {"exact_enabled": false}})";
  SecondGateway gw(pool_, clock_, dir_, ai);
  ASSERT_TRUE(gw.started);
  // One turn more of a conversation; the replica that answered ("backup",
  // "local": the fakes answer "<name> says: ...").
  auto next_turn = [&](bj::array& messages, const std::string& text) {
    messages.push_back(bj::object{{"role", "user"}, {"content", text}});
    auto r = gw.post(bj::serialize(bj::object{{"model", "pool"}, {"messages", messages}}));
    EXPECT_EQ(r.status, 200u) << r.body;
    if (r.status != 200) return std::string();
    const std::string answer(bj::parse(r.body).at("choices").at(0).at("message").at("content").as_string());
    messages.push_back(bj::object{{"role", "assistant"}, {"content", answer}});
    return answer.substr(0, answer.find(' '));
  };
  std::vector<bj::array> conversations;
  std::vector<std::string> replica_of;
  std::map<std::string, int> conversations_on;
  for (int i = 0; i < 20; ++i) {
    bj::array messages{bj::object{{"role", "system"}, {"content", "You are terse."}}};
    const std::string first = next_turn(messages, "question number " + std::to_string(i));
    for (int t = 1; t < 4; ++t) {
      EXPECT_EQ(next_turn(messages, "and then " + std::to_string(t)), first) << "conversation " << i << " turn " << t;
    }
    conversations.push_back(std::move(messages));
    replica_of.push_back(first);
    ++conversations_on[first];
  }
  EXPECT_EQ(conversations_on.size(), 2u) << "conversations spread over both replicas";
  EXPECT_EQ(backup_.request_count() + local_.request_count(), 80u);

  // The first conversation's replica fails: that turn is answered by the
  // other, the others' turns are not moved; back up, the conversation is
  // back on its replica.
  fakes::FakeOpenAi& failing = replica_of[0] == "backup" ? backup_ : local_;
  failing.set_faults({.error_status = 503});
  EXPECT_NE(next_turn(conversations[0], "during the failure"), replica_of[0]);
  for (std::size_t i = 1; i < conversations.size(); ++i) {
    if (replica_of[i] != replica_of[0]) {
      EXPECT_EQ(next_turn(conversations[i], "meanwhile"), replica_of[i]);
    }
  }
  failing.set_faults({});
  EXPECT_EQ(next_turn(conversations[0], "after it"), replica_of[0]);
}

// The exact cache serves a repeated Responses API call as it serves chat
// (metered as a hit; the answer, and its id, are the first call's), and
// replays it either way: a whole answer as the typed event stream, a
// streamed one (kept from its response.completed) as the whole object. A
// continuation, no-cache or an answer not stored upstream go upstream.
TEST_F(GatewayTest, ResponsesApiAnswersAreCachedLikeChat) {
  http::Client c({"127.0.0.1", server_->port(), ""}, 10s);
  const std::vector<std::pair<std::string, std::string>> a{{"Authorization", "Bearer sk-team-a"}};
  const std::string ask = R"({"model":"solo","input":"cache me please"})";
  auto first = c.send(http::Verb::post, "/v1/responses", ask, a);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->status, 200u) << first->body;
  EXPECT_EQ(first->header("x-spectra-cache"), "miss");
  test::eventually([&] { return gw_->cache()->stats().entries == 1; }, 5s);
  auto second = c.send(http::Verb::post, "/v1/responses", ask, a);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->status, 200u);
  EXPECT_EQ(second->header("x-spectra-cache"), "hit");
  EXPECT_EQ(bj::parse(second->body), bj::parse(first->body));
  auto replayed = c.send(http::Verb::post, "/v1/responses", R"({"model":"solo","input":"cache me please","stream":true})", a);
  ASSERT_TRUE(replayed.ok());
  EXPECT_EQ(replayed->header("x-spectra-cache"), "hit");
  EXPECT_NE(replayed->body.find("event: response.output_text.delta"), std::string::npos) << replayed->body;
  EXPECT_NE(replayed->body.find("\"delta\":\"remote says: cache me please\""), std::string::npos) << replayed->body;
  EXPECT_NE(replayed->body.find("event: response.completed"), std::string::npos);
  EXPECT_EQ(remote_.request_count(), 1u);
  const auto t = gw_->meter().totals("team-a", "remote", "gpt-4o");
  EXPECT_EQ(t.exact_hits, 2);
  EXPECT_EQ(t.saved_tokens, 2 * (3 + 5));  // "cache me please" in, "remote says: cache me please" out

  // Streamed first: kept from its response.completed, answered whole next.
  auto streamed = c.send(http::Verb::post, "/v1/responses", R"({"model":"solo","input":"stream first","stream":true})", a);
  ASSERT_TRUE(streamed.ok());
  EXPECT_EQ(streamed->header("x-spectra-cache"), "miss");
  test::eventually([&] { return gw_->cache()->stats().entries == 2; }, 5s);
  auto whole = c.send(http::Verb::post, "/v1/responses", R"({"model":"solo","input":"stream first"})", a);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->header("x-spectra-cache"), "hit");
  EXPECT_EQ(bj::parse(whole->body).at("output").at(0).at("content").at(0).at("text"), "remote says: stream first");
  EXPECT_EQ(remote_.request_count(), 2u);

  // Not from the cache: a chat call with the same words, a continuation,
  // no-cache, and an answer not stored upstream.
  const std::string id(bj::parse(first->body).at("id").as_string());
  for (const auto& [path, body, extra] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"/v1/chat/completions", R"({"model":"solo","messages":[{"role":"user","content":"cache me please"}]})", ""},
           {"/v1/responses", R"({"model":"solo","input":"cache me please","previous_response_id":")" + id + R"("})", ""},
           {"/v1/responses", ask, "no-cache"},
           {"/v1/responses", R"({"model":"solo","input":"cache me please","store":false})", ""}}) {
    auto headers = a;
    if (!extra.empty()) headers.emplace_back("Cache-Control", extra);
    const auto before = remote_.request_count();
    auto r = c.send(http::Verb::post, path, body, headers);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200u) << body << " " << r->body;
    EXPECT_NE(r->header("x-spectra-cache"), "hit") << body;
    EXPECT_EQ(remote_.request_count(), before + 1) << body;
  }
}

}  // namespace
}  // namespace spectra::ai
