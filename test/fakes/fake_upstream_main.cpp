// fake-upstream: runs the protocol-faithful fake LLM upstreams on loopback
// for tests and benchmarks that drive the real spectrad binary (the openai
// npm SDK suite, bench/). Prints one JSON line with the base URLs, then
// serves until SIGTERM/SIGINT or until standard input closes.
//
// Flags:
//   --openai-port N     fixed port for the "openai" fake (default: ephemeral)
//   --fixed-answer B    also serve a fixed-answer OpenAI-compatible upstream
//                       ("fixed" in the JSON line) whose reply has B bytes of
//                       content: the same pre-rendered completion, or SSE
//                       chunk sequence, for every /v1/chat/completions call.
//                       For load tests, where the upstream must cost as little
//                       as possible and answer the same way every time.
//   --fixed-port N      port for it (default: ephemeral)
//   --fixed-threads N   I/O threads for it (default 1)
#include <poll.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <iostream>
#include <optional>
#include <vector>

#include "fake_anthropic.h"
#include "fakes/fake_bedrock.h"
#include "fake_openai.h"

namespace {

using namespace spectra;
namespace bj = boost::json;

// Everything the fixed-answer upstream sends, rendered once at start-up.
struct FixedAnswer {
  std::string completion;            // the non-streamed JSON body
  std::string first;                 // SSE: the role chunk
  std::vector<std::string> pieces;   // SSE: content chunks, one write each
  std::string last, last_with_usage; // SSE: finish chunk (+ usage chunk) + [DONE]
};

FixedAnswer render_fixed(std::size_t bytes) {
  std::string text;
  static constexpr std::string_view kWords[] = {"alpha ", "bravo ", "charlie ", "delta ", "echo ", "foxtrot "};
  for (std::size_t i = 0; text.size() < bytes; ++i) text += kWords[i % 6];
  text.resize(bytes);
  std::int64_t completion_tokens = fakes::fake_word_count(text), prompt_tokens = 16;
  bj::object usage{{"prompt_tokens", prompt_tokens},
                   {"completion_tokens", completion_tokens},
                   {"total_tokens", prompt_tokens + completion_tokens}};
  const std::string id = "chatcmpl-fixed", model = "fixed-model";
  FixedAnswer a;
  bj::object msg{{"role", "assistant"}, {"content", text}, {"refusal", nullptr}};
  a.completion = bj::serialize(bj::object{
      {"id", id}, {"object", "chat.completion"}, {"created", 1700000000}, {"model", model},
      {"choices", bj::array{bj::object{{"index", 0}, {"message", msg}, {"logprobs", nullptr}, {"finish_reason", "stop"}}}},
      {"usage", usage}, {"system_fingerprint", "fp_fixed"}});
  auto chunk = [&](bj::object delta, bj::value finish) {
    bj::object c{{"id", id}, {"object", "chat.completion.chunk"}, {"created", 1700000000}, {"model", model},
                 {"system_fingerprint", "fp_fixed"},
                 {"choices", bj::array{bj::object{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr},
                                                  {"finish_reason", std::move(finish)}}}}};
    return "data: " + bj::serialize(c) + "\n\n";
  };
  a.first = chunk(bj::object{{"role", "assistant"}, {"content", ""}, {"refusal", nullptr}}, nullptr);
  constexpr std::size_t kPieces = 4;  // a few token-sized writes, like a real stream
  std::size_t step = (text.size() + kPieces - 1) / kPieces;
  for (std::size_t i = 0; i < text.size(); i += step) {
    a.pieces.push_back(chunk(bj::object{{"content", text.substr(i, step)}}, nullptr));
  }
  a.last = chunk(bj::object{}, "stop");
  bj::object u{{"id", id}, {"object", "chat.completion.chunk"}, {"created", 1700000000}, {"model", model},
               {"choices", bj::array()}, {"usage", usage}};
  a.last_with_usage = a.last + "data: " + bj::serialize(u) + "\n\n" + "data: [DONE]\n\n";
  a.last += "data: [DONE]\n\n";
  return a;
}

// True when the JSON text has "<name>": true at some level (no full parse:
// the fixed upstream must stay cheap; clients send compact JSON).
bool flag_true(std::string_view body, std::string_view name) {
  std::string quoted = "\"" + std::string(name) + "\"";
  for (auto pos = body.find(quoted); pos != std::string_view::npos; pos = body.find(quoted, pos + 1)) {
    auto i = pos + quoted.size();
    while (i < body.size() && (body[i] == ' ' || body[i] == ':')) ++i;
    if (body.substr(i, 4) == "true") return true;
  }
  return false;
}

