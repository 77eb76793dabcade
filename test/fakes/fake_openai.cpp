#include "fake_openai.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <sstream>

#include "common/crypto.h"

namespace spectra::fakes {

namespace asio = boost::asio;
namespace bj = boost::json;
using http::HttpStatus;

std::int64_t fake_word_count(std::string_view text) {
  std::int64_t n = 0;
  bool in = false;
  for (char c : text) {
    bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (!space && !in) ++n;
    in = !space;
  }
  return n;
}

namespace {

std::string content_text(const bj::value& content) {
  if (content.is_string()) return std::string(content.get_string());
  std::string out;
  if (content.is_array()) {
    for (const auto& p : content.get_array()) {
      if (p.is_object() && p.get_object().contains("text") && p.at("text").is_string()) {
        out += (out.empty() ? "" : " ") + std::string(p.at("text").get_string());
      }
    }
  }
  return out;
}

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  if (d.count() <= 0) co_return;
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

http::Response error_json(unsigned status, const std::string& type, const std::string& msg) {
  bj::object err{{"error", bj::object{{"message", msg}, {"type", type}, {"param", nullptr}, {"code", nullptr}}}};
  return http::json_response(static_cast<HttpStatus>(status), err);
}

}  // namespace

FakeOpenAi::FakeOpenAi(std::string name, std::string api_key) : name_(std::move(name)), api_key_(std::move(api_key)) {}

FakeOpenAi::~FakeOpenAi() { stop(); }

Status FakeOpenAi::start(std::uint16_t port) {
  http::ServerOptions o;
  o.name = name_;
  o.port = port;
  o.body_limit = 16 << 20;
  o.max_requests_per_connection = 1'000'000;
  server_ = std::make_unique<http::Server>(pool_, o, [this](http::Exchange& ex) { return handle(ex); }, nullptr);
  if (Status s = server_->start(); !s.ok()) return s;
  pool_.start();
  return {};
}

void FakeOpenAi::stop() {
  if (!server_) return;
  server_->stop(std::chrono::milliseconds(500));
  pool_.stop();
  pool_.join();
  server_.reset();
}

std::uint16_t FakeOpenAi::port() const { return server_ ? server_->port() : 0; }
std::string FakeOpenAi::base_url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/v1"; }

void FakeOpenAi::set_faults(FakeOpenAiFaults f) {
  std::lock_guard lock(mu_);
  faults_ = f;
}

std::string FakeOpenAi::last_body() const {
  std::lock_guard lock(mu_);
  return last_body_;
}

namespace {

// vLLM's tokenizer route (at the root, not under /v1): a chat request's
// messages counted as the chat prompt is, one token per word.
http::Response tokenize(std::string_view body) {
  boost::system::error_code ec;
  bj::value req = bj::parse(body, ec);
  const bj::value* messages = !ec && req.is_object() ? req.as_object().if_contains("messages") : nullptr;
  if (!messages || !messages->is_array() || !req.as_object().contains("model")) {
    return error_json(400, "BadRequestError", "model and messages (or prompt) are required");
  }
  std::int64_t count = 0;
  for (const auto& m : messages->as_array()) {
    if (m.is_object() && m.as_object().contains("content") && !m.at("content").is_null()) {
      count += fake_word_count(content_text(m.at("content")));
    }
  }
  bj::array tokens;
  for (std::int64_t i = 0; i < count; ++i) tokens.push_back(i + 1);
  return http::json_response(http::HttpStatus::ok, bj::object{{"count", count}, {"max_model_len", 32768}, {"tokens", tokens}});
}

}  // namespace

asio::awaitable<void> FakeOpenAi::handle(http::Exchange& ex) {
  if (ex.request().target() == "/health" && ex.request().method() == http::Verb::get) {
    ++health_requests_;
    unsigned status = 200;
    {
      std::lock_guard lock(mu_);
      status = faults_.health_status;
    }
    co_await ex.respond(http::text_response(static_cast<http::HttpStatus>(status), "", "text/plain"));
    co_return;
  }
  ++requests_;
  struct InFlight {
    std::atomic<std::int64_t>& n;
    ~InFlight() { --n; }
  } guard{in_flight_};
  auto now = ++in_flight_;
  for (auto m = max_in_flight_.load(); now > m && !max_in_flight_.compare_exchange_weak(m, now);) {
  }
  {
    std::lock_guard lock(mu_);
    last_body_ = ex.request().body();
  }
  std::string target(ex.request().target());
  const bool authorized = api_key_.empty() || ex.request()[http::bhttp::field::authorization] == "Bearer " + api_key_;
  if (authorized && (target == "/v1/embeddings" || target == "/v1/completions")) {
    FakeOpenAiFaults f;
    {
      std::lock_guard lock(mu_);
      f = faults_;
    }
    const bool failed = co_await injected_failure(ex, f);
    if (failed) co_return;
  }
  if (!authorized) {
    http::Response res = error_json(401, "invalid_request_error", "Incorrect API key provided.");
    co_await ex.respond(std::move(res));
  } else if (target == "/v1/chat/completions" && ex.request().method() == http::Verb::post) {
    co_await chat(ex);
  } else if (target == "/tokenize" && ex.request().method() == http::Verb::post) {
    http::Response r = tokenize(ex.request().body());
    co_await ex.respond(std::move(r));
  } else if (target == "/v1/responses" && ex.request().method() == http::Verb::post) {
    co_await responses(ex);
  } else if ((target == "/v1/responses/input_tokens" || target == "/v1/responses/compact") &&
             ex.request().method() == http::Verb::post) {
    co_await response_tools(ex);
  } else if (target.starts_with("/v1/responses/")) {
    co_await stored_response(ex);
  } else if (target == "/v1/embeddings") {
    auto body = bj::parse(ex.request().body());
    std::string input = body.as_object().contains("input") && body.at("input").is_string() ? std::string(body.at("input").as_string()) : "";
    bj::array vec;
    std::string raw;  // float32 little-endian, for encoding_format=base64 (the SDK's default)
    for (int i = 0; i < 8; ++i) {
      float f = static_cast<float>((input.size() * 31 + static_cast<std::size_t>(i) * 7) % 100) / 100.0f;
      vec.push_back(static_cast<double>(f));
      raw.append(reinterpret_cast<const char*>(&f), sizeof f);
    }
    bool b64 = body.as_object().contains("encoding_format") && body.at("encoding_format") == "base64";
    bj::value embedding = vec;
    if (b64) embedding = crypto::base64(raw);
    bj::object res{{"object", "list"},
                   {"data", bj::array{bj::object{{"object", "embedding"}, {"index", 0}, {"embedding", embedding}}}},
                   {"model", body.at("model")},
                   {"usage", bj::object{{"prompt_tokens", fake_word_count(input)}, {"total_tokens", fake_word_count(input)}}}};
    http::Response r = http::json_response(HttpStatus::ok, res);
    co_await ex.respond(std::move(r));
  } else if (target == "/v1/completions") {
    auto body = bj::parse(ex.request().body());
    std::string prompt = body.at("prompt").is_string() ? std::string(body.at("prompt").as_string()) : "";
    std::string reply = name_ + " completes: " + prompt;
    // max_tokens cuts the reply at that many words, finish_reason "length".
    std::string finish = "stop";
    if (const auto* max = body.as_object().if_contains("max_tokens"); max && max->is_int64() && max->get_int64() >= 0 &&
                                                                       fake_word_count(reply) > max->get_int64()) {
      std::istringstream words(reply);
      std::string w, cut;
      for (std::int64_t n = 0; n < max->get_int64() && words >> w; ++n) cut += (cut.empty() ? "" : " ") + w;
      reply = cut;
      finish = "length";
    }
    if (body.as_object().contains("stream") && body.at("stream").is_bool() && body.at("stream").as_bool()) {
      co_await stream_completion(ex, body.as_object(), prompt, reply, finish);
      co_return;
    }
    bj::object res{{"id", "cmpl-fake"}, {"object", "text_completion"}, {"created", 1700000000}, {"model", body.at("model")},
                   {"choices", bj::array{bj::object{{"text", reply}, {"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish}}}},
                   {"usage", bj::object{{"prompt_tokens", fake_word_count(prompt)}, {"completion_tokens", fake_word_count(reply)},
                                        {"total_tokens", fake_word_count(prompt) + fake_word_count(reply)}}}};
    http::Response r = http::json_response(HttpStatus::ok, res);
    co_await ex.respond(std::move(r));
  } else if (target == "/v1/models") {
    bj::object res{{"object", "list"}, {"data", bj::array{bj::object{{"id", "fake-model"}, {"object", "model"}, {"owned_by", name_}}}}};
    http::Response r = http::json_response(HttpStatus::ok, res);
    co_await ex.respond(std::move(r));
  } else {
    http::Response r = error_json(404, "invalid_request_error", "Unknown request URL: " + target);
    co_await ex.respond(std::move(r));
  }
}

asio::awaitable<void> FakeOpenAi::stream_completion(http::Exchange& ex, const bj::object& body, const std::string& prompt,
                                                    const std::string& reply, const std::string& finish) {
  FakeOpenAiFaults f;
  {
    std::lock_guard lock(mu_);
    f = faults_;
  }
  const bj::value model = body.at("model");
  auto event = [&](bj::array choices) {
    bj::object c{{"id", "cmpl-fake"}, {"object", "text_completion"}, {"created", 1700000000}, {"model", model},
                 {"choices", std::move(choices)}};
    return "data: " + bj::serialize(c) + "\n\n";
  };
  http::bhttp::response<http::bhttp::empty_body> head{HttpStatus::ok, 11};
  head.set(http::bhttp::field::content_type, "text/event-stream");
  if (!co_await ex.begin_stream(std::move(head))) co_return;
  std::istringstream words(reply);
  std::string w;
  bool first = true;
  while (words >> w) {
    if (!first) co_await pause(f.chunk_interval);
    std::string ev = event(bj::array{bj::object{{"text", (first ? "" : " ") + w}, {"index", 0}, {"logprobs", nullptr},
                                                {"finish_reason", nullptr}}});
    first = false;
    if (!co_await ex.write(ev)) co_return;
  }
  std::string last = event(bj::array{bj::object{{"text", ""}, {"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish}}});
  const auto* so = body.if_contains("stream_options");
  if (so && so->is_object() && so->as_object().contains("include_usage") && so->at("include_usage") == true) {
    bj::object u{{"id", "cmpl-fake"}, {"object", "text_completion"}, {"created", 1700000000}, {"model", model},
                 {"choices", bj::array()},
                 {"usage", bj::object{{"prompt_tokens", fake_word_count(prompt)}, {"completion_tokens", fake_word_count(reply)},
                                      {"total_tokens", fake_word_count(prompt) + fake_word_count(reply)}}}};
    last += "data: " + bj::serialize(u) + "\n\n";
  }
  last += "data: [DONE]\n\n";
  co_await ex.finish(last);
}

asio::awaitable<bool> FakeOpenAi::injected_failure(http::Exchange& ex, const FakeOpenAiFaults& f) {
  co_await pause(f.latency);
  if (!f.error_status) co_return false;
  std::string type = f.error_status == 429 ? "rate_limit_error" : "server_error";
  http::Response r = error_json(f.error_status, type, "injected upstream failure");
  co_await ex.respond(std::move(r));
  co_return true;
}

asio::awaitable<void> FakeOpenAi::chat(http::Exchange& ex) {
  FakeOpenAiFaults f;
  {
    std::lock_guard lock(mu_);
    f = faults_;
  }
  if (co_await injected_failure(ex, f)) co_return;
  boost::system::error_code ec;
  bj::value parsed = bj::parse(ex.request().body(), ec);
  if (ec || !parsed.is_object() || !parsed.as_object().contains("messages")) {
    http::Response r = error_json(400, "invalid_request_error", "We could not parse the JSON body of your request.");
    co_await ex.respond(std::move(r));
    co_return;
  }
  const auto& req = parsed.as_object();
  std::string model = req.contains("model") && req.at("model").is_string() ? std::string(req.at("model").as_string()) : "";
  std::int64_t prompt = 0;
  std::string last_user, tool_result;
  bool last_is_tool = false;
  for (const auto& m : req.at("messages").as_array()) {
    std::string text = m.as_object().contains("content") && !m.at("content").is_null() ? content_text(m.at("content")) : "";
    prompt += fake_word_count(text);
    last_is_tool = m.at("role") == "tool";
    if (m.at("role") == "user") last_user = text;
    if (last_is_tool) tool_result = text;
  }
  bool tools = req.contains("tools") && req.at("tools").is_array() && !req.at("tools").as_array().empty();
  // After a tool result the model answers in text, as real models do.
  bool tool_call = tools && !last_is_tool && last_user.find("weather") != std::string::npos;
  std::string reply = last_is_tool ? name_ + " says: the tool returned " + tool_result : name_ + " says: " + last_user;
  std::string tool_name = tool_call ? std::string(req.at("tools").at(0).at("function").at("name").as_string()) : "";
  std::string args = R"({"location":"Paris"})";
  // A reasoning model (vLLM with a reasoning parser) puts its thinking in
  // a field of its own before the answer: "deepseek-r1" models in
  // reasoning_content, "gpt-oss" models in reasoning; counted as completion.
  // "qwen3" models think in reasoning_content too, unless the request's
  // chat_template_kwargs turn enable_thinking off (Qwen3's chat template
  // then writes an empty think block, and the parser finds no reasoning).
  const bj::value* kwargs = req.if_contains("chat_template_kwargs");
  const bj::value* enable = kwargs && kwargs->is_object() ? kwargs->get_object().if_contains("enable_thinking") : nullptr;
  const bool qwen3_thinks = model.find("qwen3") != std::string::npos && !(enable && enable->is_bool() && !enable->get_bool());
  const char* reasoning_field = model.find("r1") != std::string::npos || qwen3_thinks ? "reasoning_content"
                                : model.find("oss") != std::string::npos              ? "reasoning"
                                                                                      : nullptr;
  const std::string reasoning = reasoning_field ? name_ + " thinks about: " + last_user : "";
  std::int64_t completion = (tool_call ? fake_word_count(args) : fake_word_count(reply)) + fake_word_count(reasoning);
  bj::object usage{{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}};
  bool stream = req.contains("stream") && req.at("stream").is_bool() && req.at("stream").as_bool();
  std::string id = "chatcmpl-" + std::to_string(requests_.load());
  if (!stream) {
    bj::object msg{{"role", "assistant"}, {"content", tool_call ? bj::value(nullptr) : bj::value(reply)}, {"refusal", nullptr}};
    if (tool_call) {
      msg["tool_calls"] = bj::array{bj::object{{"id", "call_1"}, {"type", "function"},
                                               {"function", bj::object{{"name", tool_name}, {"arguments", args}}}}};
    }
    if (reasoning_field) msg[reasoning_field] = reasoning;
    bj::object res{{"id", id}, {"object", "chat.completion"}, {"created", 1700000000}, {"model", model},
                   {"choices", bj::array{bj::object{{"index", 0}, {"message", msg}, {"logprobs", nullptr},
                                                    {"finish_reason", tool_call ? "tool_calls" : "stop"}}}},
                   {"usage", usage}, {"system_fingerprint", "fp_fake"}};
    http::Response r = http::json_response(HttpStatus::ok, res);
    co_await ex.respond(std::move(r));
    co_return;
  }
  bool include_usage = req.contains("stream_options") && req.at("stream_options").is_object() &&
                       req.at("stream_options").as_object().contains("include_usage") &&
                       req.at("stream_options").at("include_usage").as_bool();
  auto chunk = [&](bj::object delta, bj::value finish) {
    bj::object c{{"id", id}, {"object", "chat.completion.chunk"}, {"created", 1700000000}, {"model", model},
                 {"system_fingerprint", "fp_fake"},
                 {"choices", bj::array{bj::object{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", std::move(finish)}}}}};
    return "data: " + bj::serialize(c) + "\n\n";
  };
  http::bhttp::response<http::bhttp::empty_body> head{HttpStatus::ok, 11};
  head.set(http::bhttp::field::content_type, "text/event-stream");
  if (!co_await ex.begin_stream(std::move(head))) co_return;
  std::string first = chunk(bj::object{{"role", "assistant"}, {"content", ""}, {"refusal", nullptr}}, nullptr);
  if (!co_await ex.write(first)) co_return;
  std::vector<std::string> pieces;
  if (reasoning_field) {
    std::istringstream words(reasoning);
    std::string w;
    for (bool firstw = true; words >> w; firstw = false) {
      pieces.push_back(chunk(bj::object{{reasoning_field, (firstw ? "" : " ") + w}}, nullptr));
    }
  }
  if (tool_call) {
    pieces.push_back(chunk(bj::object{{"tool_calls", bj::array{bj::object{{"index", 0}, {"id", "call_1"}, {"type", "function"},
                                                                         {"function", bj::object{{"name", tool_name}, {"arguments", ""}}}}}}}, nullptr));
    for (std::size_t i = 0; i < args.size(); i += 6) {
      pieces.push_back(chunk(bj::object{{"tool_calls", bj::array{bj::object{{"index", 0}, {"function", bj::object{{"arguments", args.substr(i, 6)}}}}}}}, nullptr));
    }
  } else {
    std::istringstream words(reply);
    std::string w;
    bool firstw = true;
    while (words >> w) {
      pieces.push_back(chunk(bj::object{{"content", (firstw ? "" : " ") + w}}, nullptr));
      firstw = false;
    }
  }
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    if (f.error_after_chunks >= 0 && static_cast<int>(i) == f.error_after_chunks) {
      std::string ev = "data: " + bj::serialize(bj::object{{"error", bj::object{{"message", "injected mid-stream failure"}, {"type", "server_error"}, {"param", nullptr}, {"code", nullptr}}}}) + "\n\n";
      (void)co_await ex.write(ev);
      co_await ex.finish();
      co_return;
    }
    if (f.drop_after_chunks >= 0 && static_cast<int>(i) == f.drop_after_chunks) {
      throw std::runtime_error("injected connection drop");  // the server closes a half-sent stream
    }
    co_await pause(f.chunk_interval);
    if (!co_await ex.write(pieces[i])) co_return;
  }
  std::string last = chunk(bj::object{}, tool_call ? "tool_calls" : "stop");
  if (include_usage) {
    bj::object u{{"id", id}, {"object", "chat.completion.chunk"}, {"created", 1700000000}, {"model", model},
                 {"choices", bj::array()}, {"usage", usage}};
    last += "data: " + bj::serialize(u) + "\n\n";
  }
  last += "data: [DONE]\n\n";
  if (co_await ex.write(last)) co_await ex.finish();
}

}  // namespace spectra::fakes
