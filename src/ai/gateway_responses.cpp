// The Responses API's routes that name a stored answer by id: they carry no
// model to route by, so they go where the answer was made (ResponseOwners),
// and only for the key that made it. And the Responses API for models that
// do not speak it, through the chat pipeline in translation.
#include "ai/chat_request.h"
#include "ai/gateway.h"
#include "ai/gateway_call.h"
#include "ai/responses_dialect.h"
#include "ai/upstream_client.h"

namespace spectra::ai {

namespace asio = boost::asio;

namespace {

// The fleet's shared storage for the records, or null (memory backend).
CacheStorage* fleet_storage(const std::shared_ptr<CacheStorage>& cache) {
  return cache && std::string_view(cache->backend()) == "redis" ? cache.get() : nullptr;
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

asio::awaitable<bool> Gateway::pin_previous_response(Call& c, const bj::object& body, const ProviderConfig& p) {
  const auto* prev = body.if_contains("previous_response_id");
  if (!prev || !prev->is_string()) co_return true;
  const std::string id(prev->get_string());
  std::optional<ResponseOwner> owner;
  if (valid_response_id(id)) owner = co_await owners_.find(id, fleet_storage(c.cache));
  c.error_param = "previous_response_id";
  if (!owner || owner->key != c.key->name) {
    co_await fail(c, 404, "invalid_request_error", "Previous response with id '" + id + "' not found.",
                  "previous_response_not_found");
    co_return false;
  }
  if (owner->provider != p.name) {
    co_await fail(c, 400, "invalid_request_error",
                  "previous response '" + id + "' was made by provider '" + owner->provider + "', not '" + p.name + "'",
                  "invalid_request");
    co_return false;
  }
  c.error_param.clear();
  c.endpoint = owner->endpoint;
  co_return true;
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

// See ai/responses_dialect.h for what is translated and what is refused.
asio::awaitable<void> Gateway::responses_via_chat(Call& c, const bj::object& request) {
  std::string param;
  auto translation = responses::to_chat_request(request, &param);
  if (!translation.ok()) {
    c.error_param = param;
    co_await fail(c, 400, "invalid_request_error", translation.status().message(), "invalid_request");
    co_return;
  }
  // The chat request's own checks, as if a chat client had sent it.
  RequestError rerr;
  auto req = check_chat_request(std::move(translation->chat), &rerr);
  if (!req.ok()) {
    c.error_param = rerr.param;
    co_await fail(c, 400, "invalid_request_error", rerr.message, rerr.code);
    co_return;
  }
  c.body = std::move(req->body);
  c.stream = req->stream;
  c.include_usage = false;  // usage goes in response.completed
  c.dialect = Dialect::responses;
  c.responses_api = false;  // (that flag is the pass-through's: stored answers, typed events as they came)
  c.echo = std::move(translation->echo);
  c.route.clear();
  co_await serve_chat(c);
}

}  // namespace spectra::ai
