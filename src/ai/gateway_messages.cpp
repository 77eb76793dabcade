// Anthropic's Messages API on the gateway (POST /v1/messages and
// /v1/messages/count_tokens): for applications on Anthropic's SDKs (or
// tools that speak it), sent as they are to the Anthropic provider of the
// model they name, with the key's model list, limits, local-only rule,
// metering and audit as on every route; other models, and a failed
// Anthropic call's route fallbacks, through the chat pipeline in
// translation. Errors the gateway itself answers are in Anthropic's shape;
// the upstream's answers pass unchanged.
#include <boost/json/serialize.hpp>

#include "ai/anthropic_beta.h"
#include "ai/chat_request.h"
#include "ai/endpoint_walk.h"
#include "ai/gateway.h"
#include "ai/gateway_call.h"
#include "ai/messages_dialect.h"
#include "ai/reasoning.h"
#include "ai/upstream_client.h"
#include "common/json_util.h"
#include "common/log.h"
#include "wire/sse.h"

namespace spectra::ai {

namespace asio = boost::asio;

asio::awaitable<void> Gateway::messages(http::Exchange& ex, const char* path) {
  Call c;
  begin(c, ex);
  c.route = path;
  c.anthropic_api = true;
  if (!co_await authenticated(c)) co_return;
  std::optional<bj::value> parsed = co_await body_with_model(c);
  if (!parsed) co_return;
  const bool messages_route = std::string_view(path) == "/messages";
  std::string target = c.requested_model;
  const RouteConfig* route = nullptr;
  // A route's targets in the order this call tries them (balanced, then
  // the fallbacks); count_tokens counts on the route's target.
  std::vector<std::string> order;
  if (auto it = c.cfg->routes.find(target); it != c.cfg->routes.end()) {
    route = &it->second;
    order = messages_route ? route->next_targets() : std::vector<std::string>{route->target};
    target = order.front();
  }
  auto resolved = c.cfg->resolve(target);
  const bool anthropic_model = resolved.ok() && resolved->first->kind == "anthropic";
  // Any other model through the chat pipeline, in translation; so too a
  // local-only key's call to an alias with in-account fallbacks (chat's
  // local-only rule then leaves only those).
  const bool in_account_fallback = route && c.key->local_only && c.cfg->served_in_account(c.requested_model);
  if (messages_route && (!anthropic_model || in_account_fallback)) {
    c.targets = std::move(order);  // the chat pipeline goes on from the same turn
    co_await messages_via_chat(c, parsed->get_object());
    co_return;
  }
  if (!messages_route && resolved.ok() && resolved->first->kind == "vllm") {
    // count_tokens on an in-account model: vLLM's own tokenizer counts it.
    if (!co_await admitted(c)) co_return;
    co_await count_tokens_on_vllm(c, *resolved->first, resolved->second, parsed->get_object());
    co_return;
  }
  if (!messages_route && resolved.ok() && resolved->first->kind == "bedrock") {
    // count_tokens on a Bedrock model: Bedrock's CountTokens counts it.
    if (c.key->local_only) {
      co_await refuse_remote(c);
      co_return;
    }
    if (!co_await admitted(c)) co_return;
    co_await count_tokens_on_bedrock(c, *resolved->first, resolved->second, parsed->get_object());
    co_return;
  }
  const auto ait = resolved.ok() ? deps_.adapters.find(resolved->first->kind) : deps_.adapters.end();
  if (!anthropic_model || ait == deps_.adapters.end()) {
    co_await fail(c, 404, "not_found_error",
                  "model '" + c.requested_model + "' has no Anthropic provider for /v1" + path, "model_not_found");
    co_return;
  }
  const ProviderConfig& p = *resolved->first;
  if (c.key->local_only) {  // Anthropic is never in the account
    co_await refuse_remote(c);
    co_return;
  }
  if (!co_await admitted(c)) co_return;
  c.provider = p.name;
  c.model = resolved->second;
  if (std::string_view(path) == "/messages") {  // (count_tokens answers carry no usage to meter a hit by)
    const bool answered = co_await passthrough_from_cache(c, parsed->get_object());
    if (answered) co_return;
  }

  auto made = ait->second->native_request(p.target(resolved->second, p.base_url), path);
  if (!made.ok()) {
    co_await fail(c, 404, "not_found_error", made.status().message(), "model_not_found");
    co_return;
  }
  UpstreamRequest& req = *made;
  // The client's API version and beta features go along (they change what
  // the request and the answer may hold); the adapter's version otherwise.
  for (auto& [name, value] : req.headers) {
    if (name == "anthropic-version" && !ex.request()["anthropic-version"].empty()) {
      value = std::string(ex.request()["anthropic-version"]);
    }
  }
  if (const std::string_view beta = ex.request()["anthropic-beta"]; !beta.empty()) {
    req.headers.emplace_back("anthropic-beta", std::string(beta));
  }
  bj::object body = std::move(parsed->get_object());
  body["model"] = resolved->second;
  req.body = bj::serialize(body);
  // One endpoint of the provider; its outcome counts towards the
  // provider's health as on chat, and with fallbacks an ejected one is
  // skipped as chat skips it.
  EndpointWalk walk(health_, rr_, p);
  const bool can_fall_back = messages_route && order.size() > 1;
  UpstreamCall call;
  Status st;
  std::string why = "every endpoint is ejected until its cool-down ends";
  bool failed = can_fall_back && walk.all_ejected();
  if (const LimitVerdict room = failed ? LimitVerdict{} : take_quota(c, p, resolved->second); !room.allowed) {
    // Anthropic's quota for the model is reached: the route's others
    // answer, or the client hears it as Anthropic would say it.
    if (!can_fall_back) {
      co_await rate_limited(c, room, "provider_quota_exceeded");
      co_return;
    }
    failed = true;
    why = room.message;
  }
  if (!failed) {
    st = co_await open_call(c, p, req, call);
    why = st.ok() ? "status " + std::to_string(call.status()) : st.message();
    failed = !st.ok() || call.status() >= 500 || call.status() == 429;
    if (!failed && can_fall_back && call.headers()[http::bhttp::field::content_type].starts_with("text/event-stream")) {
      // An overloaded Anthropic may answer 200 and then an error as the
      // stream's first event: nothing has gone out yet, so that fails over too.
      std::string first_error = co_await first_stream_error(c, call);
      if (!first_error.empty()) {
        failed = true;
        why = first_error;
      }
    }
    walk.record(!failed, failed, why);
  }
  if (failed && can_fall_back) {
    // Nothing has reached the client: the route's other targets answer, in
    // translation where they are not Anthropic's (as chat fails over).
    call.abort();
    c.error = why.starts_with(p.name + "/") ? why : p.name + ": " + why;  // (a quota's message names it already)
    c.read_ahead.clear();
    c.lead.end();  // no answer under this key: its followers try on their own
    log::warn("upstream failed; trying the route's other targets",
              {{"provider", p.name}, {"error", c.error}, {"request_id", ex.info().request_id}});
    c.targets.assign(order.begin() + 1, order.end());
    c.primary_failed = true;
    co_await messages_via_chat(c, body);
    co_return;
  }
  co_await relay_answer(c, call, st, p.name, resolved->second);
}

// /v1/messages/count_tokens for a vLLM model: the request translated as
// for /v1/messages and counted by the replica's POST /tokenize (its chat
// template applied, with the generation prompt, as the model will see it).
// One replica, no failover; not metered (nothing is generated).
asio::awaitable<void> Gateway::count_tokens_on_vllm(Call& c, const ProviderConfig& p, const std::string& model,
                                                    const bj::object& request) {
  std::optional<bj::object> chat = co_await counted_as_chat(c, request);
  if (!chat) co_return;
  bj::object plain;
  if (without_claude_fields(*chat, &plain)) *chat = std::move(plain);
  bj::object body{{"model", model}, {"messages", chat->at("messages")}, {"add_generation_prompt", true}};
  if (const auto* tools = chat->if_contains("tools")) body["tools"] = *tools;
  // Counted as the template will render it: with thinking switched as asked.
  if (const std::string* kwarg = p.thinking_kwarg(model)) {
    if (const std::optional<bool> on = reasoning::wants_thinking(request)) {
      reasoning::switch_template_thinking(body, *kwarg, *on);
    }
  }
  EndpointWalk walk(health_, rr_, p);
  UpstreamRequest req;
  req.url = origin_url(walk.endpoint(), "/tokenize");
  req.headers = {{"content-type", "application/json"}};
  req.body = bj::serialize(body);
  req.ca_file = p.ca_file;
  c.provider = p.name;
  c.model = model;
  UpstreamCall call;
  Status st = co_await open_call(c, p, req, call);
  std::string out;
  if (st.ok()) st = co_await call.read_all(out, 64 << 20);
  const unsigned status = st.ok() ? call.status() : 0;
  auto v = json::parse(out, {.max_bytes = 64 << 20, .max_depth = 8});
  const bj::value* count = v.ok() && v->is_object() ? v->get_object().if_contains("count") : nullptr;
  const bool ok = status >= 200 && status < 300 && count && count->is_int64() && count->get_int64() >= 0;
  walk.record(ok, !st.ok() || status >= 500, st.ok() ? "status " + std::to_string(status) : st.message());
  if (!ok) {
    const std::string why = !st.ok() ? st.message() : "status " + std::to_string(status) + " from /tokenize";
    co_await fail(c, 502, "api_error", p.name + ": cannot count tokens: " + why, "upstream_failed");
    co_return;
  }
  c.status = 200;
  http::Response res = http::json_response(http::HttpStatus::ok, bj::object{{"input_tokens", count->get_int64()}});
  res.set("x-spectra-provider", p.name);
  co_await c.ex->respond(std::move(res));
  finish(c);
}

// Reads the upstream's stream up to its first event that is not a ping
// (kept in c.read_ahead for the relay) and returns that event's error
// message if it is an error, else "". A read that fails is an error too.
asio::awaitable<std::string> Gateway::first_stream_error(Call& c, UpstreamCall& call) {
  wire::sse::Parser parser;
  std::vector<wire::sse::Event> events;
  while (!c.read_ahead_done) {
    std::string piece;
    Status rs = co_await call.read_some(piece, c.read_ahead_done);
    if (!rs.ok()) co_return "stream failed before its first event: " + rs.message();
    c.read_ahead += piece;
    events.clear();
    if (!parser.feed(piece, &events).ok()) co_return std::string();  // the relay reports it
    for (const auto& e : events) {
      if (e.type == "ping") continue;
      if (e.type != "error") co_return std::string();
      auto v = json::parse(e.data, {.max_bytes = 1 << 20, .max_depth = 8});
      const bj::value* m = v.ok() && v->is_object() ? v->get_object().if_contains("error") : nullptr;
      m = m && m->is_object() ? m->get_object().if_contains("message") : nullptr;
      co_return "error event: " + (m && m->is_string() ? std::string(m->get_string()) : e.data.substr(0, 200));
    }
  }
  co_return std::string();
}

// The chat request for a Messages request, or nothing once a 400 naming
// the field that cannot be translated has gone out.
asio::awaitable<std::optional<bj::object>> Gateway::translated(Call& c, const bj::object& request) {
  std::string param;
  auto chat = messages::to_chat_request(request, &param);
  // The client's beta flags go along: to Anthropic as they are, to Claude
  // on Bedrock those the operator lists for the model (anthropic_beta.h).
  Result<bj::array> flags = anthropic_beta::from_header(c.ex->request()["anthropic-beta"]);
  if (chat.ok() && flags.ok()) {
    if (!flags->empty()) (*chat)["anthropic_beta"] = std::move(*flags);
    co_return std::move(*chat);
  }
  c.error_param = chat.ok() ? "anthropic-beta" : param;
  co_await fail(c, 400, "invalid_request_error", (chat.ok() ? flags.status() : chat.status()).message(),
                "invalid_request");
  co_return std::nullopt;
}

// A Messages request for a model that is not Anthropic's: translated into
// a chat request and served by the chat pipeline (its routes, fallbacks,
// overflow policy, caches, metering and audit), the answer translated back
// (see ai/messages_dialect.h).
asio::awaitable<void> Gateway::messages_via_chat(Call& c, const bj::object& request) {
  std::optional<bj::object> chat = co_await translated(c, request);
  if (!chat) co_return;
  co_await serve_translated(c, *chat, Dialect::messages);
}

// A translated request checked as if a chat client had sent it, then
// served by the chat pipeline with its answers in the client's API (its
// usage goes in that API's closing events, not in a chat usage chunk).
asio::awaitable<void> Gateway::serve_translated(Call& c, bj::object& chat, Dialect dialect) {
  RequestError rerr;
  auto req = check_chat_request(std::move(chat), &rerr);
  if (!req.ok()) {
    c.error_param = rerr.param;
    co_await fail(c, 400, "invalid_request_error", rerr.message, rerr.code);
    co_return;
  }
  c.body = std::move(req->body);
  c.stream = req->stream;
  c.include_usage = false;
  c.dialect = dialect;
  c.route.clear();
  co_await serve_chat(c);
}

// /v1/messages/count_tokens for a Bedrock model: the request translated as
// for /v1/messages and counted by Bedrock's CountTokens (which counts for
// some of its models only; the others are refused with Bedrock's reason).
asio::awaitable<void> Gateway::count_tokens_on_bedrock(Call& c, const ProviderConfig& p, const std::string& model,
                                                       const bj::object& request) {
  std::optional<bj::object> chat = co_await counted_as_chat(c, request);
  if (!chat) co_return;
  co_await count_tokens_with(c, p, model, *chat, Dialect::messages);
}

// A count_tokens request as the chat request its /v1/messages twin would
// be (count_tokens has no max_tokens; the translation requires one), or
// nothing once a refusal has gone out.
asio::awaitable<std::optional<bj::object>> Gateway::counted_as_chat(Call& c, const bj::object& request) {
  bj::object counted = request;
  counted["max_tokens"] = 1;
  std::optional<bj::object> chat = co_await translated(c, counted);
  co_return chat;
}

}  // namespace spectra::ai
