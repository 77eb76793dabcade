#include "fake_anthropic.h"

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <stdexcept>

#include "common/json_util.h"
#include "http/router.h"

namespace spectra::fakes {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace bj = boost::json;

namespace {

constexpr char kServerName[] = "fake-anthropic";
constexpr std::size_t kMaxLogged = 64;

// The http::Server closes a connection whose handler throws after the
// response head went out, without the terminating chunk: exactly a dropped
// upstream connection. (It logs the exception; that line is expected.)
struct DroppedByFault : std::runtime_error {
  DroppedByFault() : std::runtime_error("fake anthropic: connection dropped by fault injection") {}
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

http::Response json_answer(unsigned status, std::string body, const std::string& request_id) {
  http::Response res;
  res.version(11);
  res.result(status);
  if (status == 529) res.reason("Overloaded");  // not a status Beast knows by name
  res.set(bhttp::field::content_type, "application/json");
  res.set("request-id", request_id);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

http::Response error_answer(unsigned status, const std::string& type, const std::string& message,
                            const std::string& request_id) {
  anthropic::ApiError e{status, type, message};
  http::Response res = json_answer(status, anthropic::error_body(e, request_id), request_id);
  if (status == 429) res.set("retry-after", "1");
  if (status == 529) res.set("x-should-retry", "true");
  return res;
}

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  if (d.count() <= 0) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(d);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace

std::string RecordedRequest::header(std::string_view name) const {
  const std::string want = lower(name);
  for (const auto& [k, v] : headers) {
    if (k == want) return v;
  }
  return "";
}

FakeAnthropic::FakeAnthropic(FakeAnthropicOptions options) : options_(std::move(options)) {}

FakeAnthropic::~FakeAnthropic() { stop(); }

Status FakeAnthropic::start(std::uint16_t port) {
  std::lock_guard lock(mu_);
  if (running_) return Status(Code::kConflict, "fake anthropic already running");
  pool_ = std::make_unique<http::IoPool>(options_.threads);
  metrics_ = std::make_unique<metrics::Registry>();
  http::ServerOptions so;
  so.name = kServerName;
  so.address = options_.address;
  so.port = port;
  so.body_limit = 32u << 20;  // Anthropic's documented request size limit
  server_ = std::make_unique<http::Server>(
      *pool_, so, [this](http::Exchange& ex) { return handle(ex); }, metrics_.get());
  Status s = server_->start();
  if (!s.ok()) {
    server_.reset();
    pool_.reset();
    return s;
  }
  pool_->start();
  connections_base_ = 0;
  running_ = true;
  return {};
}

std::uint16_t FakeAnthropic::port() const {
  std::lock_guard lock(mu_);
  return server_ ? server_->port() : 0;
}

std::string FakeAnthropic::base_url() const {
  return "http://" + options_.address + ":" + std::to_string(port());
}

void FakeAnthropic::stop() {
  std::unique_ptr<http::Server> server;
  std::unique_ptr<http::IoPool> pool;
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
    running_ = false;
    server = std::move(server_);
    pool = std::move(pool_);
  }
  server->stop(std::chrono::seconds(1));
  pool->stop();
  pool->join();
  server.reset();  // its acceptor belongs to one of the pool's io_contexts
  pool.reset();
}

void FakeAnthropic::set_faults(const FakeAnthropicFaults& faults) {
  std::lock_guard lock(mu_);
  faults_ = faults;
}

FakeAnthropicFaults FakeAnthropic::faults() const {
  std::lock_guard lock(mu_);
  return faults_;
}

FakeAnthropicFaults FakeAnthropic::take_faults() {
  std::lock_guard lock(mu_);
  FakeAnthropicFaults snapshot = faults_;
  if (faults_.error_status != 0) {
    if (faults_.error_count == 0)
      snapshot.error_status = 0;
    else if (faults_.error_count > 0)
      --faults_.error_count;
  }
  return snapshot;
}

std::uint64_t FakeAnthropic::connections() const {
  std::lock_guard lock(mu_);
  if (!metrics_) return 0;
  std::uint64_t n = metrics_
                        ->counter("spectra_http_connections_accepted_total",
                                  "TCP connections accepted", {{"server", kServerName}})
                        .value();
  return n - connections_base_;
}

void FakeAnthropic::record(const http::Request& req) {
  RecordedRequest r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  for (const auto& f : req) r.headers.emplace_back(lower(f.name_string()), std::string(f.value()));
  r.body = req.body();
  std::lock_guard lock(mu_);
  log_.push_back(std::move(r));
  if (log_.size() > kMaxLogged) log_.erase(log_.begin());
}

std::vector<RecordedRequest> FakeAnthropic::recorded() const {
  std::lock_guard lock(mu_);
  return log_;
}

RecordedRequest FakeAnthropic::last_request() const {
  std::lock_guard lock(mu_);
  return log_.empty() ? RecordedRequest{} : log_.back();
}

void FakeAnthropic::reset_counters() {
  requests_.store(0);
  std::uint64_t accepted = 0;
  {
    std::lock_guard lock(mu_);
    log_.clear();
    if (metrics_) {
      accepted = metrics_
                     ->counter("spectra_http_connections_accepted_total",
                               "TCP connections accepted", {{"server", kServerName}})
                     .value();
    }
    connections_base_ = accepted;
  }
}

// Coroutines below take references only and build every response in a named
// local before co_await (GCC 12 pitfalls, see http/server.h).
asio::awaitable<void> FakeAnthropic::handle(http::Exchange& ex) {
  requests_.fetch_add(1);
  const http::Request& req = ex.request();
  record(req);
  const FakeAnthropicFaults faults = take_faults();
  const std::uint64_t seq = seq_.fetch_add(1) + 1;
  const std::string request_id = "req_fake_" + std::to_string(seq);
  co_await pause(faults.first_byte_delay);

  const bool count_tokens = http::path_of(req.target()) == "/v1/messages/count_tokens";
  if (http::path_of(req.target()) != "/v1/messages" && !count_tokens) {
    http::Response res = error_answer(404, "not_found_error", "Not found", request_id);
    co_await ex.respond(std::move(res));
    co_return;
  }
  if (req.method() != bhttp::verb::post) {
    http::Response res =
        error_answer(405, "invalid_request_error", "Method not allowed", request_id);
    co_await ex.respond(std::move(res));
    co_return;
  }
  if (req["x-api-key"] != options_.api_key) {
    http::Response res = error_answer(401, "authentication_error", "invalid x-api-key", request_id);
    co_await ex.respond(std::move(res));
    co_return;
  }
  if (req["anthropic-version"].empty()) {
    http::Response res = error_answer(400, "invalid_request_error",
                                      "anthropic-version: header is required", request_id);
    co_await ex.respond(std::move(res));
    co_return;
  }
  if (faults.error_status != 0) {
    const std::string type = anthropic::error_type_for_status(faults.error_status);
    const std::string message = faults.error_status == 529 ? "Overloaded" : "injected " + type;
    http::Response res = error_answer(faults.error_status, type, message, request_id);
    co_await ex.respond(std::move(res));
    co_return;
  }
  auto parsed = spectra::json::parse(req.body(), spectra::json::ParseLimits{32u << 20, 64});
  // count_tokens takes a message request without max_tokens and answers the
  // input_tokens that message would be charged.
  if (count_tokens && parsed.ok() && parsed->is_object() && !parsed->as_object().contains("max_tokens")) {
    parsed->as_object()["max_tokens"] = 1;
  }
  std::optional<anthropic::ApiError> invalid;
  if (!parsed.ok()) {
    invalid = anthropic::ApiError{400, "invalid_request_error",
                                  "invalid JSON body: " + parsed.status().message()};
  } else {
    invalid = anthropic::validate(*parsed);
  }
  if (invalid) {
    http::Response res = error_answer(invalid->status, invalid->type, invalid->message, request_id);
    co_await ex.respond(std::move(res));
    co_return;
  }
  const bj::object& body = parsed->as_object();
  const anthropic::CacheTokens cache{faults.cache_read_input_tokens,
                                     faults.cache_creation_input_tokens};
  const anthropic::Reply reply = anthropic::answer(body, seq, cache);
  if (count_tokens) {
    http::Response res = http::json_response(bhttp::status::ok, bj::object{{"input_tokens", reply.input_tokens}});
    co_await ex.respond(std::move(res));
    co_return;
  }
  const bj::value* stream_flag = body.if_contains("stream");
  if (stream_flag && stream_flag->as_bool()) {
    co_await stream(ex, reply, faults);
    co_return;
  }
  const std::string json = bj::serialize(anthropic::message_json(reply));
  if (faults.drop_after >= 0) {
    co_await drop_mid_body(ex, json);
    co_return;
  }
  http::Response res = json_answer(200, json, request_id);
  co_await ex.respond(std::move(res));
}

asio::awaitable<void> FakeAnthropic::stream(http::Exchange& ex, const anthropic::Reply& reply,
                                            const FakeAnthropicFaults& faults) {
  const std::vector<anthropic::StreamEvent> events = anthropic::stream_events(reply);
  bhttp::response<bhttp::empty_body> head{bhttp::status::ok, 11};
  head.set(bhttp::field::content_type, "text/event-stream; charset=utf-8");
  head.set(bhttp::field::cache_control, "no-cache");
  head.set("request-id", "req_" + reply.id);
  const bool began = co_await ex.begin_stream(std::move(head));
  if (!began) co_return;
  if (faults.drop_after == 0) throw DroppedByFault();
  const anthropic::StreamEvent error_ev = anthropic::error_event(
      faults.error_event_type,
      faults.error_event_type == "overloaded_error" ? "Overloaded" : "injected error");
  const std::string_view error_bytes = error_ev.bytes;
  if (faults.error_event_after == 0) {
    co_await ex.write(error_bytes);
    co_await ex.finish();
    co_return;
  }
  int deltas = 0;
  bool first = true;
  for (const anthropic::StreamEvent& ev : events) {
    if (!first) co_await pause(faults.event_delay);
    first = false;
    const std::string_view bytes = ev.bytes;
    const bool ok = co_await ex.write(bytes);
    if (!ok) co_return;
    if (!ev.is_delta) continue;
    ++deltas;
    if (faults.drop_after == deltas) throw DroppedByFault();
    if (faults.error_event_after == deltas) {
      co_await ex.write(error_bytes);
      co_await ex.finish();
      co_return;
    }
  }
  co_await ex.finish();
}

asio::awaitable<void> FakeAnthropic::drop_mid_body(http::Exchange& ex, const std::string& body) {
  bhttp::response<bhttp::empty_body> head{bhttp::status::ok, 11};
  head.set(bhttp::field::content_type, "application/json");
  const bool began = co_await ex.begin_stream(std::move(head));
  if (!began) co_return;
  const std::string_view half = std::string_view(body).substr(0, body.size() / 2);
  co_await ex.write(half);
  throw DroppedByFault();
}

}  // namespace spectra::fakes
