#include "api/config_api.h"
#include "api/request_parse.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include "common/json_util.h"
#include "common/log.h"
#include "config/model_schema.h"

namespace spectra::api {
namespace {

namespace bj = boost::json;
using http::Exchange;
using http::HttpStatus;
using http::Params;



// Runs `(*job)()` on the blocking pool and resumes the awaiting coroutine on
// its own executor. `job` lives in the caller's coroutine frame; only a
// pointer crosses into Asio. (GCC 12 miscompiles non-trivial by-value
// parameters of coroutines -- shared_ptr refcounts went wrong under ASan --
// so nothing but pointers and references is passed into one here.)
template <class F>
auto run_blocking(ApiContext& ctx, F* job) {
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void()>(
      [pool = ctx.blocking, job](auto handler) {
        boost::asio::post(*pool, [handler = std::move(handler), job]() mutable {
          (*job)();
          auto ex = boost::asio::get_associated_executor(handler);
          boost::asio::dispatch(ex, std::move(handler));
        });
      },
      boost::asio::use_awaitable);
}

HttpStatus http_status(Code c) {
  switch (c) {
    case Code::kInvalidArgument: return HttpStatus::bad_request;
    case Code::kNotFound: return HttpStatus::not_found;
    case Code::kAlreadyExists:
    case Code::kConflict: return HttpStatus::conflict;
    case Code::kPermissionDenied: return HttpStatus::forbidden;
    case Code::kUnauthenticated: return HttpStatus::unauthorized;
    case Code::kResourceExhausted: return HttpStatus::payload_too_large;
    case Code::kUnavailable: return HttpStatus::service_unavailable;
    case Code::kDeadlineExceeded: return HttpStatus::gateway_timeout;
    default: return HttpStatus::internal_server_error;
  }
}

http::Response status_error(const Status& s) {
  if (http_status(s.code()) == HttpStatus::internal_server_error) {
    log::error("config API internal error", {{"error", s.to_string()}});
    return http::error_response(HttpStatus::internal_server_error, "internal",
                                "the server failed to complete the request; see its log");
  }
  return http::error_response(http_status(s.code()), code_name(s.code()), s.message());
}

http::Response validation_error(const config::Errors& errors) {
  bj::array list;
  for (const auto& e : errors) list.push_back(bj::object{{"path", e.path}, {"reason", e.reason}});
  std::string msg = std::to_string(errors.size()) + " problem" + (errors.size() == 1 ? "" : "s") +
                    " in the config; nothing was changed";
  return http::error_response(HttpStatus::unprocessable_entity, "invalid_config", msg,
                              bj::object{{"errors", std::move(list)}});
}

// Authenticates and authorises; on failure answers and returns nullopt.
boost::asio::awaitable<std::optional<Principal>> authorize(ApiContext& ctx, Exchange& ex, Role need) {
  auto p = ctx.tokens->authenticate(ex.request()[http::bhttp::field::authorization]);
  if (!p.ok()) {
    auto res = http::error_response(HttpStatus::unauthorized, "unauthenticated", p.status().message());
    res.set(http::bhttp::field::www_authenticate, "Bearer realm=\"spectra\"");
    co_await ex.respond(std::move(res));
    co_return std::nullopt;
  }
  if (need == Role::kAdmin && p->role != Role::kAdmin) {
    { http::Response res_ = http::error_response(HttpStatus::forbidden, "permission_denied",
                                             "token '" + p->name + "' has role viewer; this needs admin"); co_await ex.respond(std::move(res_)); }
    co_return std::nullopt;
  }
  co_return *p;
}

// Parses the body as a JSON object with only `allowed` fields.


Result<bj::object> body_object(Exchange& ex, std::initializer_list<std::string_view> allowed, bool required) {
  return parse_body_object(ex.request().body(), ex.request()[http::bhttp::field::content_type], allowed, required);
}

Result<std::uint64_t> base_revision(Exchange& ex) {
  auto v = ex.request()[http::bhttp::field::if_match];
  if (v.empty()) {
    return Status(Code::kConflict, "");  // marker: mapped to 428 by the caller
  }
  std::uint64_t n = 0;
  if (!parse_if_match(v, &n)) return invalid_argument("If-Match must be a revision such as \"12\"");
  return n;
}


http::Response precondition_required() {
  return http::error_response(HttpStatus::precondition_required, "precondition_required",
                              "writes must name the revision they are based on: send If-Match: \"<revision>\"");
}

http::Response stale(const Status& s, std::uint64_t head) {
  return http::error_response(HttpStatus::conflict, "conflict", s.message(),
                              bj::object{{"current_revision", head}});
}

http::Response with_etag(http::Response r, std::uint64_t rev) {
  r.set(http::bhttp::field::etag, "\"" + std::to_string(rev) + "\"");
  return r;
}

// Shared tail of every write: run on the pool, map errors, notify.
boost::asio::awaitable<void> do_apply(ApiContext& ctx, Exchange& ex, const config::ApplyRequest& req) {
  struct Out {
    Result<config::ApplyResult> r = Status(Code::kInternal, "not run");
    config::Errors errors;
    std::uint64_t head = 0;
  };
  const bool dry_run = req.dry_run;
  Out out;
  auto job = [&] {
    out.r = ctx.config->apply(req, &out.errors);
    out.head = ctx.config->head();
  };
  co_await run_blocking(ctx, &job);
  if (!out.r.ok()) {
    if (!out.errors.empty()) { { http::Response res_ = validation_error(out.errors); co_await ex.respond(std::move(res_)); } co_return; }
    if (out.r.status().code() == Code::kConflict) { { http::Response res_ = stale(out.r.status(), out.head); co_await ex.respond(std::move(res_)); } co_return; }
    { { http::Response res_ = status_error(out.r.status()); co_await ex.respond(std::move(res_)); } co_return; }
  }
  const auto& res = *out.r;
  bj::object body = res.meta.to_json();
  body["diff"] = res.diff;
  body["dry_run"] = dry_run;
  if (res.changed && !dry_run) {
    log::info("config revision committed", {{"revision", res.meta.number}, {"author", res.meta.author},
                                            {"changed", body["changed"]}});
    if (ctx.on_commit) ctx.on_commit(res.meta.number);
  }
  { http::Response res_ = with_etag(http::json_response(HttpStatus::ok, body), out.head); co_await ex.respond(std::move(res_)); }
}

}  // namespace


void register_routes(http::Router& r, ApiContext& ctx) {
  using V = http::Verb;
  auto q = [](Exchange& ex) { return http::query_of(ex.request().target()); };

  r.add(V::get, "/healthz", [](Exchange& ex, const Params&) -> boost::asio::awaitable<void> {
    { http::Response res_ = http::text_response(HttpStatus::ok, "ok\n"); co_await ex.respond(std::move(res_)); }
  });
  r.add(V::get, "/readyz", [&ctx](Exchange& ex, const Params&) -> boost::asio::awaitable<void> {
    bool ready = !ctx.ready || ctx.ready();
    { http::Response res_ = http::text_response(ready ? HttpStatus::ok : HttpStatus::service_unavailable,
                                            ready ? "ready\n" : "not ready\n"); co_await ex.respond(std::move(res_)); }
  });
  r.add(V::get, "/metrics", [&ctx](Exchange& ex, const Params&) -> boost::asio::awaitable<void> {
    { http::Response res_ = http::text_response(HttpStatus::ok, ctx.metrics->render(), "text/plain; version=0.0.4"); co_await ex.respond(std::move(res_)); }
  });
  r.add(V::get, "/api/v1/openapi.json", [&ctx](Exchange& ex, const Params&) -> boost::asio::awaitable<void> {
    static const bj::value doc = openapi_document(ctx.version);
    { http::Response res_ = http::json_response(HttpStatus::ok, doc); co_await ex.respond(std::move(res_)); }
  });

  r.add(V::get, "/api/v1/status", [&ctx](Exchange& ex, const Params&) -> boost::asio::awaitable<void> {
    if (!co_await authorize(ctx, ex, Role::kViewer)) co_return;
    auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - ctx.started);
    bj::object body{{"version", ctx.version},
                    {"revision", ctx.config->head()},
                    {"uptime_seconds", up.count()},
                    {"store", ctx.store_backend},
                    {"components", ctx.components ? ctx.components() : bj::array()}};
    { http::Response res_ = http::json_response(HttpStatus::ok, body); co_await ex.respond(std::move(res_)); }
  });

