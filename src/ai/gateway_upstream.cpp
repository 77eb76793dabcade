// The upstream stage of the AI gateway: provider selection, overflow
// policies for local models, failover before the first token, streaming.
#include <boost/json/serialize.hpp>

#include "ai/chat_request.h"
#include "ai/endpoint_walk.h"
#include "ai/exact_cache.h"
#include "ai/gateway.h"
#include "ai/gateway_call.h"
#include "ai/openai_adapter.h"
#include "ai/upstream_client.h"
#include "common/crypto.h"
#include "common/json_util.h"
#include "common/log.h"
#include "wire/sse.h"

namespace spectra::ai {

namespace asio = boost::asio;
using http::HttpStatus;

namespace {

bool usage_only(const bj::object& chunk) {
  const auto* ch = chunk.if_contains("choices");
  return chunk.contains("usage") && (!ch || (ch->is_array() && ch->get_array().empty()));
}

// A chunk that carries part of the answer: content, a tool call, a refusal
// or the finish reason. The leading role-only chunk does not count, so an
// upstream that fails right after it can still be failed over.
bool substantive(const bj::object& chunk) {
  const auto* ch = chunk.if_contains("choices");
  if (!ch || !ch->is_array()) return false;
  for (const auto& c : ch->get_array()) {
    if (!c.is_object()) continue;
    const auto& co = c.get_object();
    if (const auto* f = co.if_contains("finish_reason"); f && !f->is_null()) return true;
    const auto* d = co.if_contains("delta");
    if (!d || !d->is_object()) continue;
    for (const char* k : {"content", "refusal"}) {
      const auto* v = d->get_object().if_contains(k);
      if (v && v->is_string() && !v->get_string().empty()) return true;
    }
    if (const auto* t = d->get_object().if_contains("tool_calls"); t && t->is_array() && !t->get_array().empty()) return true;
  }
  return false;
}

http::bhttp::response<http::bhttp::empty_body> stream_head(const std::string& cache_result, const std::string& provider) {
  http::bhttp::response<http::bhttp::empty_body> head{HttpStatus::ok, 11};
  head.set(http::bhttp::field::content_type, "text/event-stream");
  head.set(http::bhttp::field::cache_control, "no-cache");
  head.set("x-spectra-cache", cache_result);
  head.set("x-spectra-provider", provider);
  return head;
}

// The usage object of a pass-through answer or stream event: top-level in
// /v1/completions and /v1/embeddings answers and their usage chunk, inside
// "response" in a Responses API answer's terminal events
// (response.completed, .incomplete, .failed). Null until it is known.
const bj::value* passthrough_usage(const bj::value& v) {
  if (!v.is_object()) return nullptr;
  const bj::value* u = v.get_object().if_contains("usage");
  if (!u) {
    const bj::value* r = v.get_object().if_contains("response");
    if (r && r->is_object()) u = r->get_object().if_contains("usage");
  }
  return u && u->is_object() ? u : nullptr;
}

// A Responses API parameter the gateway refuses, or "": `background` (its
// usage would be known only when polled, after the key's limits and budget
// were checked) and `conversation` (a conversation is not recorded per
// key, so one key could continue another's).
std::string unsupported_responses_parameter(const bj::object& body) {
  const auto* bg = body.if_contains("background");
  if (bg && bg->is_bool() && bg->get_bool()) return "background";
  const auto* conv = body.if_contains("conversation");
  if (conv && !conv->is_null()) return "conversation";
  return "";
}

// Takes the usage an answer or a stream event carries, in the protocol the
// call speaks: Anthropic's (top-level, or in message_start's message;
// later events update earlier ones) or OpenAI's (passthrough_usage).
void take_usage(Gateway::Call& c, const bj::value& v) {
  if (!c.anthropic_api) {
    if (const bj::value* u = passthrough_usage(v)) read_openai_usage(*u, &c.usage);
    return;
  }
  if (!v.is_object()) return;
  const bj::value* u = v.get_object().if_contains("usage");
  if (const bj::value* m = v.get_object().if_contains("message"); !u && m && m->is_object()) u = m->get_object().if_contains("usage");
  if (!u || !u->is_object()) return;
  c.anthropic_usage.merge(u->get_object());
  c.usage = c.anthropic_usage.to_usage();
}

// Headers of a relayed answer that the client needs from the upstream: its
// request id (what the provider's support asks for) and, on a 429/503/529,
// how long to wait (the SDKs' retries honour it). Not the upstream's own
// rate-limit headers: they describe the provider account, not the key.
template <class Message>
void relay_headers(const http::bhttp::fields& upstream, Message& to) {
  for (const char* name : {"request-id", "x-request-id", "retry-after"}) {
    if (auto v = upstream[name]; !v.empty()) to.set(name, v);
  }
}

bj::object usage_json(const Usage& u) {
  bj::object o{{"prompt_tokens", u.prompt_tokens},
               {"completion_tokens", u.completion_tokens},
               {"total_tokens", u.prompt_tokens + u.completion_tokens}};
  if (u.cached_prompt_tokens > 0) o["prompt_tokens_details"] = bj::object{{"cached_tokens", u.cached_prompt_tokens}};
  return o;
}

}  // namespace

// Signs `req` for provider `p`, records where it goes (the audit's egress;
// calls to in-account providers leave it "none") and sends it on `call`,
// through the response header. Errors name the provider.
asio::awaitable<Status> Gateway::open_call(Call& c, const ProviderConfig& p, UpstreamRequest& req, UpstreamCall& call) {
  if (deps_.authorize) {
    if (Status s = deps_.authorize(p, req); !s.ok()) {
      co_return Status(s.code(), "cannot authorize the call to " + p.name + ": " + s.message());
    }
  }
  if (!p.local()) {
    // Every remote destination of the request is named (the semantic
    // cache's embedder and the chat upstream can be two).
    auto u = parse_url(req.url);
    std::string host = u.ok() ? u->host : req.url;
    if (c.egress == "none") {
      c.egress = host;
    } else if (("," + c.egress + ",").find("," + host + ",") == std::string::npos) {
      c.egress += "," + host;
    }
  }
  req.ca_file = p.ca_file;
  UpstreamTimeouts timeouts;
  timeouts.first_byte = std::chrono::milliseconds(p.timeout_ms);
  timeouts.connect = std::chrono::milliseconds(p.connect_timeout_ms);
  Status st = co_await call.start(req, timeouts);
  if (!st.ok()) co_return Status(st.code(), p.name + ": " + st.message());
  co_return Status();
}

// Each request in turn, through open_call, each answer read whole (at most
// `limit` bytes): their statuses and bodies, in order. Errors name the provider.
asio::awaitable<Status> Gateway::call_each(Call& c, const ProviderConfig& p, std::vector<UpstreamRequest>& requests,
                                           std::size_t limit, std::vector<std::pair<unsigned, std::string>>& answers) {
  answers.reserve(answers.size() + requests.size());
  for (auto& req : requests) {
    UpstreamCall call;
    Status st = co_await open_call(c, p, req, call);
    if (!st.ok()) co_return st;
    std::string body;
    Status rs = co_await call.read_all(body, limit);
    if (!rs.ok()) co_return Status(rs.code(), p.name + ": " + rs.message());
    answers.emplace_back(call.status(), std::move(body));
  }
  co_return Status();
}

asio::awaitable<bool> Gateway::upstream(Call& c) {
  const GatewayConfig& cfg = *c.cfg;
  const RouteConfig* route = nullptr;
  if (auto it = cfg.routes.find(c.requested_model); it != cfg.routes.end()) route = &it->second;
  std::vector<std::string> targets = c.targets;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    auto resolved = cfg.resolve(targets[i]);
    if (!resolved.ok()) {
      c.error = resolved.status().message();
      continue;
    }
    const ProviderConfig& p = *resolved->first;
    const std::string model = resolved->second;
    // An endpoint ejected after repeated failures is skipped while a later
    // target remains (it would only cost this request the failure first);
    // the last target is tried whatever its state.
    EndpointWalk walk(health_, rr_, p);
    if (walk.all_ejected() && i + 1 < targets.size()) {
      c.error = p.name + ": skipped: ejected after repeated failures";
      continue;
    }
    // Capacity of local models, and what to do when it is exhausted.
    if (!capacity_.try_acquire(p.name, p.max_concurrency)) {
      const OverflowConfig* ov = route ? &route->overflow : nullptr;
      std::string policy = ov ? ov->policy : "reject";
      const bool may_spill = ov && !ov->spill_to.empty() && (!c.key->local_only || cfg.in_account(ov->spill_to));
      if (policy == "spill" && may_spill && i + 1 == targets.size()) {
        targets.push_back(ov->spill_to);
        c.error = "capacity of " + p.name + " exhausted; spilling to " + ov->spill_to;
        continue;
      }
      bool got = false;
      if (policy == "queue" && ov) {
        // FIFO wait, bounded in length and time; a released slot is handed
        // straight to the first waiter.
        got = co_await capacity_.acquire(p.name, p.max_concurrency, std::chrono::milliseconds(ov->max_wait_ms),
                                         static_cast<std::size_t>(std::max<std::int64_t>(0, ov->max_queue)));
      }
      if (!got) {
        if (i + 1 < targets.size()) {
          c.error = "capacity of " + p.name + " exhausted";
          continue;
        }
        co_await fail(c, 429, "rate_limit_error",
                      "model capacity exhausted for " + p.name + "/" + model + " (overflow policy " + policy + ")",
                      "capacity_exhausted");
        co_return false;
      }
    }
    // A failure that may fail over tries the provider's other endpoints
    // (not ejected, each once) before the next target.
    bool retry = false;
    bool ok = false;
    for (;;) {
      retry = false;
      ok = co_await attempt(c, p, model, walk.endpoint(), retry);
      walk.record(ok, retry, c.error);
      if (ok || !retry || c.started_stream || c.status != 0) break;
      const std::string failed = walk.endpoint();
      if (!walk.advance()) break;
      log::warn("upstream endpoint failed; trying another endpoint of the provider",
                {{"provider", p.name}, {"endpoint", failed}, {"next", walk.endpoint()}, {"error", c.error},
                 {"request_id", c.ex->info().request_id}});
    }
    if (p.max_concurrency > 0) capacity_.release(p.name);
    if (ok) {
      if (i > 0) c.fallback = p.name + "/" + model;
      co_return true;
    }
    if (!retry || c.started_stream || c.status != 0) co_return false;  // answered already
    log::warn("upstream failed; trying the next target",
              {{"provider", p.name}, {"model", model}, {"error", c.error}, {"request_id", c.ex->info().request_id}});
  }
  co_await fail(c, 502, "api_error", "every upstream for '" + c.requested_model + "' failed: " + c.error, "upstream_failed");
  co_return false;
}