http::asio::awaitable<void> serve_fixed(const FixedAnswer& a, http::Exchange& ex) {
  if (ex.request().method() != http::Verb::post || ex.request().target() != "/v1/chat/completions") {
    http::Response r = http::text_response(http::HttpStatus::not_found,
                                           R"({"error":{"message":"fixed upstream serves POST /v1/chat/completions only","type":"invalid_request_error","param":null,"code":null}})",
                                           "application/json");
    co_await ex.respond(std::move(r));
    co_return;
  }
  const std::string& body = ex.request().body();
  if (!flag_true(body, "stream")) {
    http::Response r = http::text_response(http::HttpStatus::ok, a.completion, "application/json");
    co_await ex.respond(std::move(r));
    co_return;
  }
  bool usage = flag_true(body, "include_usage");
  http::bhttp::response<http::bhttp::empty_body> head{http::HttpStatus::ok, 11};
  head.set(http::bhttp::field::content_type, "text/event-stream");
  if (!co_await ex.begin_stream(std::move(head))) co_return;
  if (!co_await ex.write(a.first)) co_return;
  for (const auto& p : a.pieces) {
    if (!co_await ex.write(p)) co_return;
  }
  if (co_await ex.write(usage ? a.last_with_usage : a.last)) co_await ex.finish();
}

// The fixed-answer upstream: its own pool and server, stopped in order.
class FixedUpstream {
 public:
  FixedUpstream(std::size_t bytes, std::size_t threads) : answer_(render_fixed(bytes)), pool_(threads) {}
  ~FixedUpstream() {
    if (!server_) return;
    server_->stop(std::chrono::milliseconds(500));
    pool_.stop();
    pool_.join();
    server_.reset();
  }
  Status start(std::uint16_t port) {
    http::ServerOptions o;
    o.name = "fixed";
    o.port = port;
    o.body_limit = 16 << 20;
    o.idle_timeout = std::chrono::seconds(120);
    o.max_connections = 100'000;
    o.max_requests_per_connection = 100'000'000;
    server_ = std::make_unique<http::Server>(pool_, o, [this](http::Exchange& ex) { return serve_fixed(answer_, ex); }, nullptr);
    if (Status s = server_->start(); !s.ok()) return s;
    pool_.start();
    return {};
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/v1"; }

 private:
  FixedAnswer answer_;
  http::IoPool pool_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace

int main(int argc, char** argv) {
  std::uint16_t openai_port = 0, fixed_port = 0;
  long fixed_bytes = -1, fixed_threads = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--openai-port" && has_value) openai_port = static_cast<std::uint16_t>(std::stoi(argv[++i]));
    else if (a == "--fixed-port" && has_value) fixed_port = static_cast<std::uint16_t>(std::stoi(argv[++i]));
    else if (a == "--fixed-answer" && has_value) fixed_bytes = std::stol(argv[++i]);
    else if (a == "--fixed-threads" && has_value) fixed_threads = std::stol(argv[++i]);
    else {
      std::cerr << "fake-upstream: unknown or incomplete flag " << a << "\n";
      return 2;
    }
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  fakes::FakeOpenAi openai("openai"), local("local"), remote_b("backup");
  if (!openai.start(openai_port).ok() || !local.start().ok() || !remote_b.start().ok()) {
    std::cerr << "fake-upstream: cannot listen\n";
    return 1;
  }
  fakes::FakeAnthropic anthropic;
  if (!anthropic.start().ok()) {
    std::cerr << "fake-upstream: cannot listen\n";
    return 1;
  }
  fakes::FakeBedrock bedrock;
  if (!bedrock.start().ok()) {
    std::cerr << "fake-upstream: cannot listen\n";
    return 1;
  }
  boost::json::object urls{{"anthropic", anthropic.base_url()},
                           {"anthropic_key", fakes::FakeAnthropicOptions{}.api_key},
                           {"bedrock", bedrock.base_url()},
                           {"bedrock_access_key_id", bedrock.options().access_key_id},
                           {"bedrock_secret_access_key", bedrock.options().secret_access_key},
                           {"bedrock_region", bedrock.options().region},
                           {"openai", openai.base_url()},
                           {"local", local.base_url()},
                           {"backup", remote_b.base_url()}};
  std::optional<FixedUpstream> fixed;
  if (fixed_bytes >= 0) {
    fixed.emplace(static_cast<std::size_t>(fixed_bytes), static_cast<std::size_t>(std::max(1L, fixed_threads)));
    if (Status s = fixed->start(fixed_port); !s.ok()) {
      std::cerr << "fake-upstream: cannot listen: " << s.to_string() << "\n";
      return 1;
    }
    urls["fixed"] = fixed->base_url();
  }
  std::cout << boost::json::serialize(urls) << std::endl;
  // Wait for a signal, or for the parent to close our stdin (so a test
  // runner that dies never leaves this process behind).
  struct stat st{};
  bool watch_stdin = ::fstat(0, &st) == 0 && S_ISFIFO(st.st_mode);
  for (;;) {
    pollfd p{0, POLLIN, 0};
    int r = watch_stdin ? ::poll(&p, 1, 200) : (::usleep(200'000), 0);
    if (r > 0) {
      char buf[256];
      if (::read(0, buf, sizeof buf) <= 0) break;
    }
    timespec zero{0, 0};
    if (sigtimedwait(&set, nullptr, &zero) > 0) break;
  }
  return 0;
}
