#include "cli/commands.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstdio>

#include "cli/diff_format.h"
#include "cli/table.h"
#include "cli/yaml_json.h"
#include "common/json_util.h"

namespace spectra::cli {
namespace {

using http::Verb;

int fail(CommandContext& c, const ApiError& e) {
  print_error(c.err, e);
  return e.exit_code;
}

// A 2xx answer that does not have the documented shape.
int protocol_error(CommandContext& c, const std::string& what) {
  return fail(c, {kExitRefused, "unexpected answer from the config API: " + what, {}});
}

void print_raw(CommandContext& c, const bj::value& body, OutputFormat format) {
  if (format == OutputFormat::kYaml) {
    c.out << json_to_yaml(body);
  } else {
    c.out << json::pretty(body);
  }
}

const bj::object* object_field(const bj::value& v, std::string_view key) {
  const bj::object* o = v.if_object();
  const bj::value* f = o ? o->if_contains(key) : nullptr;
  return f ? f->if_object() : nullptr;
}

const bj::array* array_field(const bj::value& v, std::string_view key) {
  const bj::object* o = v.if_object();
  const bj::value* f = o ? o->if_contains(key) : nullptr;
  return f ? f->if_array() : nullptr;
}

const bj::value* field(const bj::value& v, std::string_view key) {
  const bj::object* o = v.if_object();
  return o ? o->if_contains(key) : nullptr;
}

std::string join(const bj::array* items) {
  std::string out;
  if (!items) return out;
  for (const auto& i : *items) out += (out.empty() ? "" : ", ") + as_text(&i);
  return out;
}

// The head revision, from GET /api/v1/config's body (or, failing that, its
// ETag). On failure the error is printed and `code` set.
std::optional<std::int64_t> read_head(CommandContext& c, int& code) {
  auto r = c.api.call(Verb::get, "/api/v1/config");
  if (auto* e = std::get_if<ApiError>(&r)) {
    code = fail(c, *e);
    return std::nullopt;
  }
  const ApiReply& reply = std::get<ApiReply>(r);
  if (auto rev = as_int(field(reply.body, "revision"))) return rev;
  std::string etag = reply.raw.header("etag");
  if (etag.size() > 2 && etag.front() == '"' && etag.back() == '"') {
    auto parsed = resolve_plain_scalar(etag.substr(1, etag.size() - 2));
    if (parsed.ok() && parsed->is_int64()) return parsed->get_int64();
  }
  code = protocol_error(c, "GET /api/v1/config carries no revision");
  return std::nullopt;
}

// Prints the diff of a write answer, or says that there is none.
void print_diff_or_none(CommandContext& c, const bj::array* diff, const char* none) {
  if (diff && !diff->empty()) {
    c.out << format_diff(*diff);
  } else {
    c.out << none << "\n";
  }
}

}  // namespace

std::string format_duration(std::int64_t seconds) {
  if (seconds <= 0) return "0s";
  const std::pair<std::int64_t, const char*> units[] = {
      {86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  std::string out;
  for (const auto& [size, name] : units) {
    std::int64_t n = seconds / size;
    seconds %= size;
    if (n == 0 && out.empty()) continue;
    if (!out.empty()) out.push_back(' ');
    out += std::to_string(n) + name;
  }
  return out;
}

int cmd_status(CommandContext& c, OutputFormat format) {
  auto r = c.api.call(Verb::get, "/api/v1/status");
  if (auto* e = std::get_if<ApiError>(&r)) return fail(c, *e);
  const bj::value& body = std::get<ApiReply>(r).body;
  if (format != OutputFormat::kTable) {
    print_raw(c, body, format);
    return kExitOk;
  }
  if (!body.is_object()) return protocol_error(c, "GET /api/v1/status is not an object");
  const bj::value* uptime = field(body, "uptime_seconds");
  Table facts({"", ""});
  facts.add_row({"version", as_text(field(body, "version"), "?")});
  facts.add_row({"revision", as_text(field(body, "revision"), "?")});
  facts.add_row(
      {"uptime", uptime && uptime->is_number()
                     ? format_duration(static_cast<std::int64_t>(uptime->to_number<double>()))
                     : "?"});
  facts.add_row({"store", as_text(field(body, "store"), "?")});
  c.out << facts.render(/*with_header=*/false);

  const bj::array* components = array_field(body, "components");
  c.out << "\n";
  if (!components || components->empty()) {
    c.out << "no components reported\n";
    return kExitOk;
  }
  Table t({"COMPONENT", "STATE", "DETAIL"});
  for (const auto& comp : *components) {
    t.add_row({as_text(field(comp, "name"), "?"), as_text(field(comp, "state"), "?"),
               as_text(field(comp, "detail"))});
  }
  c.out << t.render();
  return kExitOk;
}

int cmd_get(CommandContext& c, const std::optional<std::string>& section, OutputFormat format) {
  std::string target = "/api/v1/config";
  if (section) target += "/" + encode_segment(*section);
  auto r = c.api.call(Verb::get, target);
  if (auto* e = std::get_if<ApiError>(&r)) return fail(c, *e);
  const bj::value& body = std::get<ApiReply>(r).body;
  if (format == OutputFormat::kJson) {
    c.out << json::pretty(body);
    return kExitOk;
  }
  bj::object doc;
  if (section) {
    const bj::value* value = field(body, "value");
    if (!value) return protocol_error(c, "GET " + target + " carries no \"value\"");
    doc.emplace(as_text(field(body, "section"), *section), *value);
  } else {
    const bj::object* config = object_field(body, "config");
    if (!config) return protocol_error(c, "GET " + target + " carries no \"config\" object");
    doc = *config;
  }
  c.out << "# revision " << as_text(field(body, "revision"), "?") << "\n";
  c.out << json_to_yaml(doc);
  return kExitOk;
}

int cmd_apply(CommandContext& c, const ApplyDocument& doc,
              const std::optional<std::string>& message, ApplyMode mode, OutputFormat format) {
  int code = kExitOk;
  auto head = read_head(c, code);
  if (!head) return code;

  bj::object req;
  req["config"] = doc.sections;
  if (message) {
    req["message"] = *message;
  } else if (doc.message) {
    req["message"] = *doc.message;
  }
  const bool dry = mode != ApplyMode::kApply;
  const bj::value body(std::move(req));
  auto r =
      c.api.call(Verb::put, dry ? "/api/v1/config?dry_run=true" : "/api/v1/config", &body, head);
  if (auto* e = std::get_if<ApiError>(&r)) return fail(c, *e);
  const bj::value& ans = std::get<ApiReply>(r).body;
  if (format != OutputFormat::kTable) {
    print_raw(c, ans, format);
    return kExitOk;
  }
  const bj::array* diff = array_field(ans, "diff");
  const bool no_change = !diff || diff->empty();

  if (mode == ApplyMode::kDiff) {
    print_diff_or_none(c, diff, "no changes");
    return kExitOk;
  }
  if (mode == ApplyMode::kDryRun) {
    c.out << "dry run against revision " << *head
          << (no_change ? ": nothing would change\n" : ": these changes would be applied\n");
    if (!no_change) c.out << format_diff(*diff);
    return kExitOk;
  }
  auto rev = as_int(field(ans, "revision"));
  if (!rev) return protocol_error(c, "PUT /api/v1/config carries no revision");
  const bj::array* changed = array_field(ans, "changed");
  if (no_change && (!changed || changed->empty())) {
    c.out << "no changes; the config stays at revision " << *rev << "\n";
    return kExitOk;
  }
  c.out << "applied revision " << *rev << " (based on " << *head << ")";
  if (changed && !changed->empty()) c.out << "; changed: " << join(changed);
  c.out << "\n";
  if (!no_change) c.out << format_diff(*diff);
  return kExitOk;
}

int cmd_diff_revisions(CommandContext& c, std::int64_t from, std::int64_t to, OutputFormat format) {
  auto r = c.api.call(Verb::get,
                      "/api/v1/diff?from=" + std::to_string(from) + "&to=" + std::to_string(to));
  if (auto* e = std::get_if<ApiError>(&r)) return fail(c, *e);
  const bj::value& body = std::get<ApiReply>(r).body;
  if (format != OutputFormat::kTable) {
    print_raw(c, body, format);
    return kExitOk;
  }
  const bj::array* diff = array_field(body, "diff");
  if (!diff) return protocol_error(c, "GET /api/v1/diff carries no \"diff\" list");
  print_diff_or_none(c, diff, "no differences");
  return kExitOk;
}

namespace {

// Dollars with six decimals: metering is per token, so cents hide it.
std::string usd(const bj::value* v) {
  if (!v || !v->is_number()) return "?";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", v->to_number<double>());
  return buf;
}

// GET `path` and print its `list` member as a table of `columns` (header,
// cell) or, with json/yaml, the raw answer; `empty` when there are no rows.
template <class Cells>
int list_command(CommandContext& c, OutputFormat format, const std::string& path, const char* list,
                 std::vector<std::string> header, const char* empty, Cells cells) {
  auto r = c.api.call(Verb::get, path);
  if (auto* e = std::get_if<ApiError>(&r)) return fail(c, *e);
  const bj::value& body = std::get<ApiReply>(r).body;
  if (format != OutputFormat::kTable) {
    print_raw(c, body, format);
    return kExitOk;
  }
  const bj::array* rows = array_field(body, list);
  if (!rows) return protocol_error(c, "GET " + path + " carries no \"" + list + "\" list");
  if (rows->empty()) {
    c.out << empty << "\n";
    return kExitOk;
  }
  Table t(std::move(header));
  for (const auto& row : *rows) t.add_row(cells(row));
  c.out << t.render();
  return kExitOk;
}

}  // namespace

int cmd_history(CommandContext& c, int limit, std::optional<std::int64_t> before,
                OutputFormat format) {
  std::string target = "/api/v1/revisions?limit=" + std::to_string(limit);
  if (before) target += "&before=" + std::to_string(*before);
  return list_command(c, format, target, "revisions", {"REV", "AT", "AUTHOR", "CHANGED", "MESSAGE"}, "no revisions",
                      [](const bj::value& rev) -> std::vector<std::string> {
                        return {as_text(field(rev, "revision"), "?"), as_text(field(rev, "at")),
                                as_text(field(rev, "author")), join(array_field(rev, "changed")),
                                as_text(field(rev, "message"))};
                      });
}

int cmd_rollback(CommandContext& c, std::int64_t target, const std::optional<std::string>& message,
                 OutputFormat format) {
  int code = kExitOk;
  auto head = read_head(c, code);
  if (!head) return code;
  std::optional<bj::value> body;
  if (message) body = bj::object{{"message", *message}};
  auto r = c.api.call(Verb::post, "/api/v1/revisions/" + std::to_string(target) + "/rollback",
                      body ? &*body : nullptr, head);
  if (auto* e = std::get_if<ApiError>(&r)) return fail(c, *e);
  const bj::value& ans = std::get<ApiReply>(r).body;
  if (format != OutputFormat::kTable) {
    print_raw(c, ans, format);
    return kExitOk;
  }
  auto rev = as_int(field(ans, "revision"));
  if (!rev) return protocol_error(c, "the rollback answer carries no revision");
  const bj::array* diff = array_field(ans, "diff");
  if (*rev == *head && (!diff || diff->empty())) {
    c.out << "revision " << target
          << " has the same content as the head; the config stays at revision " << *rev << "\n";
    return kExitOk;
  }
  c.out << "rolled back to the content of revision " << target << " as new revision " << *rev
        << " (based on " << *head << ")\n";
  if (diff && !diff->empty()) c.out << format_diff(*diff);
  return kExitOk;
}


int cmd_token_create(CommandContext& c, const std::string& name, const std::string& role,
                     OutputFormat format) {
  const bj::value body(bj::object{{"name", name}, {"role", role}});
  auto r = c.api.call(Verb::post, "/api/v1/tokens", &body);
  if (auto* e = std::get_if<ApiError>(&r)) return fail(c, *e);
  const bj::value& ans = std::get<ApiReply>(r).body;
  if (format != OutputFormat::kTable) {
    print_raw(c, ans, format);
    return kExitOk;
  }
  const bj::value* secret = field(ans, "token");
  if (!secret || !secret->is_string()) return protocol_error(c, "the new token is missing");
  c.out << "created token " << as_text(field(ans, "id"), "?") << " \""
        << as_text(field(ans, "name"), name) << "\" with role " << as_text(field(ans, "role"), role)
        << "\n"
        << "token: " << std::string(secret->get_string()) << "\n";
  c.err << "note: the token is shown only this once; store it now\n";
  return kExitOk;
}

int cmd_token_list(CommandContext& c, OutputFormat format) {
  return list_command(c, format, "/api/v1/tokens", "tokens", {"ID", "NAME", "ROLE", "CREATED"}, "no tokens",
                      [](const bj::value& tok) -> std::vector<std::string> {
                        return {as_text(field(tok, "id"), "?"), as_text(field(tok, "name")),
                                as_text(field(tok, "role")), as_text(field(tok, "created_at"))};
                      });
}

int cmd_ai_usage(CommandContext& c, OutputFormat format) {
  return list_command(c, format, "/api/v1/ai/usage", "usage",
                      {"KEY", "PROVIDER", "MODEL", "REQUESTS", "PROMPT", "COMPLETION", "CACHE HITS", "COST USD",
                       "SAVED USD"},
                      "nothing metered yet", [](const bj::value& u) -> std::vector<std::string> {
                        auto n = [&](const char* k) { return as_text(field(u, k), "0"); };
                        return {as_text(field(u, "key")), as_text(field(u, "provider")), as_text(field(u, "model")),
                                n("requests"), n("prompt_tokens"), n("completion_tokens"),
                                n("exact_hits") + " exact, " + n("semantic_hits") + " semantic",
                                usd(field(u, "cost_usd")), usd(field(u, "saved_usd"))};
                      });
}

int cmd_ai_upstreams(CommandContext& c, OutputFormat format) {
  return list_command(c, format, "/api/v1/ai/upstreams", "upstreams",
                      {"PROVIDER", "ENDPOINT", "STATE", "FAILURES", "EJECTED FOR", "IN FLIGHT", "LAST ERROR"},
                      "no upstreams configured", [](const bj::value& u) -> std::vector<std::string> {
                        const auto ms = as_int(field(u, "ejected_for_ms")).value_or(0);
                        // The provider's slots: "3/4", "+2 queued" when calls wait.
                        std::string slots = "-";
                        if (auto limit = as_int(field(u, "max_concurrency"))) {
                          slots = as_text(field(u, "in_flight"), "0") + "/" + std::to_string(*limit);
                          if (as_int(field(u, "queued")).value_or(0) > 0) slots += " +" + as_text(field(u, "queued")) + " queued";
                        }
                        return {as_text(field(u, "provider")), as_text(field(u, "endpoint")),
                                as_text(field(u, "state")), as_text(field(u, "failures_in_a_row"), "0"),
                                ms > 0 ? format_duration((ms + 999) / 1000) : "-", slots, as_text(field(u, "last_error"), "-")};
                      });
}

int cmd_ai_budgets(CommandContext& c, OutputFormat format) {
  return list_command(c, format, "/api/v1/ai/budgets", "budgets",
                      {"KEY", "PERIOD", "BUDGET USD", "SPENT USD", "LEFT USD", "RENEWS", "COUNTED"},
                      "no key has a budget", [](const bj::value& b) -> std::vector<std::string> {
                        return {as_text(field(b, "key")), as_text(field(b, "period")), usd(field(b, "budget_usd")),
                                usd(field(b, "spent_usd")), usd(field(b, "remaining_usd")),
                                as_text(field(b, "renews_at"), "-"), as_text(field(b, "scope"))};
                      });
}

int cmd_token_revoke(CommandContext& c, const std::string& id) {
  auto r = c.api.call(Verb::delete_, "/api/v1/tokens/" + encode_segment(id));
  if (auto* e = std::get_if<ApiError>(&r)) return fail(c, *e);
  c.out << "revoked token " << id << "\n";
  return kExitOk;
}

}  // namespace spectra::cli