bj::array Gateway::upstream_status() const {
  bj::array out;
  const auto cfg = snapshot();
  for (const auto& [name, p] : cfg->providers) {
    std::vector<std::string> endpoints = p.endpoints;
    if (endpoints.empty()) endpoints.push_back(p.base_url);
    for (const auto& e : endpoints) {
      auto st = health_.state(name, e);
      bj::object row{{"provider", name},
                     {"endpoint", e.empty() ? std::string("(provider default)") : e},
                     {"state", !st                           ? "healthy"
                                : st->ejected_for.count() > 0 ? "ejected"
                                : st->awaiting_check          ? "checking"
                                                              : "failing"},
                     {"failures_in_a_row", st ? st->failures : 0},
                     {"ejections_in_a_row", st ? st->ejections : 0},
                     {"ejected_for_ms", st ? st->ejected_for.count() : 0}};
      if (st && !st->last_error.empty()) row["last_error"] = st->last_error;
      out.push_back(std::move(row));
    }
  }
  return out;
}

asio::awaitable<bool> Gateway::attempt(Call& c, const ProviderConfig& p, const std::string& model,
                                       const std::string& endpoint, bool& retry) {
  std::string kind = p.kind == "vllm" ? "vllm" : p.kind;
  auto ait = deps_.adapters.find(kind);
  if (ait == deps_.adapters.end()) ait = kind == "vllm" ? deps_.adapters.find("openai") : ait;
  if (ait == deps_.adapters.end()) {
    c.error = "no adapter for provider kind " + p.kind;
    retry = true;
    co_return false;
  }
  const ProviderAdapter& adapter = *ait->second;
  ModelTarget target{p.name, p.kind, model, endpoint, p.region};
  auto req = adapter.build_chat(c.body, target, c.stream);
  if (!req.ok()) {
    co_await fail(c, 400, "invalid_request_error", req.status().message(), "unsupported_request");
    co_return false;
  }
  UpstreamCall call;
  Status st = co_await open_call(c, p, *req, call);
  if (!st.ok()) {
    c.error = st.message();
    retry = true;
    co_return false;
  }
  unsigned status = call.status();
  if (status < 200 || status >= 300) {
    std::string body;
    (void)co_await call.read_all(body, 1 << 20);
    UpstreamError err = adapter.parse_error(status, body);
    c.error = p.name + ": " + err.message;
    if (err.retryable) {
      retry = true;
      co_return false;
    }
    co_await fail(c, err.http_status, err.type, err.message, err.code);
    co_return false;
  }
  c.provider = p.name;
  c.model = model;
  if (!c.stream) {
    std::string body;
    Status rs = co_await call.read_all(body, 64 << 20);
    if (!rs.ok()) {
      c.error = p.name + ": " + rs.message();
      retry = true;
      co_return false;
    }
    UpstreamError err;
    Usage usage;
    auto completion = adapter.parse_chat(status, body, target, &usage, &err);
    if (!completion.ok()) {
      c.error = p.name + ": " + completion.status().message();
      retry = err.retryable;
      if (!retry) {
        co_await fail(c, 502, "api_error", c.error, "bad_upstream_response");
      }
      co_return false;
    }
    c.usage = usage;
    // Adapters have no clock: stamp answers that came without a time.
    bool stamped = true;
    if (const auto* cr = completion->if_contains("created"); !cr || !cr->is_number() || json::to_int(*cr) == 0) {
      (*completion)["created"] = std::chrono::duration_cast<std::chrono::seconds>(deps_.clock->system_now().time_since_epoch()).count();
      stamped = false;
    }
    if (adapter.answers_verbatim() && stamped) {
      // The upstream's bytes (parsed and checked above) as they came.
      std::string_view text = body;
      const auto first = text.find_first_not_of(" \t\r\n");
      const auto last = text.find_last_not_of(" \t\r\n");
      c.stored.assign(first == std::string_view::npos ? std::string_view() : text.substr(first, last - first + 1));
    } else {
      c.stored = bj::serialize(*completion);
    }
    charge(c, p.name, model, usage);
    c.status = 200;
    remember(c);
    std::string out;
    out.reserve(c.stored.size() + 1);
    out.append(c.stored).push_back('\n');
    http::Response res = http::text_response(HttpStatus::ok, std::move(out), "application/json");
    res.set("x-spectra-cache", c.cache_result);
    res.set("x-spectra-provider", p.name);
    // A good answer restores the endpoint before the client sees it (so
    // whoever reads the answer then reads the endpoint healthy).
    health_.success(p.name, endpoint);
    co_await c.ex->respond(std::move(res));
    co_return true;
  }
  // Streaming: nothing reaches the client before the first chunk, so any
  // failure until then may still fail over.
  auto created = std::chrono::duration_cast<std::chrono::seconds>(deps_.clock->system_now().time_since_epoch()).count();
  auto translator = adapter.stream_translator(target, "chatcmpl-" + c.ex->info().request_id, created);
  ChunkAssembler assembler;
  std::string buf;
  std::string held;   // chunks before the first substantive one
  std::string carry;  // ready chunks of the last read, sent with the tail
  bool done = false;
  std::string failure;
  UpstreamError uerr;
  while (!done && failure.empty()) {
    buf.clear();
    Status rs = co_await call.read_some(buf, done);
    std::vector<bj::object> chunks;
    // Events received before a transport error are still the answer's.
    Status fs = translator->feed(buf, &chunks, &uerr);
    if (rs.ok()) rs = fs;
    if (rs.ok() && done) rs = translator->finish(&chunks, &uerr);
    if (!rs.ok()) failure = rs.message();
    std::string out;
    bool ready = c.started_stream;
    for (auto& chunk : chunks) {
      assembler.add(chunk);
      if (usage_only(chunk)) continue;  // the gateway sends its own usage chunk, if asked
      ready = ready || substantive(chunk);
      (ready ? out : held) += sse_data(chunk);
    }
    if (ready && !held.empty()) {
      out = held + out;
      held.clear();
    }
    if (translator->done()) done = true;
    if (done && failure.empty()) {
      carry += out;  // the end is here too: it all goes out with the tail, in one write
      out.clear();
    }
    if (!out.empty()) {
      if (!c.started_stream) {
        http::bhttp::response<http::bhttp::empty_body> head = stream_head(c.cache_result, p.name);
        c.status = 200;
        c.started_stream = true;
        health_.success(p.name, endpoint);  // its first token: it answers
        if (!co_await c.ex->begin_stream(std::move(head), /*send_now=*/false)) {
          call.abort();
          c.error = "client went away";
          co_return false;
        }
      }
      if (!co_await c.ex->write(out)) {
        call.abort();
        c.error = "client went away";
        co_return false;
      }
    }
  }
  if (!failure.empty()) {
    call.abort();
    c.error = p.name + ": " + failure;
    if (!c.started_stream) {
      retry = true;
      co_return false;
    }
    // After the first token there is no failover: end the stream with a
    // well-formed error event rather than a silent truncation.
    UpstreamError e = uerr.message.empty() ? UpstreamError{502, "api_error", "upstream stream failed: " + failure, "", false} : uerr;
    std::string ev = sse_data(e.to_openai());
    co_await c.ex->finish(ev);
    co_return false;
  }
  Usage usage = translator->usage();
  c.usage = usage;
  // Meter before the last bytes go out, so a client that has its answer can
  // already see it counted.
  charge(c, p.name, model, usage);
  std::string tail = carry + held;
  bj::object completion = assembler.completion();
  if (usage.reported) completion["usage"] = usage_json(usage);
  if (c.include_usage && usage.reported) {
    bj::object u{{"id", completion.at("id")}, {"object", "chat.completion.chunk"}, {"created", completion.at("created")},
                 {"model", completion.at("model")}, {"choices", bj::array()}, {"usage", usage_json(usage)}};
    tail += sse_data(u);
  }
  tail += "data: [DONE]\n\n";
  if (!c.started_stream) {
    http::bhttp::response<http::bhttp::empty_body> head = stream_head(c.cache_result, p.name);
    c.status = 200;
    c.started_stream = true;
    health_.success(p.name, endpoint);
    (void)co_await c.ex->begin_stream(std::move(head), /*send_now=*/false);
  }
  if (assembler.has_content()) c.stored = bj::serialize(completion);
  remember(c);
  co_await c.ex->finish(tail);
  // The client has its answer; read the upstream body's end so that the
  // connection goes back to the pool instead of a new one per stream.
  co_await call.drain(64 << 10, std::chrono::milliseconds(1000));
  co_return true;
}