  r.add(V::get, "/api/v1/config", [&ctx](Exchange& ex, const Params&) -> boost::asio::awaitable<void> {
    if (!co_await authorize(ctx, ex, Role::kViewer)) co_return;
    std::uint64_t rev = 0;
    auto cfg = ctx.config->masked_head(&rev);
    if (!cfg.ok()) { { http::Response res_ = status_error(cfg.status()); co_await ex.respond(std::move(res_)); } co_return; }
    {
      http::Response res_ = with_etag(http::json_response(HttpStatus::ok, bj::object{{"revision", rev}, {"config", *cfg}}), rev);
      co_await ex.respond(std::move(res_));
    }
  });

  r.add(V::get, "/api/v1/config/{section}", [&ctx](Exchange& ex, const Params& p) -> boost::asio::awaitable<void> {
    if (!co_await authorize(ctx, ex, Role::kViewer)) co_return;
    const std::string& name = p.at("section");
    if (!config::is_section(name)) {
      { { http::Response res_ = http::error_response(HttpStatus::not_found, "not_found", "no config section '" + name + "'"); co_await ex.respond(std::move(res_)); } co_return; }
    }
    std::uint64_t rev = 0;
    auto cfg = ctx.config->masked_head(&rev);
    if (!cfg.ok()) { { http::Response res_ = status_error(cfg.status()); co_await ex.respond(std::move(res_)); } co_return; }
    bj::object body{{"revision", rev}, {"section", name}, {"value", cfg->at(name)}};
    { http::Response res_ = with_etag(http::json_response(HttpStatus::ok, body), rev); co_await ex.respond(std::move(res_)); }
  });

