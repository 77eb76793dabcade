// The Responses API's routes that name a stored answer by id: they carry no
// model to route by, so they go where the answer was made (ResponseOwners),
// and only for the key that made it. And the Responses API for models that
// do not speak it, through the chat pipeline in translation.
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>

#include "ai/chat_request.h"
#include "ai/gateway.h"
#include "ai/gateway_call.h"
#include "ai/responses_dialect.h"
#include "ai/responses_replay.h"
#include "ai/upstream_client.h"
#include "common/json_util.h"
#include "http/router.h"

namespace spectra::ai {

namespace asio = boost::asio;

namespace {

// Provider kinds with a counter of their own (ProviderAdapter::build_count_tokens).
bool has_token_counter(const std::string& kind) { return kind == "anthropic" || kind == "bedrock"; }

// The fleet's shared storage for the records, or null (memory backend).
CacheStorage* fleet_storage(const std::shared_ptr<CacheStorage>& cache) {
  return cache && std::string_view(cache->backend()) == "redis" ? cache.get() : nullptr;
}

// Where a kept translated answer lives (under the storage's prefix: in
// Redis "spectra:ai:cache:translated-response:<id>").
std::string kept_key(const std::string& id) { return "translated-response:" + id; }

// How long a gateway of a fleet keeps its own copy of an answer it kept:
// the fleet's store writes in the background.
constexpr std::chrono::seconds kFleetWriteWindow{10};

// A list page of input items, as OpenAI pages them: newest first unless
// order=asc, `limit` (1-100, default 20) after the item `after`.
bj::object list_page(const bj::array& items, const std::map<std::string, std::string>& query) {
  std::vector<const bj::value*> ordered;
  for (const auto& i : items) ordered.push_back(&i);
  const auto order = query.find("order");
  if (order == query.end() || order->second != "asc") std::reverse(ordered.begin(), ordered.end());
  std::size_t start = 0;
  if (const auto after = query.find("after"); after != query.end()) {
    for (std::size_t i = 0; i < ordered.size(); ++i) {
      if (ordered[i]->is_object() && json::string_at(ordered[i]->get_object(), "id") == after->second) start = i + 1;
    }
  }
  std::int64_t limit = 20;
  if (const auto l = query.find("limit"); l != query.end()) limit = std::clamp<std::int64_t>(std::atoll(l->second.c_str()), 1, 100);
  bj::array data;
  for (std::size_t i = start; i < ordered.size() && data.size() < static_cast<std::size_t>(limit); ++i) data.push_back(*ordered[i]);
  const bool more = start + data.size() < ordered.size();
  bj::value first = data.empty() ? bj::value(nullptr) : data.front().at("id");
  bj::value last = data.empty() ? bj::value(nullptr) : data.back().at("id");
  return bj::object{{"object", "list"}, {"data", std::move(data)}, {"first_id", first}, {"last_id", last}, {"has_more", more}};
}

}  // namespace

void Gateway::note_response(Call& c, const bj::value& answer_or_event) {
  c.response_noted = true;  // one try: the whole answer, or a stream's first event
  if (!answer_or_event.is_object()) return;
  const bj::object* r = &answer_or_event.get_object();
  if (const auto* inner = r->if_contains("response"); inner && inner->is_object()) r = &inner->get_object();
  const auto* id = r->if_contains("id");
  if (!id || !id->is_string()) return;
  owners_.record(std::string(id->get_string()), ResponseOwner{c.key->name, c.provider, c.endpoint},
                 fleet_storage(c.cache));
}

asio::awaitable<std::optional<std::size_t>> Gateway::pin_previous_response(Call& c, const bj::object& body,
                                                                          const std::vector<std::string>& providers) {
  const auto* prev = body.if_contains("previous_response_id");
  if (!prev || !prev->is_string()) co_return 0;
  const std::string id(prev->get_string());
  std::optional<ResponseOwner> owner;
  if (valid_response_id(id)) owner = co_await owners_.find(id, fleet_storage(c.cache));
  c.error_param = "previous_response_id";
  if (!owner || owner->key != c.key->name) {
    co_await fail(c, 404, "invalid_request_error", "Previous response with id '" + id + "' not found.",
                  "previous_response_not_found");
    co_return std::nullopt;
  }
  if (owner->endpoint.empty()) {
    co_await fail(c, 400, "invalid_request_error",
                  "previous response '" + id + "' was made in translation (provider '" + owner->provider +
                      "'): continue it with a model the gateway translates for",
                  "invalid_request");
    co_return std::nullopt;
  }
  // (A route's fallback may have made it: the route's target is then not
  // where its state is.)
  const auto at = std::find(providers.begin(), providers.end(), owner->provider);
  if (at == providers.end()) {
    // (The message made first: GCC 12 mishandles a conditional's temporary
    // inside a co_await expression.)
    std::string message = "previous response '" + id + "' was made by provider '" + owner->provider + "', not '";
    if (!providers.empty()) message += providers.front();
    message += "'";
    co_await fail(c, 400, "invalid_request_error", message, "invalid_request");
    co_return std::nullopt;
  }
  c.error_param.clear();
  c.endpoint = owner->endpoint;
  co_return static_cast<std::size_t>(at - providers.begin());
}

asio::awaitable<void> Gateway::response_by_id(http::Exchange& ex, const std::string& id, const char* suffix) {
  Call c;
  begin(c, ex);
  // The audit record names the answer read (an id that could not be one is not copied).
  c.route = "/responses/" + (valid_response_id(id) ? id : std::string("{invalid id}")) + suffix;
  c.meter_usage = false;  // a stored answer's usage was metered when it was made
  if (!co_await authenticated(c)) co_return;
  // Unknown, or another key's: the same answer, so ids cannot be probed.
  std::optional<ResponseOwner> owner;
  if (valid_response_id(id)) owner = co_await owners_.find(id, fleet_storage(c.cache));
  if (!owner || owner->key != c.key->name) {
    c.error_param = "response_id";
    co_await fail(c, 404, "invalid_request_error", "No response found with id '" + id + "'.", "response_not_found");
    co_return;
  }
  auto pit = c.cfg->providers.find(owner->provider);
  if (pit == c.cfg->providers.end()) {
    co_await fail(c, 404, "invalid_request_error",
                  "response '" + id + "' was made by provider '" + owner->provider + "', which is no longer configured",
                  "response_not_found");
    co_return;
  }
  const ProviderConfig& p = pit->second;
  if (c.key->local_only && !p.local()) {  // the key was made local-only since
    co_await fail(c, 403, "permission_error",
                  "key '" + c.key->name + "' is local-only: response '" + id + "' is stored by provider '" + p.name +
                      "', outside the account",
                  "model_not_allowed");
    co_return;
  }
  if (!co_await admitted(c)) co_return;
  if (owner->endpoint.empty()) {  // a translated answer: kept by the gateway itself
    co_await kept_response_by_id(c, *owner, id, suffix);
    co_return;
  }
  if (ex.request().method() == http::Verb::delete_) owners_.forget(id, fleet_storage(c.cache));
  UpstreamRequest req;
  req.method = std::string(ex.request().method_string());
  const std::string_view target = ex.request().target();
  const auto q = target.find('?');
  req.url = owner->endpoint + "/responses/" + id + suffix + std::string(q == std::string_view::npos ? "" : target.substr(q));
  if (ex.request().method() == http::Verb::post) {
    req.headers = {{"content-type", "application/json"}};
    req.body = ex.request().body();
  }
  // No failover: the answer is stored where it was made.
  c.endpoint = owner->endpoint;
  UpstreamCall call;
  Status st = co_await open_call(c, p, req, call);
  co_await relay_answer(c, call, st, p.name, "");
}

void Gateway::keep_response(Call& c, const bj::object& completion) {
  if (c.dialect != Dialect::responses || !c.keep_response) return;
  const responses::Identity identity = response_identity(c);
  bj::array conversation = c.conversation;
  conversation.push_back(responses::assistant_message(completion));
  const bj::object record{{"response", responses::to_response(completion, c.echo, identity)},
                          {"input", c.input_items},
                          {"conversation", std::move(conversation)}};
  const std::string id = "resp_" + identity.request_id;
  // The record before its owner: an owner found means its record was
  // stored. With a fleet, the fleet's store holds it (so a deletion
  // anywhere is seen everywhere) and this gateway a copy for as long as
  // that store may take to write it, so that it reads what it just kept.
  std::string text = bj::serialize(record);
  CacheStorage* fleet = fleet_storage(c.cache);
  if (fleet) fleet->put(kept_key(id), text, ResponseOwners::kDefaultTtl);
  kept_.put(id, std::move(text), fleet ? kFleetWriteWindow : ResponseOwners::kDefaultTtl, /*durable=*/!fleet);
  owners_.record(id, ResponseOwner{c.key->name, c.provider, ""}, fleet);
}

asio::awaitable<std::optional<bj::object>> Gateway::kept_record(Call& c, const std::string& id) {
  const std::string key = kept_key(id);
  std::optional<std::string> text;
  CacheStorage* fleet = fleet_storage(c.cache);
  if (fleet) text = co_await fleet->get(key);
  if (!text) text = kept_.get(id);
  if (!text) co_return std::nullopt;
  auto v = json::parse(*text, {.max_bytes = 64 << 20, .max_depth = 128});
  if (!v.ok() || !v->is_object()) co_return std::nullopt;
  co_return std::move(v->get_object());
}

asio::awaitable<bool> Gateway::previous_conversation(Call& c, const std::string& id, bj::array& history) {
  std::optional<ResponseOwner> owner;
  if (valid_response_id(id)) owner = co_await owners_.find(id, fleet_storage(c.cache));
  c.error_param = "previous_response_id";
  if (owner && owner->key == c.key->name && !owner->endpoint.empty()) {
    co_await fail(c, 400, "invalid_request_error",
                  "previous response '" + id + "' is stored by provider '" + owner->provider +
                      "': continue it with that provider's models",
                  "invalid_request");
    co_return false;
  }
  std::optional<bj::object> record;
  if (owner && owner->key == c.key->name) record = co_await kept_record(c, id);
  bj::value* conversation = record ? record->if_contains("conversation") : nullptr;
  if (!conversation || !conversation->is_array()) {  // unknown, another key's, or expired
    co_await fail(c, 404, "invalid_request_error", "Previous response with id '" + id + "' not found.",
                  "previous_response_not_found");
    co_return false;
  }
  history = std::move(conversation->get_array());
  c.error_param.clear();
  co_return true;
}

asio::awaitable<void> Gateway::kept_response_by_id(Call& c, const ResponseOwner& owner, const std::string& id,
                                                   const char* suffix) {
  std::optional<bj::object> record = co_await kept_record(c, id);
  const bool deleting = c.ex->request().method() == http::Verb::delete_;
  if (!record || !record->contains("response")) {  // (expired or evicted since)
    c.error_param = "response_id";
    co_await fail(c, 404, "invalid_request_error", "No response found with id '" + id + "'.", "response_not_found");
    co_return;
  }
  const std::string_view what = suffix;
  if (what == "/cancel") {
    co_await fail(c, 400, "invalid_request_error", "Only responses created with background=true can be cancelled.",
                  "invalid_request");
    co_return;
  }
  const auto query = http::query_of(c.ex->request().target());
  const auto stream = query.find("stream");
  if (!deleting && what.empty() && stream != query.end() && stream->second == "true") {
    const auto after = query.find("starting_after");  // resuming: the events after that one
    std::int64_t starting_after = -1;
    if (after != query.end()) {
      const std::string& n = after->second;
      const auto r = std::from_chars(n.data(), n.data() + n.size(), starting_after);
      if (n.empty() || r.ec != std::errc() || r.ptr != n.data() + n.size() || starting_after < 0) {
        c.error_param = "starting_after";
        co_await fail(c, 400, "invalid_request_error", "starting_after must be a non-negative integer (an event's sequence_number)",
                      "invalid_request");
        co_return;
      }
    }
    co_await replay_kept_response(c, owner, record->at("response"), starting_after);  // retrieved as a stream
    co_return;
  }
  bj::object answer;
  if (deleting) {
    owners_.forget(id, fleet_storage(c.cache));
    kept_.erase(id);
    if (CacheStorage* fleet = fleet_storage(c.cache)) fleet->erase(kept_key(id));
    answer = bj::object{{"id", id}, {"object", "response"}, {"deleted", true}};
  } else if (what == "/input_items") {
    const bj::value* items = record->if_contains("input");
    answer = list_page(items && items->is_array() ? items->get_array() : bj::array(), query);
  } else {
    answer = std::move(record->at("response").as_object());
  }
  c.status = 200;
  c.provider = owner.provider;
  http::Response res = http::json_response(http::HttpStatus::ok, answer);
  res.set("x-spectra-provider", owner.provider);
  co_await c.ex->respond(std::move(res));
  finish(c);
}

// A kept answer retrieved with ?stream=true: its typed events, as OpenAI
// replays a stored response.
asio::awaitable<void> Gateway::replay_kept_response(Call& c, const ResponseOwner& owner, const bj::value& response,
                                                   std::int64_t starting_after) {
  const std::string events = response.is_object() ? responses_events(response.get_object(), starting_after) : std::string();
  c.status = 200;
  c.provider = owner.provider;
  http::bhttp::response<http::bhttp::empty_body> head{http::HttpStatus::ok, 11};
  head.set(http::bhttp::field::content_type, "text/event-stream");
  head.set(http::bhttp::field::cache_control, "no-cache");
  head.set("x-spectra-provider", owner.provider);
  const bool started = co_await c.ex->begin_stream(std::move(head), /*send_now=*/false);
  if (started) co_await c.ex->finish(events);
  finish(c);
}

// POST /v1/responses/input_tokens for an Anthropic or Bedrock model in
// translation: the request translated as for /v1/responses (with the kept
// conversation a previous_response_id continues) and counted by the
// provider's own counter (count_tokens_with).
asio::awaitable<void> Gateway::input_tokens_via_chat(Call& c, const bj::object& request) {
  std::string target = c.requested_model;
  if (auto it = c.cfg->routes.find(target); it != c.cfg->routes.end()) target = it->second.target;
  auto resolved = c.cfg->resolve(target);
  if (!resolved.ok() || !has_token_counter(resolved->first->kind)) {
    co_await fail(c, 404, "invalid_request_error",
                  "model '" + c.requested_model +
                      "': input tokens are counted in translation for Anthropic and Bedrock models only",
                  "model_not_found");
    co_return;
  }
  if (c.key->local_only) {  // neither is in the account
    co_await refuse_remote(c);
    co_return;
  }
  if (!co_await admitted(c)) co_return;
  std::optional<responses::Translation> translation = co_await translated_responses(c, request);
  if (!translation) co_return;
  co_await count_tokens_with(c, *resolved->first, resolved->second, translation->chat, Dialect::responses);
}

// A translated chat request's input tokens, counted by the provider's own
// counter (Anthropic's count_tokens, Bedrock's CountTokens). One call, no
// failover; not metered (nothing is generated). Answered in the client's
// API: {"input_tokens"} for the Messages API, with "object" for Responses.
asio::awaitable<void> Gateway::count_tokens_with(Call& c, const ProviderConfig& p, const std::string& model,
                                                 bj::object& chat, Dialect dialect) {
  const auto ait = deps_.adapters.find(p.kind);
  if (ait == deps_.adapters.end()) {
    co_await fail(c, 404, "invalid_request_error", "provider kind '" + p.kind + "' is not available", "model_not_found");
    co_return;
  }
  chat["model"] = model;
  auto req = ait->second->build_count_tokens(chat, p.target(model, p.base_url));
  if (!req.ok()) {
    const bool no_counter = req.status().code() == Code::kNotFound;
    co_await fail(c, no_counter ? 404 : 400, "invalid_request_error", req.status().message(),
                  no_counter ? "model_not_found" : "invalid_request");
    co_return;
  }
  c.provider = p.name;
  c.model = model;
  c.meter_usage = false;
  UpstreamCall call;
  Status st = co_await open_call(c, p, *req, call);
  std::string out;
  if (st.ok()) st = co_await call.read_all(out, 1 << 20);
  const unsigned status = st.ok() ? call.status() : 0;
  const bool answered = status >= 200 && status < 300;
  Result<std::int64_t> count = answered ? ait->second->parse_count_tokens(out) : Status(Code::kUnavailable, "");
  // A 4xx but for auth and throttling: the provider refused what it was
  // asked to count (Bedrock: a model it has no counter for), which is the
  // client's request; the rest is the provider's failure.
  const bool refused = status >= 400 && status < 500 && status != 401 && status != 403 && status != 429;
  std::string why = refused ? ait->second->parse_error(status, out).message
                    : !st.ok() ? st.message()
                    : !answered ? "status " + std::to_string(status)
                    : count.ok() ? "" : count.status().message();
  if (refused) {
    co_await fail(c, 400, "invalid_request_error", p.name + ": " + why, "invalid_request");
    co_return;
  }
  if (!count.ok()) {
    co_await fail(c, 502, "api_error", p.name + ": cannot count input tokens: " + why, "upstream_failed");
    co_return;
  }
  c.status = 200;
  bj::object answer{{"input_tokens", *count}};
  if (dialect == Dialect::responses) answer = bj::object{{"object", "response.input_tokens"}, {"input_tokens", *count}};
  http::Response res = http::json_response(http::HttpStatus::ok, answer);
  res.set("x-spectra-provider", p.name);
  co_await c.ex->respond(std::move(res));
  finish(c);
}

// The chat request for a Responses request (after the kept conversation
// its previous_response_id continues), or nothing once a refusal naming
// the field at fault has gone out.
asio::awaitable<std::optional<responses::Translation>> Gateway::translated_responses(Call& c, const bj::object& request) {
  bj::array history;
  const auto* prev = request.if_contains("previous_response_id");
  const bool continues = prev && prev->is_string();
  if (continues) {
    const bool found = co_await previous_conversation(c, std::string(prev->get_string()), history);
    if (!found) co_return std::nullopt;
  }
  std::string param;
  auto translation = responses::to_chat_request(request, continues ? &history : nullptr, &param);
  if (translation.ok()) co_return std::move(*translation);
  c.error_param = param;
  co_await fail(c, 400, "invalid_request_error", translation.status().message(), "invalid_request");
  co_return std::nullopt;
}

// See ai/responses_dialect.h for what is translated and what is refused.
asio::awaitable<void> Gateway::responses_via_chat(Call& c, const bj::object& request) {
  c.dialect = Dialect::responses;  // (its refusals are audited as the Responses API's too)
  c.responses_api = false;  // (that flag is the pass-through's: stored answers, typed events as they came)
  c.created_at = std::chrono::duration_cast<std::chrono::seconds>(deps_.clock->system_now().time_since_epoch()).count();
  std::optional<responses::Translation> translation = co_await translated_responses(c, request);
  if (!translation) co_return;
  c.echo = std::move(translation->echo);
  c.keep_response = translation->store;
  c.conversation = std::move(translation->conversation);
  if (c.keep_response) c.input_items = responses::input_items(request, c.ex->info().request_id);
  co_await serve_translated(c, translation->chat, Dialect::responses);
}

}  // namespace spectra::ai