asio::awaitable<std::optional<bj::value>> Gateway::body_with_model(Call& c) {
  auto parsed = json::parse(c.ex->request().body(), {.max_bytes = 8 << 20, .max_depth = 64});
  const bj::value* m = parsed.ok() && parsed->is_object() ? parsed->get_object().if_contains("model") : nullptr;
  if (!m || !m->is_string()) {
    c.error_param = "model";
    co_await fail(c, 400, "invalid_request_error", "body must be a JSON object with a 'model'", "invalid_request");
    co_return std::nullopt;
  }
  c.requested_model = std::string(m->get_string());
  if (!c.key->allowed_models.empty() && !c.key->allowed_models.count(c.requested_model)) {
    co_await fail(c, 403, "permission_error", "model '" + c.requested_model + "' is not allowed for key '" + c.key->name + "'",
                  "model_not_allowed");
    co_return std::nullopt;
  }
  co_return std::move(*parsed);
}

asio::awaitable<void> Gateway::passthrough(http::Exchange& ex, const char* path) {
  Call c;
  begin(c, ex);
  c.route = path;
  if (!co_await authenticated(c)) co_return;
  std::optional<bj::value> parsed = co_await body_with_model(c);  // the key's model list holds as on chat
  if (!parsed) co_return;
  // The Responses API: the call itself records who made its answer; it and
  // its tools (input_tokens, compact) are checked for what they continue.
  const bool responses_family = std::string_view(path).starts_with("/responses");
  c.responses_api = std::string_view(path) == "/responses";
  if (const auto* store = parsed->get_object().if_contains("store"); store && store->is_bool() && !store->get_bool()) {
    c.response_noted = true;  // not stored upstream: nothing to route by id later
  }
  if (std::string refused = responses_family ? unsupported_responses_parameter(parsed->get_object()) : ""; !refused.empty()) {
    c.error_param = refused;
    co_await fail(c, 400, "invalid_request_error",
                  refused == "background"
                      ? "background responses are not supported by the gateway (their usage cannot be metered)"
                      : "conversations are not supported by the gateway (they are not scoped to a key)",
                  "unsupported_parameter");
    co_return;
  }
  if (!co_await admitted(c)) co_return;
  if (c.requested_model == kBuiltinEmbeddingModel && std::string_view(path) == "/embeddings") {
    c.body = std::move(parsed->get_object());
    co_await builtin_embeddings(c);
    co_return;
  }
  std::string target = c.requested_model;
  if (auto it = c.cfg->routes.find(target); it != c.cfg->routes.end()) target = it->second.target;
  auto resolved = c.cfg->resolve(target);
  if (resolved.ok() && c.key->local_only && !resolved->first->local()) {
    co_await refuse_remote(c);
    co_return;
  }
  if (resolved.ok() && resolved->first->kind != "openai" && resolved->first->kind != "vllm" &&
      std::string_view(path) == "/embeddings") {
    c.body = std::move(parsed->get_object());
    co_await translated_embeddings(c, *resolved->first, resolved->second);
    co_return;
  }
  if (!resolved.ok() || (resolved->first->kind != "openai" && resolved->first->kind != "vllm")) {
    co_await fail(c, 404, "invalid_request_error",
                  "model '" + c.requested_model + "' has no OpenAI-compatible provider for " + path, "model_not_found");
    co_return;
  }
  const ProviderConfig& p = *resolved->first;
  bj::object body = std::move(parsed->get_object());
  if (responses_family) {
    const bool go_on = co_await pin_previous_response(c, body, p);  // (no co_await inside && with GCC 12)
    if (!go_on) co_return;
  }
  if (c.responses_api) {
    c.provider = p.name;
    c.model = resolved->second;
    const bool answered = co_await passthrough_from_cache(c, body);
    if (answered) co_return;
  }
  body["model"] = resolved->second;
  UpstreamRequest req;
  req.headers = {{"content-type", "application/json"}};
  req.body = bj::serialize(body);
  // vLLM replicas as for chat: round-robin over those not ejected, and a
  // failure that may fail over (no connection, 5xx, 429) tries the others
  // once each. The last answer, whatever it is, goes to the client.
  // A call pinned to an endpoint (the one holding a previous response's
  // state) goes there only.
  EndpointWalk walk(health_, rr_, p);
  const bool pinned = !c.endpoint.empty();
  std::unique_ptr<UpstreamCall> upstream_call;
  Status st;
  for (;;) {
    req.url = (pinned ? c.endpoint : walk.openai_base()) + path;
    upstream_call = std::make_unique<UpstreamCall>();
    st = co_await open_call(c, p, req, *upstream_call);
    if (pinned) break;
    const bool failed = !st.ok() || upstream_call->status() >= 500 || upstream_call->status() == 429;
    walk.record(!failed, failed, st.ok() ? "status " + std::to_string(upstream_call->status()) : st.message());
    if (!failed || !walk.advance()) break;
  }
  if (!pinned) c.endpoint = walk.openai_base();
  co_await relay_answer(c, *upstream_call, st, p.name, resolved->second);
}

