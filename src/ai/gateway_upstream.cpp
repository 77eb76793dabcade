// The upstream stage of the AI gateway: provider selection, overflow
// policies for local models, failover before the first token, streaming.
#include <boost/json/serialize.hpp>

#include <algorithm>

#include "ai/chat_request.h"
#include "ai/endpoint_walk.h"
#include "ai/gateway.h"
#include "ai/gateway_call.h"
#include "ai/openai_adapter.h"
#include "ai/reasoning.h"
#include "ai/upstream_client.h"
#include "common/crypto.h"
#include "common/json_util.h"
#include "common/log.h"

namespace spectra::ai {

namespace asio = boost::asio;
using http::HttpStatus;

namespace {

bool usage_only(const bj::object& chunk) {
  const auto* ch = chunk.if_contains("choices");
  return chunk.contains("usage") && (!ch || (ch->is_array() && ch->get_array().empty()));
}

// A chunk that carries part of the answer: content, a reasoning model's
// thinking, a tool call, a refusal or the finish reason. The leading
// role-only chunk does not count, so an upstream that fails right after it
// can still be failed over. (Thinking counts: held back, it would add the
// whole of a reasoning model's thinking time to the first byte.)
bool substantive(const bj::object& chunk) {
  const auto* ch = chunk.if_contains("choices");
  if (!ch || !ch->is_array()) return false;
  for (const auto& c : ch->get_array()) {
    if (!c.is_object()) continue;
    const auto& co = c.get_object();
    if (const auto* f = co.if_contains("finish_reason"); f && !f->is_null()) return true;
    const bj::object* d = delta_of(co);
    if (!d) continue;
    for (const char* k : {"content", "refusal", "reasoning_content", "reasoning"}) {
      const auto* v = d->if_contains(k);
      if (v && v->is_string() && !v->get_string().empty()) return true;
    }
    for (const char* k : {"tool_calls", "thinking_blocks"}) {
      if (const auto* t = d->if_contains(k); t && t->is_array() && !t->get_array().empty()) return true;
    }
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

// The first choice's finish_reason of a chat completion, or "".
std::string finish_reason_of(const bj::object& completion) {
  const bj::object* choice = first_choice(completion);
  const bj::value* reason = choice ? choice->if_contains("finish_reason") : nullptr;
  return reason && reason->is_string() ? std::string(reason->get_string()) : std::string();
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
    // Ejected, or at its quota: passed over while a later target remains.
    // (A provider keeping conversations on one replica starts at theirs.)
    EndpointWalk walk(health_, rr_, p, p.conversation_affinity ? conversation_affinity(c.body, c.end_user) : 0);
    const TargetTurn turn = co_await turn_of(c, p, model, walk, i + 1 == targets.size());
    if (turn == TargetTurn::kPass) continue;
    if (turn == TargetTurn::kRefused) co_return false;
    // Capacity of local models, and what to do when it is exhausted.
    const OverflowConfig* ov = route ? &route->overflow : nullptr;
    const bool may_spill = ov && !ov->spill_to.empty() && (!c.key->local_only || cfg.in_account(ov->spill_to));
    const TargetTurn room = co_await hold_capacity(c, p, model, route, i + 1 == targets.size(), may_spill);
    if (room == TargetTurn::kSpill) targets.push_back(ov->spill_to);
    if (room == TargetTurn::kSpill || room == TargetTurn::kPass) continue;
    if (room == TargetTurn::kRefused) co_return false;
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
    release_slot(c);
    if (ok) {
      if (i > 0 || c.primary_failed) c.fallback = p.name + "/" + model;
      co_return true;
    }
    if (!retry || c.started_stream || c.status != 0) co_return false;  // answered already
    log::warn("upstream failed; trying the next target",
              {{"provider", p.name}, {"model", model}, {"error", c.error}, {"request_id", c.ex->info().request_id}});
  }
  co_await fail(c, 502, "api_error", "every upstream for '" + c.requested_model + "' failed: " + c.error, "upstream_failed");
  co_return false;
}

asio::awaitable<Gateway::TargetTurn> Gateway::turn_of(Call& c, const ProviderConfig& p, const std::string& model,
                                                     const EndpointWalk& walk, bool last) {
  // An endpoint ejected after repeated failures would only cost the call
  // its failure first; the last target is tried whatever its state.
  if (walk.all_ejected() && !last) {
    c.error = p.name + ": skipped: ejected after repeated failures";
    co_return TargetTurn::kPass;
  }
  // The provider account's quota for the model: a target at its limit
  // would only answer 429.
  if (const LimitVerdict room = take_quota(c, p, model); !room.allowed) {
    c.error = room.message;
    if (!last) co_return TargetTurn::kPass;
    co_await rate_limited(c, room, "provider_quota_exceeded");
    co_return TargetTurn::kRefused;
  }
  co_return TargetTurn::kTry;
}

asio::awaitable<Gateway::TargetTurn> Gateway::hold_capacity(Call& c, const ProviderConfig& p, const std::string& model,
                                                           const RouteConfig* route, bool last, bool may_spill) {
  if (capacity_.try_acquire(p.name, p.max_concurrency)) {
    if (p.max_concurrency > 0) c.slot = p.name;
    co_return TargetTurn::kTry;
  }
  // What a full model did to the calls that found it full: how often a
  // model is too small for its load, and what the policy made of it.
  auto overflowed = [&](const char* outcome) {
    if (!deps_.metrics) return;
    deps_.metrics
        ->counter("spectra_ai_overflow_total",
                  "Calls that found a model at its max_concurrency, by provider and what became of them "
                  "(queued: served after waiting; spilled; passed: to the route's next target; refused: 429)",
                  {{"provider", p.name}, {"outcome", outcome}})
        .inc();
  };
  const OverflowConfig* ov = route ? &route->overflow : nullptr;
  const std::string policy = ov ? ov->policy : "reject";
  if (policy == "spill" && may_spill && last) {
    c.error = "capacity of " + p.name + " exhausted; spilling to " + ov->spill_to;
    overflowed("spilled");
    co_return TargetTurn::kSpill;
  }
  if (policy == "queue" && ov) {
    // FIFO wait, bounded in length and time; a released slot is handed
    // straight to the first waiter.
    const bool got = co_await capacity_.acquire(p.name, p.max_concurrency, std::chrono::milliseconds(ov->max_wait_ms),
                                                static_cast<std::size_t>(std::max<std::int64_t>(0, ov->max_queue)));
    if (got) {
      c.slot = p.name;
      overflowed("queued");
      co_return TargetTurn::kTry;
    }
  }
  c.error = "capacity of " + p.name + " exhausted";
  overflowed(last ? "refused" : "passed");
  if (!last) co_return TargetTurn::kPass;
  co_await fail(c, 429, "rate_limit_error",
                "model capacity exhausted for " + p.name + "/" + model + " (overflow policy " + policy + ")",
                "capacity_exhausted");
  co_return TargetTurn::kRefused;
}

void Gateway::release_slot(Call& c) {
  if (c.slot.empty()) return;
  capacity_.release(c.slot);
  c.slot.clear();
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
      if (p.max_concurrency > 0) {  // (the provider's slots, shared by its endpoints)
        row["max_concurrency"] = p.max_concurrency;
        row["in_flight"] = capacity_.in_use(name);
        row["queued"] = capacity_.waiting(name);
      }
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
  ModelTarget target = p.target(model, endpoint);
  // A translated request's Claude-only fields stay with Claude.
  bj::object plain;
  const bool openai_api = p.kind == "openai" || p.kind == "vllm";
  bool changed = openai_api && c.dialect != Dialect::chat && for_openai_api(c.body, p.kind, &plain);
  // Claude's thinking, asked for through the Messages API, as the effort of
  // a model that reasons at one.
  if (changed && !plain.contains("reasoning_effort") && reasoning::takes_reasoning_effort(p.kind, target.base())) {
    if (std::string effort = reasoning::reasoning_effort_for(c.body); !effort.empty()) plain["reasoning_effort"] = effort;
  }
  // A vLLM model whose chat template switches its thinking with a keyword
  // (Qwen3's enable_thinking): thinking asked for on or off goes as that.
  if (const std::string* kwarg = p.kind == "vllm" ? p.thinking_kwarg(model) : nullptr) {
    if (const std::optional<bool> on = reasoning::wants_thinking(c.body)) {
      if (!changed) plain = c.body;
      changed = true;
      reasoning::switch_template_thinking(plain, *kwarg, *on);
    }
  }
  auto req = adapter.build_chat(changed ? plain : c.body, target, c.stream);
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
    c.finish_reason = finish_reason_of(*completion);
    remember(c);
    keep_response(c, *completion);
    std::string out;
    if (c.dialect != Dialect::chat) {
      out = dialect_answer(c, *completion);
    } else {
      out.reserve(c.stored.size() + 1);
      out.append(c.stored).push_back('\n');
    }
    http::Response res = http::text_response(HttpStatus::ok, std::move(out), "application/json");
    res.set("x-spectra-cache", c.cache_result);
    res.set("x-spectra-provider", p.name);
    // A good answer restores the endpoint before the client sees it (so
    // whoever reads the answer then reads the endpoint healthy).
    health_.success(p.name, endpoint);
    release_slot(c);  // (the model is done: a client that asks again at once finds the slot free)
    co_await c.ex->respond(std::move(res));
    co_return true;
  }
  // Streaming: nothing reaches the client before the first chunk, so any
  // failure until then may still fail over.
  auto created = std::chrono::duration_cast<std::chrono::seconds>(deps_.clock->system_now().time_since_epoch()).count();
  auto translator = adapter.stream_translator(target, "chatcmpl-" + c.ex->info().request_id, created);
  // The client's protocol: chat chunks, or the events of a translated
  // call's API (a new writer per attempt: a failed one sent nothing).
  std::unique_ptr<DialectStream> events = dialect_stream(c);
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
      (ready ? out : held) += events ? events->chunk(chunk) : sse_data(chunk);
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
        c.first_token_at = deps_.clock->steady_now();
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
    std::string ev = events ? events->error(e.message) : sse_data(e.to_openai());
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
  if (usage.reported) completion["usage"] = chat_usage_json(usage);
  if (c.include_usage && usage.reported) {
    bj::object u{{"id", completion.at("id")}, {"object", "chat.completion.chunk"}, {"created", completion.at("created")},
                 {"model", completion.at("model")}, {"choices", bj::array()}, {"usage", chat_usage_json(usage)}};
    tail += sse_data(u);
  }
  tail += events ? events->end(usage) : std::string("data: [DONE]\n\n");
  if (!c.started_stream) {
    http::bhttp::response<http::bhttp::empty_body> head = stream_head(c.cache_result, p.name);
    c.status = 200;
    c.started_stream = true;
    c.first_token_at = deps_.clock->steady_now();  // the whole answer in one read
    health_.success(p.name, endpoint);
    (void)co_await c.ex->begin_stream(std::move(head), /*send_now=*/false);
  }
  if (assembler.has_content()) c.stored = bj::serialize(completion);
  c.finish_reason = finish_reason_of(completion);
  remember(c);
  keep_response(c, completion);
  release_slot(c);
  co_await c.ex->finish(tail);
  // The client has its answer; read the upstream body's end so that the
  // connection goes back to the pool instead of a new one per stream.
  co_await call.drain(64 << 10, std::chrono::milliseconds(1000));
  co_return true;
}

// A pass-through answer (relayed, or embeddings the gateway assembled)
// into the exact cache, when the call may write it, for the next
// identical call and for the followers of its coalesced miss.
void Gateway::keep_passthrough(Call& c, const std::string& answer) {
  if (!c.cache_write) return;
  std::string cached = encode_cached_answer(c.usage, answer, c.finish_reason);
  c.cache->put(c.cache_key, cached, std::chrono::seconds(c.cfg->cache_ttl_seconds));
  if (c.lead) c.lead.set_result(std::move(cached));
}

// /v1/embeddings on a provider that does not speak it (Bedrock Titan): the
// adapter says which upstream calls to make and assembles their answers.
asio::awaitable<bool> Gateway::translated_embeddings(Call& c, const ProviderConfig& p, const std::string& model,
                                                     EndpointWalk& walk, bool last) {
  auto ait = deps_.adapters.find(p.kind);
  if (ait == deps_.adapters.end()) {
    co_await fail(c, 404, "invalid_request_error", "no adapter for provider kind " + p.kind, "model_not_found");
    co_return true;
  }
  const ProviderAdapter& adapter = *ait->second;
  ModelTarget target{p.name, p.kind, model, p.base_url, p.region};
  auto requests = adapter.build_embeddings(c.body, target);
  if (!requests.ok()) {
    const bool unknown = requests.status().code() == Code::kNotFound;
    const std::string code = unknown ? "model_not_found" : "invalid_input";
    co_await fail(c, unknown ? 404 : 400, "invalid_request_error", requests.status().message(), code);
    co_return true;
  }
  std::vector<std::pair<unsigned, std::string>> answers;
  Status st = co_await call_each(c, p, *requests, 64 << 20, answers);
  // (One request per input for Titan: any refused for load or failing on
  // the provider's side fails the call over.)
  const bool failed = !st.ok() || std::any_of(answers.begin(), answers.end(), [](const auto& a) {
                        return a.first >= 500 || a.first == 429;
                      });
  walk.record(!failed, failed, st.ok() ? "" : st.message());
  if (failed && !last) {
    c.error = st.ok() ? p.name + ": refused or failed on the provider's side" : st.message();
    log::warn("upstream failed; trying the next target",
              {{"provider", p.name}, {"model", model}, {"error", c.error}, {"request_id", c.ex->info().request_id}});
    co_return false;
  }
  if (!st.ok()) {
    co_await fail(c, 502, "api_error", st.message(), "upstream_failed");
    co_return true;
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
    co_return true;
  }
  c.provider = p.name;
  c.model = model;
  c.usage = usage;
  c.status = 200;
  charge(c, p.name, model, usage);
  std::string answer = bj::serialize(*out);
  keep_passthrough(c, answer);
  http::Response res = http::text_response(HttpStatus::ok, std::move(answer), "application/json");
  res.set("x-spectra-provider", p.name);
  if (c.cache_route) res.set("x-spectra-cache", c.cache_result);
  co_await c.ex->respond(std::move(res));
  finish(c);
  co_return true;
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
  c.model = kBuiltinModelName;
  c.status = 200;
  c.usage.prompt_tokens = tokens;
  c.usage.reported = true;
  bj::object body{{"object", "list"}, {"data", std::move(data)}, {"model", kBuiltinEmbeddingModel},
                  {"usage", bj::object{{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
  std::string answer = bj::serialize(body);
  keep_passthrough(c, answer);
  http::Response res = http::text_response(HttpStatus::ok, std::move(answer), "application/json");
  res.set("x-spectra-provider", "builtin");
  if (c.cache_route) res.set("x-spectra-cache", c.cache_result);
  co_await c.ex->respond(std::move(res));
  finish(c);
}

}  // namespace spectra::ai