  auto write_route = [&ctx, q](bool whole) {
    return [&ctx, q, whole](Exchange& ex, const Params& p) -> boost::asio::awaitable<void> {
      auto who = co_await authorize(ctx, ex, Role::kAdmin);
      if (!who) co_return;
      std::string section = whole ? "" : p.at("section");
      if (!whole && !config::is_section(section)) {
        { { http::Response res_ = http::error_response(HttpStatus::not_found, "not_found", "no config section '" + section + "'"); co_await ex.respond(std::move(res_)); } co_return; }
      }
      auto body = whole ? body_object(ex, {"config", "message"}, true) : body_object(ex, {"value", "message"}, true);
      if (!body.ok()) { { http::Response res_ = status_error(body.status()); co_await ex.respond(std::move(res_)); } co_return; }
      auto base = base_revision(ex);
      if (!base.ok()) {
        { { http::Response res_ = base.status().message().empty() ? precondition_required() : status_error(base.status()); co_await ex.respond(std::move(res_)); } co_return; }
      }
      auto msg = message_of(*body);
      if (!msg.ok()) { { http::Response res_ = status_error(msg.status()); co_await ex.respond(std::move(res_)); } co_return; }
      config::ApplyRequest req;
      req.base = *base;
      req.author = who->name;
      req.message = *msg;
      auto query = q(ex);
      auto dr = query.find("dry_run");
      req.dry_run = dr != query.end() && dr->second == "true";
      if (whole) {
        const auto* c = body->if_contains("config");
        if (!c || !c->is_object()) { { http::Response res_ = status_error(invalid_argument("'config' must be an object of sections")); co_await ex.respond(std::move(res_)); } co_return; }
        req.sections = c->get_object();
      } else {
        const auto* v = body->if_contains("value");
        if (!v) { { http::Response res_ = status_error(invalid_argument("'value' is required")); co_await ex.respond(std::move(res_)); } co_return; }
        req.sections[section] = *v;
      }
      co_await do_apply(ctx, ex, req);
    };
  };
  r.add(V::put, "/api/v1/config", write_route(true));
  r.add(V::put, "/api/v1/config/{section}", write_route(false));

