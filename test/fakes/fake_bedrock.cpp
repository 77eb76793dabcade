#include "fakes/fake_bedrock.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <stdexcept>

#include "aws/sigv4_canonical.h"
#include "common/crypto.h"
#include "common/json_util.h"
#include "fakes/fake_bedrock_replies.h"
#include "http/router.h"
#include "wire/eventstream.h"

namespace spectra::fakes {
namespace {

namespace asio = http::asio;
namespace bhttp = http::bhttp;
namespace es = wire::eventstream;

std::string request_id() {
  const std::string h = crypto::hex(crypto::random_bytes(16));
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

http::Response bedrock_error(unsigned status, std::string_view type, std::string_view message) {
  http::Response r{static_cast<http::HttpStatus>(status), 11};
  r.set(bhttp::field::content_type, "application/json");
  r.set("x-amzn-ErrorType",
        std::string(type) + ":http://internal.amazon.com/coral/com.amazon.bedrock/");
  r.set("x-amzn-RequestId", request_id());
  r.body() = bj::serialize(bj::object{{"message", message}});
  r.prepare_payload();
  return r;
}

http::Response injected_error(unsigned status) {
  if (status == 429) {
    return bedrock_error(429, "ThrottlingException",
                         "Too many requests, please wait before trying again.");
  }
  if (status == 503) {
    return bedrock_error(503, "ServiceUnavailableException",
                         "Bedrock is unable to process your request.");
  }
  if (status == 500) {
    return bedrock_error(500, "InternalServerException", "The server encountered an error.");
  }
  return bedrock_error(status, "FakeInjectedException", "injected error");
}

http::Response json_ok(const bj::object& body) {
  http::Response r{http::HttpStatus::ok, 11};
  r.set(bhttp::field::content_type, "application/json");
  r.set("x-amzn-RequestId", request_id());
  r.body() = bj::serialize(body);
  r.prepare_payload();
  return r;
}

std::string encode_frame(std::vector<es::Header> headers, std::string payload) {
  es::Message m;
  m.headers = std::move(headers);
  m.payload = std::move(payload);
  auto bytes = es::encode(m);
  if (!bytes.ok()) throw std::logic_error("fake bedrock: cannot encode a frame");
  return std::move(*bytes);
}

std::string event_frame(const StreamEvent& ev) {
  return encode_frame({{":event-type", ev.type},
                       {":content-type", std::string("application/json")},
                       {":message-type", std::string("event")}},
                      ev.payload);
}

std::string exception_frame(const std::string& type) {
  const std::string message = type == "throttlingException"
                                  ? "Too many requests, please wait before trying again."
                                  : "The model stream failed (injected by the fake).";
  return encode_frame({{":exception-type", type},
                       {":content-type", std::string("application/json")},
                       {":message-type", std::string("exception")}},
                      bj::serialize(bj::object{{"message", message}}));
}

asio::awaitable<void> wait_for(std::chrono::milliseconds d) {
  if (d.count() <= 0) co_return;
  auto exec = co_await asio::this_coro::executor;
  asio::steady_timer timer(exec, d);
  co_await timer.async_wait(asio::use_awaitable);
}

// Writes one frame as two HTTP chunks, so readers see frames cut anywhere.
asio::awaitable<bool> write_frame(http::Exchange& ex, const std::string& frame) {
  const std::string_view all(frame);
  const std::string_view first = all.substr(0, all.size() / 2);
  const std::string_view second = all.substr(all.size() / 2);
  const bool ok = co_await ex.write(first);
  if (!ok) co_return false;
  const bool ok2 = co_await ex.write(second);
  co_return ok2;
}

asio::awaitable<void> send_stream(http::Exchange& ex, const BedrockReply& reply,
                                  const FakeBedrockFaults& faults) {
  bhttp::response<bhttp::empty_body> head{http::HttpStatus::ok, 11};
  head.set(bhttp::field::content_type, "application/vnd.amazon.eventstream");
  head.set("x-amzn-RequestId", request_id());
  const bool started = co_await ex.begin_stream(std::move(head));
  if (!started) co_return;
  const std::vector<StreamEvent> events = stream_events(reply);
  int deltas = 0;
  for (const StreamEvent& ev : events) {
    const bool at_fault_point = ev.is_delta || ev.type == "messageStop";
    if (at_fault_point && faults.drop_after_deltas >= 0 && deltas >= faults.drop_after_deltas) {
      // The server closes a stream whose handler threw, without the last chunk.
      throw std::runtime_error("fake bedrock: dropping the connection (injected)");
    }
    if (at_fault_point && faults.exception_after_deltas >= 0 &&
        deltas >= faults.exception_after_deltas) {
      const std::string frame = exception_frame(faults.exception_type);
      const bool ok = co_await write_frame(ex, frame);
      if (ok) co_await ex.finish();
      co_return;
    }
    if (ev.is_delta) {
      ++deltas;
      co_await wait_for(faults.delta_interval);
    }
    const std::string frame = event_frame(ev);
    const bool ok = co_await write_frame(ex, frame);
    if (!ok) co_return;
  }
  co_await ex.finish();
}

// /model/{modelId}/{action} -> (decoded model id, action).
bool parse_route(std::string_view path, std::string* model, std::string* action) {
  constexpr std::string_view kPrefix = "/model/";
  if (path.substr(0, kPrefix.size()) != kPrefix) return false;
  const std::string_view rest = path.substr(kPrefix.size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0) return false;
  *action = std::string(rest.substr(slash + 1));
  // Percent-decoding without form encoding's '+': a path is not a form.
  *model = aws::sigv4::percent_decode(rest.substr(0, slash));
  return true;
}

// CountTokens: {"input": {"converse": {messages, system, toolConfig,
// additionalModelRequestFields}}} (an unknown key is refused, as Bedrock
// refuses extraneous keys) -> {"inputTokens": n}, counted as Converse
// would charge them. Like Bedrock, it counts for Claude models by their
// bare id only: Nova and inference profiles ("us.", "eu.", ...) are refused.
http::Response count_tokens(const std::string& model, const bj::object& body) {
  if (model.find("nova") != std::string::npos || model.find("anthropic.") != 0) {
    return bedrock_error(400, "ValidationException", "The provided model doesn't support counting tokens.");
  }
  const bj::value* input = body.if_contains("input");
  const bj::value* converse = input && input->is_object() ? input->get_object().if_contains("converse") : nullptr;
  if (!converse || !converse->is_object() || body.size() != 1 || input->get_object().size() != 1) {
    return bedrock_error(400, "ValidationException", "Malformed input request: input.converse is required");
  }
  for (const auto& kv : converse->get_object()) {
    const std::string_view k = kv.key();
    if (k != "messages" && k != "system" && k != "toolConfig" && k != "additionalModelRequestFields") {
      return bedrock_error(400, "ValidationException",
                           "Malformed input request: extraneous key [" + std::string(k) + "] is not permitted");
    }
  }
  auto reply = make_reply(converse->get_object(), model);
  if (!reply.ok()) return bedrock_error(400, "ValidationException", reply.status().message());
  return json_ok(bj::object{{"inputTokens", reply->input_tokens}});
}

http::Response titan_embedding(const std::string& model, const bj::object& body) {
  if (model.find("titan-embed") == std::string::npos) {
    return bedrock_error(400, "ValidationException",
                         "The fake serves InvokeModel for Titan text embeddings models only.");
  }
  const bj::value* text = body.if_contains("inputText");
  if (!text || !text->is_string() || text->get_string().empty()) {
    return bedrock_error(400, "ValidationException",
                         "Malformed input request: #: required key [inputText] not found");
  }
  const bool v2 = model.find("titan-embed-text-v2") != std::string::npos;
  std::size_t dims = v2 ? 1024 : 1536;
  if (const bj::value* d = body.if_contains("dimensions")) {
    if (!v2) {
      return bedrock_error(400, "ValidationException",
                           "Malformed input request: extraneous key [dimensions] is not permitted");
    }
    if (!d->is_int64() ||
        (d->get_int64() != 256 && d->get_int64() != 512 && d->get_int64() != 1024)) {
      return bedrock_error(400, "ValidationException",
                           "Malformed input request: dimensions must be 256, 512 or 1024");
    }
    dims = static_cast<std::size_t>(d->get_int64());
  }
  bj::array vec;
  for (double x : titan_vector(text->get_string(), dims)) vec.push_back(x);
  return json_ok(bj::object{{"embedding", std::move(vec)},
                            {"inputTextTokenCount", count_words(text->get_string())}});
}

}  // namespace

FakeBedrock::FakeBedrock(FakeBedrockOptions options) : options_(std::move(options)) {}

FakeBedrock::~FakeBedrock() { stop(); }

Status FakeBedrock::start() {
  http::ServerOptions so;
  so.name = "fake-bedrock";
  so.address = "127.0.0.1";
  so.port = 0;
  so.body_limit = 16u << 20;
  server_ = std::make_unique<http::Server>(
      pool_, so, [this](http::Exchange& ex) { return handle(ex); }, nullptr);
  if (Status s = server_->start(); !s.ok()) return s;
  pool_.start();
  running_ = true;
  return {};
}

void FakeBedrock::stop() {
  if (!running_) return;
  running_ = false;
  server_->stop(std::chrono::seconds(2));
  pool_.stop();
  pool_.join();
}

std::uint16_t FakeBedrock::port() const { return server_ ? server_->port() : 0; }

std::string FakeBedrock::base_url() const { return "http://127.0.0.1:" + std::to_string(port()); }

aws::sigv4::Credentials FakeBedrock::credentials() const {
  return {options_.access_key_id, options_.secret_access_key, options_.session_token};
}

void FakeBedrock::set_faults(FakeBedrockFaults faults) {
  std::lock_guard lock(mu_);
  faults_ = std::move(faults);
}

FakeBedrockFaults FakeBedrock::faults() const {
  std::lock_guard lock(mu_);
  return faults_;
}

std::vector<FakeBedrockRequest> FakeBedrock::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

asio::awaitable<void> FakeBedrock::handle(http::Exchange& ex) {
  request_count_.fetch_add(1);
  const http::Request& req = ex.request();
  const FakeBedrockFaults faults = this->faults();
  const std::optional<SignatureProblem> auth = check_signature(req, options_);
  {
    FakeBedrockRequest seen;
    seen.method = std::string(req.method_string());
    seen.target = std::string(req.target());
    for (const auto& f : req) seen.headers.emplace_back(f.name_string(), f.value());
    seen.body = req.body();
    seen.signature_ok = !auth;
    std::lock_guard lock(mu_);
    requests_.push_back(std::move(seen));
  }
  co_await wait_for(faults.latency);
  if (auth) {
    http::Response res = bedrock_error(403, auth->error_type, auth->message);
    co_await ex.respond(std::move(res));
    co_return;
  }
  std::string model, action;
  if (req.method() != http::Verb::post ||
      !parse_route(http::path_of(req.target()), &model, &action) ||
      (action != "converse" && action != "converse-stream" && action != "invoke" && action != "count-tokens")) {
    http::Response res = bedrock_error(404, "UnknownOperationException", "Unknown operation");
    co_await ex.respond(std::move(res));
    co_return;
  }
  if (faults.error_status != 0) {
    http::Response res = injected_error(faults.error_status);
    co_await ex.respond(std::move(res));
    co_return;
  }
  auto parsed = json::parse(req.body(), {16u << 20, 128});
  if (!parsed.ok() || !parsed->is_object()) {
    http::Response res = bedrock_error(400, "ValidationException", "Malformed input request");
    co_await ex.respond(std::move(res));
    co_return;
  }
  const bj::object& body = parsed->get_object();
  if (action == "count-tokens") {  // a foundation model's id only
    http::Response res = count_tokens(model, body);
    co_await ex.respond(std::move(res));
    co_return;
  }
  // An application inference profile runs the model it was made for.
  if (model.starts_with("arn:") && model.find(":application-inference-profile/") != std::string::npos) {
    auto it = options_.inference_profiles.find(model);
    if (it == options_.inference_profiles.end()) {
      http::Response res = bedrock_error(400, "ValidationException", "The provided model identifier is invalid.");
      co_await ex.respond(std::move(res));
      co_return;
    }
    model = it->second;
  }
  if (action == "invoke") {
    http::Response res = titan_embedding(model, body);
    co_await ex.respond(std::move(res));
    co_return;
  }
  auto reply = make_reply(body, model);
  if (reply.ok()) {
    if (Status guarded = apply_guardrail(body, action != "converse", options_.guardrails, *reply); !guarded.ok()) {
      reply = guarded;
    }
  }
  if (!reply.ok()) {
    http::Response res = bedrock_error(400, "ValidationException", reply.status().message());
    co_await ex.respond(std::move(res));
    co_return;
  }
  {
    std::lock_guard lock(mu_);
    apply_prompt_cache(*reply, cached_prefixes_, model);
  }
  if (action == "converse") {
    http::Response res = json_ok(converse_response(*reply));
    co_await ex.respond(std::move(res));
    co_return;
  }
  const BedrockReply& r = *reply;
  co_await send_stream(ex, r, faults);
}

}  // namespace spectra::fakes