// The exact cache for a pass-through call (the Responses API, Anthropic's
// Messages), as chat has it. A Responses API answer is cached whether it was
// streamed or not and replayed either way (like chat's); Messages only
// whole (its stream is not rebuilt from a message). For the Responses API
// not when continuing another (its answer depends on state upstream) or not
// stored upstream. Keys live apart from chat's and each other's (c.route);
// Cache-Control no-cache / no-store as on chat.
asio::awaitable<bool> Gateway::passthrough_from_cache(Call& c, const bj::object& body) {
  auto flag = [&](const char* name) {
    const auto* f = body.if_contains(name);
    return f && f->is_bool() ? std::optional<bool>(f->get_bool()) : std::nullopt;
  };
  const std::string cc(c.ex->request()[http::bhttp::field::cache_control]);
  // (An answer made with store: false has an id nothing can be read by: not
  // one to hand to later callers.)
  const bool stateful = c.responses_api && (!flag("store").value_or(true) || body.contains("previous_response_id"));
  c.stream = flag("stream").value_or(false);
  if (!c.cfg->exact_cache || (c.stream && !c.responses_api) || stateful || cc.find("no-store") != std::string::npos) {
    co_return false;
  }
  c.cache_key = exact_cache_key(c.key->cache_namespace + "\n" + c.route, c.provider, c.model, body);
  c.cache_write = true;
  c.cache_read = cc.find("no-cache") == std::string::npos;
  c.cache_result = c.cache_read ? "miss" : "bypass";
  if (!c.cache_read) co_return false;
  std::optional<std::string> hit = co_await c.cache->get(c.cache_key);
  if (!hit) co_return false;
  const bool answered = co_await answer_from_cache(c, *hit, "hit");
  co_return answered;
}