  r.add(V::get, "/api/v1/revisions", [&ctx, q](Exchange& ex, const Params&) -> boost::asio::awaitable<void> {
    if (!co_await authorize(ctx, ex, Role::kViewer)) co_return;
    auto query = q(ex);
    std::uint64_t limit = 20, before = 0;
    if (auto it = query.find("limit"); it != query.end()) {
      auto n = parse_uint(it->second, "limit");
      if (!n.ok() || *n < 1 || *n > 1000) { { http::Response res_ = status_error(invalid_argument("limit must be 1-1000")); co_await ex.respond(std::move(res_)); } co_return; }
      limit = *n;
    }
    if (auto it = query.find("before"); it != query.end()) {
      auto n = parse_uint(it->second, "before");
      if (!n.ok()) { { http::Response res_ = status_error(n.status()); co_await ex.respond(std::move(res_)); } co_return; }
      before = *n;
    }
    Result<std::vector<config::RevisionMeta>> list = Status(Code::kInternal, "not run");
    auto job = [&] { list = ctx.config->list(limit, before); };
    co_await run_blocking(ctx, &job);
    if (!list.ok()) { { http::Response res_ = status_error(list.status()); co_await ex.respond(std::move(res_)); } co_return; }
    bj::array arr;
    for (const auto& m : *list) arr.push_back(m.to_json());
    {
      http::Response res_ = http::json_response(HttpStatus::ok, bj::object{{"revisions", std::move(arr)}});
      co_await ex.respond(std::move(res_));
    }
  });

  r.add(V::get, "/api/v1/revisions/{n}", [&ctx](Exchange& ex, const Params& p) -> boost::asio::awaitable<void> {
    if (!co_await authorize(ctx, ex, Role::kViewer)) co_return;
    auto n = parse_uint(p.at("n"), "revision");
    if (!n.ok()) { { http::Response res_ = status_error(n.status()); co_await ex.respond(std::move(res_)); } co_return; }
    if (*n > ctx.config->head()) {
      { { http::Response res_ = http::error_response(HttpStatus::not_found, "not_found", "no revision " + std::to_string(*n)); co_await ex.respond(std::move(res_)); } co_return; }
    }
    Result<bj::object> out = Status(Code::kInternal, "not run");
    auto job = [&, n = *n] {
      auto m = ctx.config->meta(n);
      if (!m.ok()) return void(out = m.status());
      auto c = ctx.config->config_at(n);
      if (!c.ok()) return void(out = c.status());
      out = bj::object{{"revision", m->to_json()}, {"config", ctx.config->mask(*c)}};
    };
    co_await run_blocking(ctx, &job);
    if (!out.ok()) { { http::Response res_ = status_error(out.status()); co_await ex.respond(std::move(res_)); } co_return; }
    { http::Response res_ = http::json_response(HttpStatus::ok, *out); co_await ex.respond(std::move(res_)); }
  });

