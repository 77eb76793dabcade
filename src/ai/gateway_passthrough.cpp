// The pass-through routes of the AI gateway: /v1/completions, /v1/embeddings
// and the Responses API to OpenAI-compatible providers, and the relaying of
// their answers (also Anthropic's Messages, gateway_messages.cpp) whole or
// streamed, with their usage metered in the protocol the call speaks and
// their exact-cache lookups and stores.
#include <boost/json/serialize.hpp>

#include "ai/anthropic_replay.h"
#include "ai/anthropic_response.h"
#include "ai/call_labels.h"
#include "ai/chat_request.h"
#include "ai/endpoint_walk.h"
#include "ai/exact_cache.h"
#include "ai/gateway.h"
#include "ai/gateway_call.h"
#include "ai/openai_adapter.h"
#include "ai/stream_codec.h"
#include "ai/upstream_client.h"
#include "common/json_util.h"
#include "common/log.h"
#include "wire/sse.h"

namespace spectra::ai {

namespace asio = boost::asio;
using http::HttpStatus;

namespace {

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

// The finish reason a relayed answer or stream event carries, in chat's
// words as the audit records them (stop, length, tool_calls,
// content_filter), or "" when it carries none: a completion's first
// choice's; Anthropic's stop_reason (a message's, or message_delta's);
// a Responses API answer's (whole, or in its terminal event): length or
// content_filter when incomplete for that reason, tool_calls when it ends
// in a call of a tool, stop when completed otherwise.
std::string relayed_finish_reason(const bj::value& v, bool anthropic_api) {
  if (!v.is_object()) return "";
  const bj::object& o = v.get_object();
  if (anthropic_api) {
    const bj::value* sr = o.if_contains("stop_reason");
    if (const bj::value* d = o.if_contains("delta"); !sr && d && d->is_object()) sr = d->get_object().if_contains("stop_reason");
    return sr && sr->is_string() ? anthropic::finish_reason(sr->get_string()) : "";
  }
  if (const bj::value* choices = o.if_contains("choices"); choices && choices->is_array()) {
    const bj::array& a = choices->get_array();
    const bj::value* f = !a.empty() && a[0].is_object() ? a[0].get_object().if_contains("finish_reason") : nullptr;
    return f && f->is_string() ? std::string(f->get_string()) : "";
  }
  const bj::object* r = &o;
  if (const bj::value* inner = o.if_contains("response"); inner && inner->is_object()) r = &inner->get_object();
  const bj::value* status = r->if_contains("status");
  if (!status || !status->is_string()) return "";
  if (status->get_string() == "incomplete") {
    const bj::value* details = r->if_contains("incomplete_details");
    const bj::value* reason = details && details->is_object() ? details->get_object().if_contains("reason") : nullptr;
    if (!reason || !reason->is_string()) return "";
    if (reason->get_string() == "max_output_tokens") return "length";
    return reason->get_string() == "content_filter" ? "content_filter" : "";
  }
  if (status->get_string() != "completed") return "";
  const bj::value* output = r->if_contains("output");
  if (output && output->is_array()) {
    for (const auto& item : output->get_array()) {
      const bj::value* type = item.is_object() ? item.get_object().if_contains("type") : nullptr;
      if (type && type->is_string() && type->get_string().ends_with("_call")) return "tool_calls";
    }
  }
  return "stop";
}

// Whether a completions stream event's data names a finish reason (the
// last content chunk's; the others have null): only those are parsed.
bool names_finish(std::string_view data) {
  const auto at = data.find("\"finish_reason\"");
  if (at == std::string_view::npos) return false;
  const auto value = data.find_first_not_of(" \t:", at + 15);
  return value != std::string_view::npos && data[value] == '"';
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

// A target of a pass-through call, resolved; a null provider: none serves the call.
struct Target {
  const ProviderConfig* provider = nullptr;
  std::string model;
};

// Whether a pass-through call may go to `name`, resolved into `out`: to
// OpenAI-compatible providers (embeddings: any provider, translated where
// needed), for a local-only key to in-account ones (`remote` says when
// that alone kept it out), and embeddings only to the model of `first`
// when there is one: vectors of another model are not comparable with the
// ones the client has.
bool serves(const Gateway::Call& c, const std::string& name, bool embeddings, const Target* first, Target* out,
            bool* remote = nullptr) {
  auto r = c.cfg->resolve(name);
  if (!r.ok()) return false;
  if (c.key->local_only && !r->first->local()) {
    if (remote) *remote = true;
    return false;
  }
  const bool openai_api = r->first->kind == "openai" || r->first->kind == "vllm";
  if (!openai_api && !embeddings) return false;
  if (embeddings && first && r->second != first->model) return false;
  *out = {r->first, std::move(r->second)};
  return true;
}

// Where a pass-through call may go, in the order tried: a route's turn,
// its other balanced targets and its fallbacks (as chat's), or the model
// named; only targets it `serves`. (A Responses API call continuing
// another then goes only to the one that made it: pin_previous_response.)
// Empty: every target was remote for a local-only key; one null entry:
// none serves the call.
std::vector<Target> passthrough_targets(const Gateway::Call& c, const RouteConfig* route, bool embeddings) {
  std::vector<std::string> names;
  if (!route) names.push_back(c.requested_model);
  else names = route->next_targets();
  std::vector<Target> out;
  bool remote_dropped = false;
  for (const std::string& name : names) {
    Target t;
    if (serves(c, name, embeddings, out.empty() ? nullptr : &out.front(), &t, &remote_dropped)) out.push_back(std::move(t));
  }
  if (out.empty() && !remote_dropped) out.emplace_back();
  return out;
}

// Whether a Responses API call goes through the chat pipeline in
// translation: its model's provider does not speak the Responses API
// (Anthropic, Bedrock), or a local-only key calls an alias whose in-account
// fallbacks can serve it (chat's local-only rule leaves only those).
bool translates_responses(const Gateway::Call& c) {
  std::string target = c.requested_model;
  const auto route = c.cfg->routes.find(target);
  if (route != c.cfg->routes.end()) target = route->second.target;
  auto resolved = c.cfg->resolve(target);
  if (!resolved.ok()) return false;
  const std::string& kind = resolved->first->kind;
  if (kind == "anthropic" || kind == "bedrock") return true;
  return route != c.cfg->routes.end() && c.key->local_only && !resolved->first->local() &&
         c.cfg->served_in_account(c.requested_model);
}

}  // namespace

asio::awaitable<std::optional<bj::value>> Gateway::body_with_model(Call& c) {
  auto parsed = json::parse(c.ex->request().body(), {.max_bytes = 8 << 20, .max_depth = 64});
  const bj::value* m = parsed.ok() && parsed->is_object() ? parsed->get_object().if_contains("model") : nullptr;
  if (!m || !m->is_string()) {
    c.error_param = "model";
    co_await fail(c, 400, "invalid_request_error", "body must be a JSON object with a 'model'", "invalid_request");
    co_return std::nullopt;
  }
  c.requested_model = std::string(m->get_string());
  c.end_user = end_user_of(parsed->get_object());
  if (!c.key->allows(c.requested_model)) {
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
  if (c.responses_api && translates_responses(c)) {
    co_await responses_via_chat(c, parsed->get_object());  // (admitted there, as a chat call)
    co_return;
  }
  if (std::string_view(path) == "/responses/input_tokens" && translates_responses(c)) {
    co_await input_tokens_via_chat(c, parsed->get_object());
    co_return;
  }
  if (!co_await admitted(c)) co_return;
  const bool embeddings = std::string_view(path) == "/embeddings";
  if (c.requested_model == kBuiltinEmbeddingModel && embeddings) {
    c.body = std::move(parsed->get_object());
    c.provider = "builtin";
    c.model = kBuiltinModelName;
    const bool answered = co_await passthrough_from_cache(c, c.body);
    if (answered) co_return;
    co_await builtin_embeddings(c);
    co_return;
  }
  const RouteConfig* route = nullptr;
  if (auto it = c.cfg->routes.find(c.requested_model); it != c.cfg->routes.end()) route = &it->second;
  std::vector<Target> targets = passthrough_targets(c, route, embeddings);
  if (targets.empty()) {
    co_await refuse_remote(c);  // (every target was remote, for a local-only key)
    co_return;
  }
  if (!targets.front().provider) {
    co_await fail(c, 404, "invalid_request_error",
                  "model '" + c.requested_model + "' has no OpenAI-compatible provider for " + path, "model_not_found");
    co_return;
  }
  bj::object body = std::move(parsed->get_object());
  if (responses_family) {
    // A continuation goes only where its state is, whichever target made it.
    std::vector<std::string> providers;
    for (const Target& t : targets) providers.push_back(t.provider->name);
    const std::optional<std::size_t> pinned = co_await pin_previous_response(c, body, providers);
    if (!pinned) co_return;
    if (!c.endpoint.empty()) targets = {targets[*pinned]};
  }
  if (c.responses_api || embeddings) {
    // A route balanced over one model keeps its answers under its target,
    // whichever target gave them (as chat's).
    c.provider = targets.front().provider->name;
    c.model = targets.front().model;
    if (route && !route->balance.empty() && route->one_model) {
      if (auto shared = c.cfg->resolve(route->target); shared.ok()) {
        c.provider = shared->first->name;
        c.model = shared->second;
      }
    }
    const bool answered = co_await passthrough_from_cache(c, body);
    if (answered) co_return;
  }
  // Each target in turn: one that fails before answering (no connection,
  // 5xx, 429 on every endpoint) passes the call to the next; the last
  // answers whatever it answers. Ejected providers are skipped while a
  // later target remains.
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const ProviderConfig& p = *targets[i].provider;
    const std::string& model = targets[i].model;
    const bool last = i + 1 == targets.size();
    EndpointWalk walk(health_, rr_, p);
    const TargetTurn turn = co_await turn_of(c, p, model, walk, last);  // (as chat's)
    if (turn == TargetTurn::kPass) continue;
    if (turn == TargetTurn::kRefused) co_return;
    // A local model's capacity as on chat. A spill goes where the call
    // could go anyway: embeddings only to their model, a Responses call
    // continuing another nowhere (its state is where it was made).
    Target spill;
    const bool may_spill = route && c.endpoint.empty() && !route->overflow.spill_to.empty() &&
                           serves(c, route->overflow.spill_to, embeddings, &targets.front(), &spill);
    const TargetTurn room = co_await hold_capacity(c, p, model, route, last, may_spill);
    if (room == TargetTurn::kSpill) targets.push_back(std::move(spill));
    if (room == TargetTurn::kSpill || room == TargetTurn::kPass) continue;
    if (room == TargetTurn::kRefused) co_return;
    if (i > 0) c.fallback = p.name + "/" + model;
    if (p.kind != "openai" && p.kind != "vllm") {
      c.body = body;  // (a copy: a later target may need the request again)
      const bool answered = co_await translated_embeddings(c, p, model, walk, last);
      if (answered) co_return;
      continue;
    }
    bj::object upstream_body = body;
    upstream_body["model"] = model;
    UpstreamRequest req;
    req.headers = {{"content-type", "application/json"}};
    req.body = bj::serialize(upstream_body);
    // vLLM replicas as for chat: round-robin over those not ejected, and a
    // failure that may fail over (no connection, 5xx, 429) tries the others
    // once each. A call pinned to an endpoint (the one holding a previous
    // response's state) goes there only.
    const bool pinned = !c.endpoint.empty();
    std::unique_ptr<UpstreamCall> upstream_call;
    Status st;
    bool failed = false;
    for (;;) {
      req.url = (pinned ? c.endpoint : walk.openai_base()) + path;
      upstream_call = std::make_unique<UpstreamCall>();
      st = co_await open_call(c, p, req, *upstream_call);
      failed = !st.ok() || upstream_call->status() >= 500 || upstream_call->status() == 429;
      if (pinned) break;
      walk.record(!failed, failed, st.ok() ? "status " + std::to_string(upstream_call->status()) : st.message());
      if (!failed || !walk.advance()) break;
    }
    if (failed && !last && !pinned) {
      c.error = st.ok() ? p.name + ": status " + std::to_string(upstream_call->status()) : st.message();
      upstream_call->abort();
      release_slot(c);
      log::warn("upstream failed; trying the next target",
                {{"provider", p.name}, {"model", model}, {"error", c.error}, {"request_id", c.ex->info().request_id}});
      continue;
    }
    if (!pinned) c.endpoint = walk.openai_base();
    co_await relay_answer(c, *upstream_call, st, p.name, model);
    co_return;
  }
}

// The exact cache for a pass-through call (the Responses API, Anthropic's
// Messages, embeddings), as chat has it. A Responses API answer is cached
// whether it was streamed or not and replayed either way (like chat's);
// Messages only whole (its stream is not rebuilt from a message);
// embeddings as they were answered (a pipeline re-indexing unchanged
// documents asks for the same vectors again). For the Responses API
// not when continuing another (its answer depends on state upstream) or not
// stored upstream. Keys live apart from chat's and each other's (c.route);
// Cache-Control no-cache / no-store as on chat.
asio::awaitable<bool> Gateway::passthrough_from_cache(Call& c, const bj::object& body) {
  auto flag = [&](const char* name) {
    const auto* f = body.if_contains(name);
    return f && f->is_bool() ? std::optional<bool>(f->get_bool()) : std::nullopt;
  };
  c.cache_route = true;
  const std::string cc(c.ex->request()[http::bhttp::field::cache_control]);
  // (An answer made with store: false has an id nothing can be read by: not
  // one to hand to later callers.)
  const bool stateful = c.responses_api && (!flag("store").value_or(true) || body.contains("previous_response_id"));
  c.stream = flag("stream").value_or(false);
  // (Streams are cached where they replay: the Responses API's, Messages'.)
  const bool replays = c.responses_api || c.anthropic_api;
  if (!c.cfg->exact_cache || (c.stream && !replays) || stateful || cc.find("no-store") != std::string::npos) {
    co_return false;
  }
  c.cache_key = exact_cache_key(c.key->cache_namespace + "\n" + c.route, c.provider, c.model, body);
  c.cache_write = true;
  c.cache_read = cc.find("no-cache") == std::string::npos;
  c.cache_result = c.cache_read ? "miss" : "bypass";
  if (!c.cache_read) co_return false;
  std::optional<std::string> hit = co_await c.cache->get(c.cache_key);
  if (!hit) {
    // Identical concurrent misses go upstream once, as on chat.
    auto [flight, leader] = coalescer_.join(c.cache_key);
    if (leader) {
      c.lead = Coalescer::Lead(&coalescer_, c.cache_key, flight);
      co_return false;
    }
    hit = co_await Coalescer::wait(*flight);
    if (!hit) co_return false;  // the leader failed: this call tries on its own
  }
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
  release_slot(c);  // (the model is done: a client that asks again at once finds the slot free)
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
  if (v.ok() && c.status >= 200 && c.status < 300) c.finish_reason = relayed_finish_reason(*v, c.anthropic_api);
  if (v.ok() && c.status >= 200 && c.status < 300 && c.responses_api && !c.response_noted) note_response(c, *v);
  if (v.ok() && c.status >= 200 && c.status < 300 && c.usage.reported) keep_passthrough(c, out);
  std::string ctype(call.headers()[http::bhttp::field::content_type]);
  http::Response res = http::text_response(static_cast<HttpStatus>(c.status), out, ctype.empty() ? "application/json" : ctype);
  res.set("x-spectra-provider", provider);
  if (c.cache_route) res.set("x-spectra-cache", c.cache_result);
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
  if (c.cache_route) head.set("x-spectra-cache", c.cache_result);
  relay_headers(call.headers(), head);
  bool open = co_await c.ex->begin_stream(std::move(head), /*send_now=*/false);
  wire::sse::Parser events;
  std::vector<wire::sse::Event> batch;
  std::string piece;
  bool done = false;
  Status rs;
  // A Messages stream for the cache: every event goes into the message it
  // builds (kept if whole and of blocks that replay).
  std::optional<anthropic::MessageAssembler> assembler;
  if (c.cache_write && c.anthropic_api && c.status >= 200 && c.status < 300) assembler.emplace();
  // What was read ahead (Messages' peek at the first event) goes first.
  bool ahead = !c.read_ahead.empty() || c.read_ahead_done;
  while (open && !done) {
    piece.clear();
    if (ahead) {
      piece.swap(c.read_ahead);
      done = c.read_ahead_done;
      ahead = false;
    } else {
      rs = co_await call.read_some(piece, done);
    }
    batch.clear();
    if (events.feed(piece, &batch).ok()) {
      for (const auto& e : batch) {
        // Only events with usage or a finish reason are parsed, and a
        // Responses stream's first (response.created, with the answer's id).
        const bool id_pending = c.responses_api && !c.response_noted;
        // The first token: the first delta event (Anthropic's, the
        // Responses API's) or data line of a stream with no event types.
        if (!c.first_token_at && (e.type == "message" || e.type.find("delta") != std::string::npos)) {
          c.first_token_at = deps_.clock->steady_now();
        }
        if (!id_pending && !assembler && e.data.find("\"usage\"") == std::string::npos && !names_finish(e.data)) continue;
        auto v = json::parse(e.data, {.max_bytes = 8 << 20, .max_depth = 64});
        if (!v.ok()) continue;
        if (assembler && v->is_object()) assembler->add(v->get_object());
        if (id_pending) note_response(c, *v);
        take_usage(c, *v);
        if (std::string finish = relayed_finish_reason(*v, c.anthropic_api); !finish.empty()) c.finish_reason = std::move(finish);
        // A Responses stream's last event holds the whole answer: what the cache keeps.
        if (c.cache_write && c.responses_api && v->is_object()) {
          const bj::value* type = v->get_object().if_contains("type");
          const bj::value* answer = v->get_object().if_contains("response");
          if (type && *type == "response.completed" && answer && answer->is_object()) c.stored = bj::serialize(*answer);
        }
      }
    }
    if (done || !rs.ok()) release_slot(c);  // (before the last bytes: the model is done)
    if (!piece.empty() && !co_await c.ex->write(piece)) {
      call.abort();
      c.error = "client went away";
      open = false;
    }
    if (!rs.ok()) break;
  }
  release_slot(c);  // (the client went away)
  if (assembler && rs.ok()) {
    if (auto m = assembler->message()) c.stored = bj::serialize(*m);
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
  if (rs.ok() && open && !c.stored.empty() && c.usage.reported) keep_passthrough(c, c.stored);
  finish(c);
}

}  // namespace spectra::ai