asio::awaitable<void> Gateway::relay_answer(Call& c, UpstreamCall& call, Status st, const std::string& provider,
                                            const std::string& model) {
  if (st.ok() && call.status() >= 200 && call.status() < 300 &&
      call.headers()[http::bhttp::field::content_type].starts_with("text/event-stream")) {
    c.provider = provider;
    c.model = model;
    co_await relay_stream(c, call);
    co_return;
  }
  std::string out;
  if (st.ok()) {
    Status rs = co_await call.read_all(out, 64 << 20);
    if (!rs.ok()) st = Status(rs.code(), provider + ": " + rs.message());
  }
  if (!st.ok()) {
    co_await fail(c, 502, "api_error", st.message(), "upstream_failed");
    co_return;
  }
  c.provider = provider;
  c.model = model;
  c.status = call.status();
  auto v = json::parse(out, {.max_bytes = 64 << 20, .max_depth = 64});
  if (v.ok() && c.meter_usage) {
    take_usage(c, *v);
    if (c.usage.reported) charge(c, provider, c.model, c.usage);
  }
  if (v.ok() && c.status >= 200 && c.status < 300 && c.responses_api && !c.response_noted) note_response(c, *v);
  if (c.cache_write && v.ok() && c.status >= 200 && c.status < 300 && c.usage.reported) {
    c.cache->put(c.cache_key, encode_cached_answer(c.usage, out), std::chrono::seconds(c.cfg->cache_ttl_seconds));
  }
  std::string ctype(call.headers()[http::bhttp::field::content_type]);
  http::Response res = http::text_response(static_cast<HttpStatus>(c.status), out, ctype.empty() ? "application/json" : ctype);
  res.set("x-spectra-provider", provider);
  if (!c.cache_key.empty()) res.set("x-spectra-cache", c.cache_result);
  relay_headers(call.headers(), res);
  co_await c.ex->respond(std::move(res));
  finish(c);
}