  r.add(V::get, "/api/v1/diff", [&ctx, q](Exchange& ex, const Params&) -> boost::asio::awaitable<void> {
    if (!co_await authorize(ctx, ex, Role::kViewer)) co_return;
    auto query = q(ex);
    auto from = parse_uint(query["from"], "from");
    auto to = query.count("to") ? parse_uint(query["to"], "to") : Result<std::uint64_t>(ctx.config->head());
    if (!from.ok()) { { http::Response res_ = status_error(from.status()); co_await ex.respond(std::move(res_)); } co_return; }
    if (!to.ok()) { { http::Response res_ = status_error(to.status()); co_await ex.respond(std::move(res_)); } co_return; }
    std::uint64_t head = ctx.config->head();
    if (*from > head || *to > head) {
      { http::Response res_ = http::error_response(HttpStatus::not_found, "not_found", "no such revision; the head is " + std::to_string(head)); co_await ex.respond(std::move(res_)); }
      co_return;
    }
    Result<bj::array> d = Status(Code::kInternal, "not run");
    auto job = [&, a = *from, b = *to] { d = ctx.config->diff(a, b); };
    co_await run_blocking(ctx, &job);
    if (!d.ok()) { { http::Response res_ = status_error(d.status()); co_await ex.respond(std::move(res_)); } co_return; }
    {
      http::Response res_ = http::json_response(HttpStatus::ok, bj::object{{"from", *from}, {"to", *to}, {"diff", *d}});
      co_await ex.respond(std::move(res_));
    }
  });

  r.add(V::post, "/api/v1/revisions/{n}/rollback", [&ctx](Exchange& ex, const Params& p) -> boost::asio::awaitable<void> {
    auto who = co_await authorize(ctx, ex, Role::kAdmin);
    if (!who) co_return;
    auto n = parse_uint(p.at("n"), "revision");
    if (!n.ok()) { { http::Response res_ = status_error(n.status()); co_await ex.respond(std::move(res_)); } co_return; }
    auto body = body_object(ex, {"message"}, false);
    if (!body.ok()) { { http::Response res_ = status_error(body.status()); co_await ex.respond(std::move(res_)); } co_return; }
    auto msg = message_of(*body);
    if (!msg.ok()) { { http::Response res_ = status_error(msg.status()); co_await ex.respond(std::move(res_)); } co_return; }
    auto base = base_revision(ex);
    if (!base.ok()) {
      { { http::Response res_ = base.status().message().empty() ? precondition_required() : status_error(base.status()); co_await ex.respond(std::move(res_)); } co_return; }
    }
    if (*n > ctx.config->head()) {
      { { http::Response res_ = http::error_response(HttpStatus::not_found, "not_found", "no revision " + std::to_string(*n)); co_await ex.respond(std::move(res_)); } co_return; }
    }
    struct Out {
      Result<config::ApplyResult> r = Status(Code::kInternal, "not run");
      std::uint64_t head = 0;
    };
    Out out;
    auto job = [&, n = *n, base = *base] {
      out.r = ctx.config->rollback(n, base, who->name, *msg);
      out.head = ctx.config->head();
    };
    co_await run_blocking(ctx, &job);
    if (!out.r.ok()) {
      if (out.r.status().code() == Code::kConflict) { { http::Response res_ = stale(out.r.status(), out.head); co_await ex.respond(std::move(res_)); } co_return; }
      { { http::Response res_ = status_error(out.r.status()); co_await ex.respond(std::move(res_)); } co_return; }
    }
    bj::object res = out.r->meta.to_json();
    res["diff"] = out.r->diff;
    res["dry_run"] = false;
    if (out.r->changed && ctx.on_commit) ctx.on_commit(out.r->meta.number);
    { http::Response res_ = with_etag(http::json_response(HttpStatus::ok, res), out.head); co_await ex.respond(std::move(res_)); }
  });

 r.add(V::get, "/api/v1/ai/usage", [&ctx](Exchange& ex, const Params&) -> boost::asio::awaitable<void> {
    if (!co_await authorize(ctx, ex, Role::kViewer)) co_return;
    bj::array rows = ctx.ai_usage ? ctx.ai_usage() : bj::array();
    http::Response res = http::json_response(HttpStatus::ok, bj::object{{"usage", std::move(rows)}});
    co_await ex.respond(std::move(res));
  });

  r.add(V::get, "/api/v1/ai/upstreams", [&ctx](Exchange& ex, const Params&) -> boost::asio::awaitable<void> {
    if (!co_await authorize(ctx, ex, Role::kViewer)) co_return;
    bj::array rows = ctx.ai_upstreams ? ctx.ai_upstreams() : bj::array();
    http::Response res = http::json_response(HttpStatus::ok, bj::object{{"upstreams", std::move(rows)}});
    co_await ex.respond(std::move(res));
  });

  r.add(V::get, "/api/v1/ai/budgets", [&ctx](Exchange& ex, const Params&) -> boost::asio::awaitable<void> {
    if (!co_await authorize(ctx, ex, Role::kViewer)) co_return;
    bj::array rows = ctx.ai_budgets ? ctx.ai_budgets() : bj::array();
    http::Response res = http::json_response(HttpStatus::ok, bj::object{{"budgets", std::move(rows)}});
    co_await ex.respond(std::move(res));
  });

  r.add(V::get, "/api/v1/tokens", [&ctx](Exchange& ex, const Params&) -> boost::asio::awaitable<void> {
    if (!co_await authorize(ctx, ex, Role::kAdmin)) co_return;
    bj::array arr;
    for (const auto& t : ctx.tokens->list()) arr.push_back(t.to_json());
    {
      http::Response res_ = http::json_response(HttpStatus::ok, bj::object{{"tokens", std::move(arr)}});
      co_await ex.respond(std::move(res_));
    }
  });

  r.add(V::post, "/api/v1/tokens", [&ctx](Exchange& ex, const Params&) -> boost::asio::awaitable<void> {
    if (!co_await authorize(ctx, ex, Role::kAdmin)) co_return;
    auto body = body_object(ex, {"name", "role"}, true);
    if (!body.ok()) { { http::Response res_ = status_error(body.status()); co_await ex.respond(std::move(res_)); } co_return; }
    const auto* name = body->if_contains("name");
    std::string why;
    if (!name || !name->is_string() || !config::matches_format(config::Format::kName, name->get_string(), &why)) {
      { { http::Response res_ = status_error(invalid_argument("'name' " + (why.empty() ? std::string("is required") : why))); co_await ex.respond(std::move(res_)); } co_return; }
    }
    Role role = Role::kViewer;
    if (const auto* r = body->if_contains("role")) {
      if (!r->is_string() || !parse_role(r->get_string(), &role)) {
        { { http::Response res_ = status_error(invalid_argument("'role' must be admin or viewer")); co_await ex.respond(std::move(res_)); } co_return; }
      }
    }
    TokenInfo info;
    std::string token_name(name->get_string());
    Result<std::string> tok = Status(Code::kInternal, "not run");
    auto job = [&] { tok = ctx.tokens->create(token_name, role, &info); };
    co_await run_blocking(ctx, &job);
    if (!tok.ok()) { { http::Response res_ = status_error(tok.status()); co_await ex.respond(std::move(res_)); } co_return; }
    bj::object res = info.to_json();
    res["token"] = *tok;
    { http::Response res_ = http::json_response(HttpStatus::created, res); co_await ex.respond(std::move(res_)); }
  });

  r.add(V::delete_, "/api/v1/tokens/{id}", [&ctx](Exchange& ex, const Params& p) -> boost::asio::awaitable<void> {
    auto who = co_await authorize(ctx, ex, Role::kAdmin);
    if (!who) co_return;
    std::string id = p.at("id");
    if (id == who->token_id) {
      { http::Response res_ = status_error(invalid_argument("a token cannot revoke itself; use another admin token")); co_await ex.respond(std::move(res_)); }
      co_return;
    }
    Status s;
    auto job = [&] { s = ctx.tokens->revoke(id); };
    co_await run_blocking(ctx, &job);
    if (!s.ok()) { { http::Response res_ = status_error(s); co_await ex.respond(std::move(res_)); } co_return; }
    http::Response res{HttpStatus::no_content, 11};
    co_await ex.respond(std::move(res));
  });
}

}  // namespace spectra::api