// A streamed pass-through answer (/v1/completions with stream): the events
// are forwarded as they arrive; the usage event, if the client asked for
// one, is read on the way for metering.
asio::awaitable<void> Gateway::relay_stream(Call& c, UpstreamCall& call) {
  c.status = call.status();
  http::bhttp::response<http::bhttp::empty_body> head{static_cast<HttpStatus>(c.status), 11};
  head.set(http::bhttp::field::content_type, call.headers()[http::bhttp::field::content_type]);
  head.set(http::bhttp::field::cache_control, "no-cache");
  head.set("x-spectra-provider", c.provider);
  if (!c.cache_key.empty()) head.set("x-spectra-cache", c.cache_result);
  relay_headers(call.headers(), head);
  bool open = co_await c.ex->begin_stream(std::move(head), /*send_now=*/false);
  wire::sse::Parser events;
  std::vector<wire::sse::Event> batch;
  std::string piece;
  bool done = false;
  Status rs;
  while (open && !done) {
    piece.clear();
    rs = co_await call.read_some(piece, done);
    batch.clear();
    if (events.feed(piece, &batch).ok()) {
      for (const auto& e : batch) {
        // Only events with usage are parsed, and a Responses stream's first
        // (response.created, with the answer's id).
        const bool id_pending = c.responses_api && !c.response_noted;
        if (!id_pending && e.data.find("\"usage\"") == std::string::npos) continue;
        auto v = json::parse(e.data, {.max_bytes = 8 << 20, .max_depth = 64});
        if (!v.ok()) continue;
        if (id_pending) note_response(c, *v);
        take_usage(c, *v);
        // A Responses stream's last event holds the whole answer: what the cache keeps.
        if (c.cache_write && c.responses_api && v->is_object()) {
          const bj::value* type = v->get_object().if_contains("type");
          const bj::value* answer = v->get_object().if_contains("response");
          if (type && *type == "response.completed" && answer && answer->is_object()) c.stored = bj::serialize(*answer);
        }
      }
    }
    if (!piece.empty() && !co_await c.ex->write(piece)) {
      call.abort();
      c.error = "client went away";
      open = false;
    }
    if (!rs.ok()) break;
  }
  if (!rs.ok()) {
    // No failover once bytes are out: end with an error event, not a silent cut.
    call.abort();
    c.error = c.provider + ": " + rs.message();
    UpstreamError e{502, "api_error", "upstream stream failed: " + rs.message(), "", false};
    // In the client's protocol: Anthropic's error event, or OpenAI's data line.
    std::string ev = c.anthropic_api
                         ? "event: error\ndata: " +
                               bj::serialize(bj::object{{"type", "error"},
                                                        {"error", bj::object{{"type", "api_error"}, {"message", e.message}}}}) +
                               "\n\n"
                         : sse_data(e.to_openai());
    co_await c.ex->finish(ev);
  } else if (open) {
    co_await c.ex->finish();
  }
  if (c.usage.reported && c.meter_usage) charge(c, c.provider, c.model, c.usage);
  if (rs.ok() && open && c.cache_write && !c.stored.empty() && c.usage.reported) {
    c.cache->put(c.cache_key, encode_cached_answer(c.usage, c.stored), std::chrono::seconds(c.cfg->cache_ttl_seconds));
  }
  finish(c);
}

// /v1/embeddings on a provider that does not speak it (Bedrock Titan): the
// adapter says which upstream calls to make and assembles their answers.
asio::awaitable<void> Gateway::translated_embeddings(Call& c, const ProviderConfig& p, const std::string& model) {
  auto ait = deps_.adapters.find(p.kind);
  if (ait == deps_.adapters.end()) {
    co_await fail(c, 404, "invalid_request_error", "no adapter for provider kind " + p.kind, "model_not_found");
    co_return;
  }
  const ProviderAdapter& adapter = *ait->second;
  ModelTarget target{p.name, p.kind, model, p.base_url, p.region};
  auto requests = adapter.build_embeddings(c.body, target);
  if (!requests.ok()) {
    const bool unknown = requests.status().code() == Code::kNotFound;
    const std::string code = unknown ? "model_not_found" : "invalid_input";
    co_await fail(c, unknown ? 404 : 400, "invalid_request_error", requests.status().message(), code);
    co_return;
  }
  std::vector<std::pair<unsigned, std::string>> answers;
  Status st = co_await call_each(c, p, *requests, 64 << 20, answers);
  if (!st.ok()) {
    co_await fail(c, 502, "api_error", st.message(), "upstream_failed");
    co_return;
  }
  Usage usage;
  UpstreamError err;
  auto out = adapter.parse_embeddings(answers, c.body, c.requested_model, &usage, &err);
  if (!out.ok()) {
    if (!err.message.empty()) {
      co_await fail(c, err.http_status, err.type, p.name + ": " + err.message, err.code);
    } else {
      co_await fail(c, 502, "api_error", p.name + ": " + out.status().message(), "bad_upstream_response");
    }
    co_return;
  }
  c.provider = p.name;
  c.model = model;
  c.usage = usage;
  c.status = 200;
  charge(c, p.name, model, usage);
  http::Response res = http::json_response(HttpStatus::ok, *out);
  res.set("x-spectra-provider", p.name);
  co_await c.ex->respond(std::move(res));
  finish(c);
}

// The built-in model on /v1/embeddings: in-account embeddings, no egress.
asio::awaitable<void> Gateway::builtin_embeddings(Call& c) {
  std::vector<std::string> texts;
  const auto* input = c.body.if_contains("input");
  if (input && input->is_string()) {
    texts.emplace_back(input->get_string());
  } else if (input && input->is_array() && !input->get_array().empty() && input->get_array().size() <= 2048) {
    for (const auto& v : input->get_array()) {
      if (!v.is_string()) {
        texts.clear();
        break;
      }
      texts.emplace_back(v.get_string());
    }
  }
  if (texts.empty()) {
    co_await fail(c, 400, "invalid_request_error", "'input' must be a string or an array of up to 2048 strings", "invalid_input");
    co_return;
  }
  EmbedBatcher* b = batcher();
  if (!b) {
    co_await fail(c, 503, "api_error", "the built-in embedding model is not installed (scripts/install-model)", "model_unavailable");
    co_return;
  }
  auto emb = co_await b->embed(texts);
  if (!emb.ok()) {
    co_await fail(c, 500, "api_error", emb.status().message(), "embedding_failed");
    co_return;
  }
  bool b64 = c.body.contains("encoding_format") && c.body.at("encoding_format") == "base64";
  bj::array data;
  for (std::size_t i = 0; i < emb->size(); ++i) {
    const auto& v = (*emb)[i];
    bj::value e;
    if (b64) {
      e = crypto::base64(std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
    } else {
      bj::array a;
      a.reserve(v.size());
      for (float f : v) a.push_back(static_cast<double>(f));
      e = std::move(a);
    }
    data.push_back(bj::object{{"object", "embedding"}, {"index", i}, {"embedding", std::move(e)}});
  }
  // Usage: the WordPiece tokens the model read (the built-in model is not
  // billed; the count still shows the work done).
  std::int64_t tokens = 0;
  for (const auto& t : texts) tokens += b->token_count(t).value_or(0);
  c.provider = "builtin";
  c.model = "all-minilm-l6-v2";
  c.status = 200;
  bj::object body{{"object", "list"}, {"data", std::move(data)}, {"model", kBuiltinEmbeddingModel},
                  {"usage", bj::object{{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
  http::Response res = http::json_response(HttpStatus::ok, body);
  res.set("x-spectra-provider", "builtin");
  co_await c.ex->respond(std::move(res));
  finish(c);
}

}  // namespace spectra::ai
