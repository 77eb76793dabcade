// The OpenAPI 3.0 document of the config API, generated from the same schema
// that validates requests, so the two cannot disagree.
#include <boost/json/serialize.hpp>

#include "api/config_api.h"
#include "config/model_schema.h"

namespace spectra::api {
namespace {

namespace bj = boost::json;

bj::object ref(const std::string& name) { return {{"$ref", "#/components/schemas/" + name}}; }

bj::object json_content(bj::value schema) {
  return {{"application/json", bj::object{{"schema", std::move(schema)}}}};
}

bj::object response(const std::string& desc, bj::value schema) {
  return {{"description", desc}, {"content", json_content(std::move(schema))}};
}

bj::object error_resp(const std::string& desc) { return response(desc, ref("Error")); }

bj::object path_param(const std::string& name, const std::string& type, bj::value extra = nullptr) {
  bj::object schema{{"type", type}};
  if (extra.is_object()) for (auto& kv : extra.get_object()) schema[kv.key()] = kv.value();
  return {{"name", name}, {"in", "path"}, {"required", true}, {"schema", schema}};
}

bj::object query_param(const std::string& name, bj::object schema, bool required = false) {
  return {{"name", name}, {"in", "query"}, {"required", required}, {"schema", std::move(schema)}};
}

bj::object if_match() {
  return {{"name", "If-Match"},
          {"in", "header"},
          {"required", true},
          {"description", "The revision the change is based on, e.g. \"12\""},
          {"schema", bj::object{{"type", "string"}, {"pattern", "^(W/)?\"?[0-9]{1,19}\"?$"}}}};
}

// Responses every authenticated operation may give.
bj::object with_auth_errors(bj::object responses) {
  responses["401"] = error_resp("Missing or invalid bearer token");
  return responses;
}

bj::object op(const std::string& summary, bj::object responses, bj::array params = {},
              bj::value body = nullptr, bool auth = true) {
  bj::object o{{"summary", summary}, {"responses", auth ? with_auth_errors(std::move(responses)) : std::move(responses)}};
  if (!params.empty()) o["parameters"] = std::move(params);
  if (!body.is_null()) o["requestBody"] = body;
  if (!auth) o["security"] = bj::array();
  return o;
}

bj::object write_errors(bj::object r) {
  r["400"] = error_resp("Malformed request");
  r["403"] = error_resp("The token lacks the admin role");
  r["409"] = error_resp("The base revision is stale; error.current_revision is the head");
  r["413"] = error_resp("Body too large");
  r["422"] = error_resp("The config is not valid; error.errors lists every problem with its path");
  r["428"] = error_resp("If-Match with the base revision is missing");
  return r;
}

}  // namespace

bj::object openapi_document(const std::string& version) {
  bj::object schemas;
  bj::value config_schema = config::to_json_schema(config::config_schema(), schemas);
  (void)config_schema;

  bj::object err_detail{{"type", "object"},
                        {"properties", bj::object{{"path", bj::object{{"type", "string"}}},
                                                  {"reason", bj::object{{"type", "string"}}}}},
                        {"required", bj::array{"path", "reason"}}};
  schemas["Error"] = bj::object{
      {"type", "object"},
      {"required", bj::array{"error"}},
      {"properties",
       bj::object{{"error", bj::object{{"type", "object"},
                                       {"required", bj::array{"code", "message"}},
                                       {"properties", bj::object{{"code", bj::object{{"type", "string"}}},
                                                                 {"message", bj::object{{"type", "string"}}},
                                                                 {"current_revision", bj::object{{"type", "integer"}}},
                                                                 {"errors", bj::object{{"type", "array"}, {"items", err_detail}}}}}}}}}};
  bj::object str{{"type", "string"}};
  bj::object integer{{"type", "integer"}, {"minimum", 0}};
  bj::object strs{{"type", "array"}, {"items", str}};
  schemas["RevisionMeta"] = bj::object{
      {"type", "object"},
      {"required", bj::array{"revision", "base", "author", "at", "message", "changed"}},
      {"properties", bj::object{{"revision", integer}, {"base", integer}, {"author", str}, {"at", str}, {"message", str}, {"changed", strs}}}};
  bj::object diff_entry{{"type", "object"},
                        {"required", bj::array{"op", "path"}},
                        {"properties", bj::object{{"op", bj::object{{"type", "string"}, {"enum", bj::array{"add", "remove", "replace"}}}},
                                                  {"path", str},
                                                  {"from", bj::object{}},
                                                  {"to", bj::object{}}}}};
  schemas["Diff"] = bj::object{{"type", "array"}, {"items", diff_entry}};
  schemas["WriteResult"] = bj::object{
      {"type", "object"},
      {"required", bj::array{"revision", "base", "changed", "diff", "dry_run"}},
      {"properties", bj::object{{"revision", integer}, {"base", integer}, {"author", str}, {"at", str}, {"message", str},
                                {"changed", strs}, {"diff", ref("Diff")}, {"dry_run", bj::object{{"type", "boolean"}}}}}};
  bj::object message{{"type", "string"}, {"maxLength", 512}, {"pattern", "^[^\\x00-\\x1f]*$"}};
  bj::object token_info{{"type", "object"},
                        {"required", bj::array{"id", "name", "role", "created_at"}},
                        {"properties", bj::object{{"id", str}, {"name", str}, {"role", bj::object{{"type", "string"}, {"enum", bj::array{"admin", "viewer"}}}},
                                                  {"created_at", str}, {"token", str}}}};
  schemas["TokenInfo"] = token_info;

  bj::array section_enum;
  for (const auto& s : config::section_names()) section_enum.push_back(bj::value(s));
  bj::object section_param = path_param("section", "string", bj::object{{"enum", section_enum}});
  bj::object rev_param = path_param("n", "integer", bj::object{{"minimum", 0}});

  bj::object paths;
  bj::object text_ok{{"description", "OK"}, {"content", bj::object{{"text/plain", bj::object{{"schema", str}}}}}};
  paths["/healthz"] = bj::object{{"get", op("Liveness", bj::object{{"200", text_ok}}, {}, nullptr, false)}};
  paths["/readyz"] = bj::object{{"get", op("Readiness", bj::object{{"200", text_ok}, {"503", text_ok}}, {}, nullptr, false)}};
  paths["/metrics"] = bj::object{{"get", op("Prometheus metrics", bj::object{{"200", text_ok}}, {}, nullptr, false)}};
  paths["/api/v1/openapi.json"] = bj::object{{"get", op("This document", bj::object{{"200", response("OpenAPI document", bj::object{{"type", "object"}})}}, {}, nullptr, false)}};

  bj::object status_schema{{"type", "object"},
                           {"required", bj::array{"version", "revision", "uptime_seconds", "store", "components"}},
                           {"properties", bj::object{{"version", str}, {"revision", integer}, {"uptime_seconds", integer}, {"store", str},
                                                     {"components", bj::object{{"type", "array"}, {"items", bj::object{{"type", "object"}}}}}}}};
  paths["/api/v1/status"] = bj::object{{"get", op("Daemon and component status", bj::object{{"200", response("Status", status_schema)}})}};

  bj::object cfg_resp{{"type", "object"}, {"required", bj::array{"revision", "config"}},
                      {"properties", bj::object{{"revision", integer}, {"config", ref("Config")}}}};
  bj::object put_cfg_body{{"required", true},
                          {"content", json_content(bj::object{{"type", "object"},
                                                              {"required", bj::array{"config"}},
                                                              {"additionalProperties", false},
                                                              {"properties", bj::object{{"config", bj::object{{"type", "object"}, {"description", "Sections to replace"}}}, {"message", message}}}})}};
  bj::object dry_run = query_param("dry_run", bj::object{{"type", "boolean"}});
  paths["/api/v1/config"] = bj::object{
      {"get", op("The whole config (secrets masked)", bj::object{{"200", response("Config", cfg_resp)}})},
      {"put", op("Replace one or more sections, as one revision",
                 write_errors(bj::object{{"200", response("Committed (or validated, with dry_run)", ref("WriteResult"))}}),
                 bj::array{if_match(), dry_run}, put_cfg_body)}};

  bj::object section_resp{{"type", "object"}, {"required", bj::array{"revision", "section", "value"}},
                          {"properties", bj::object{{"revision", integer}, {"section", str}, {"value", bj::object{{"type", "object"}}}}}};
  bj::object put_section_body{{"required", true},
                              {"content", json_content(bj::object{{"type", "object"},
                                                                  {"required", bj::array{"value"}},
                                                                  {"additionalProperties", false},
                                                                  {"properties", bj::object{{"value", bj::object{{"type", "object"}}}, {"message", message}}}})}};
  paths["/api/v1/config/{section}"] = bj::object{
      {"get", op("One section (secrets masked)", bj::object{{"200", response("Section", section_resp)}, {"404", error_resp("No such section")}}, bj::array{section_param})},
      {"put", op("Replace one section", write_errors(bj::object{{"200", response("Committed", ref("WriteResult"))}, {"404", error_resp("No such section")}}),
                 bj::array{section_param, if_match(), dry_run}, put_section_body)}};

  paths["/api/v1/revisions"] = bj::object{{"get", op("Revisions, newest first",
      bj::object{{"200", response("Revisions", bj::object{{"type", "object"}, {"required", bj::array{"revisions"}},
                                                          {"properties", bj::object{{"revisions", bj::object{{"type", "array"}, {"items", ref("RevisionMeta")}}}}}})},
                 {"400", error_resp("Bad query")}},
      bj::array{query_param("limit", bj::object{{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}}),
                query_param("before", bj::object{{"type", "integer"}, {"minimum", 0}})})}};
  paths["/api/v1/revisions/{n}"] = bj::object{{"get", op("One revision with its config (secrets masked)",
      bj::object{{"200", response("Revision", bj::object{{"type", "object"}, {"required", bj::array{"revision", "config"}},
                                                         {"properties", bj::object{{"revision", ref("RevisionMeta")}, {"config", ref("Config")}}}})},
                 {"400", error_resp("Bad revision number")}, {"404", error_resp("No such revision")}},
      bj::array{rev_param})}};
  paths["/api/v1/revisions/{n}/rollback"] = bj::object{{"post", op("Make a new revision equal to revision n",
      write_errors(bj::object{{"200", response("Committed", ref("WriteResult"))}, {"404", error_resp("No such revision")}}),
      bj::array{rev_param, if_match()},
      bj::object{{"required", false}, {"content", json_content(bj::object{{"type", "object"}, {"additionalProperties", false}, {"properties", bj::object{{"message", message}}}})}})}};
  paths["/api/v1/diff"] = bj::object{{"get", op("Difference between two revisions (secrets masked)",
      bj::object{{"200", response("Diff", bj::object{{"type", "object"}, {"required", bj::array{"from", "to", "diff"}},
                                                     {"properties", bj::object{{"from", integer}, {"to", integer}, {"diff", ref("Diff")}}}})},
                 {"400", error_resp("Bad query")}, {"404", error_resp("No such revision")}},
      bj::array{query_param("from", bj::object{{"type", "integer"}, {"minimum", 0}}, true), query_param("to", bj::object{{"type", "integer"}, {"minimum", 0}})})}};

  bj::object usage_row{{"type", "object"},
                       {"properties", bj::object{{"key", str}, {"provider", str}, {"model", str}, {"requests", integer},
                                                 {"prompt_tokens", integer}, {"completion_tokens", integer},
                                                 {"cached_prompt_tokens", integer}, {"cache_write_tokens", integer},
                                                 {"exact_hits", integer},
                                                 {"semantic_hits", integer}, {"saved_tokens", integer},
                                                 {"cost_usd", bj::object{{"type", "number"}}}, {"saved_usd", bj::object{{"type", "number"}}}}}};
  paths["/api/v1/ai/usage"] = bj::object{{"get", op("AI token metering per key, provider and model",
      bj::object{{"200", response("Usage", bj::object{{"type", "object"}, {"required", bj::array{"usage"}},
                                                      {"properties", bj::object{{"usage", bj::object{{"type", "array"}, {"items", usage_row}}}}}})}})}};

  bj::object budget_row{
      {"type", "object"},
      {"required", bj::array{"key", "period", "budget_usd", "spent_usd", "remaining_usd", "scope"}},
      {"properties", bj::object{{"key", str},
                                {"period", bj::object{{"type", "string"}, {"enum", bj::array{"total", "daily", "weekly", "monthly"}}}},
                                {"budget_usd", bj::object{{"type", "number"}}}, {"spent_usd", bj::object{{"type", "number"}}},
                                {"remaining_usd", bj::object{{"type", "number"}}},
                                {"scope", bj::object{{"type", "string"}, {"enum", bj::array{"instance", "fleet"}}}},
                                {"renews_at", bj::object{{"type", "string"}, {"format", "date-time"}}}}}};
  paths["/api/v1/ai/budgets"] = bj::object{{"get", op("AI virtual keys with a spend budget: spent and left in the current period",
      bj::object{{"200", response("Budgets", bj::object{{"type", "object"}, {"required", bj::array{"budgets"}},
                                                        {"properties", bj::object{{"budgets", bj::object{{"type", "array"}, {"items", budget_row}}}}}})}})}};

  bj::object upstream_row{
      {"type", "object"},
      {"required", bj::array{"provider", "endpoint", "state", "failures_in_a_row", "ejections_in_a_row", "ejected_for_ms"}},
      {"properties", bj::object{{"provider", str}, {"endpoint", str},
                                {"state", bj::object{{"type", "string"}, {"enum", bj::array{"healthy", "failing", "ejected", "checking"}}}},
                                {"failures_in_a_row", integer}, {"ejections_in_a_row", integer},
                                {"ejected_for_ms", integer}, {"last_error", str},
                                // A provider with max_concurrency: its slots (the provider's, on each of its rows).
                                {"max_concurrency", integer}, {"in_flight", integer}, {"queued", integer}}}};
  paths["/api/v1/ai/upstreams"] = bj::object{{"get", op("AI upstream endpoints, their health (outlier ejection) and their "
                                                        "provider's capacity in use",
      bj::object{{"200", response("Upstreams", bj::object{{"type", "object"}, {"required", bj::array{"upstreams"}},
                                                          {"properties", bj::object{{"upstreams", bj::object{{"type", "array"}, {"items", upstream_row}}}}}})}})}};

  bj::object token_body{{"required", true},
                        {"content", json_content(bj::object{{"type", "object"}, {"required", bj::array{"name"}}, {"additionalProperties", false},
                                                            {"properties", bj::object{{"name", bj::object{{"type", "string"}, {"pattern", "^[a-z][a-z0-9_-]{0,62}$"}}},
                                                                                      {"role", bj::object{{"type", "string"}, {"enum", bj::array{"admin", "viewer"}}}}}}})}};
  paths["/api/v1/tokens"] = bj::object{
      {"get", op("API tokens (never their secret)", bj::object{{"200", response("Tokens", bj::object{{"type", "object"}, {"required", bj::array{"tokens"}}, {"properties", bj::object{{"tokens", bj::object{{"type", "array"}, {"items", ref("TokenInfo")}}}}}})},
                                                             {"403", error_resp("Needs admin")}})},
      {"post", op("Create a token; the response shows it once", bj::object{{"201", response("Created", ref("TokenInfo"))}, {"400", error_resp("Malformed request")}, {"403", error_resp("Needs admin")}, {"413", error_resp("Body too large")}},
                  {}, token_body)}};
  paths["/api/v1/tokens/{id}"] = bj::object{{"delete", op("Revoke a token", bj::object{{"204", bj::object{{"description", "Revoked"}}}, {"400", error_resp("A token cannot revoke itself")}, {"403", error_resp("Needs admin")}, {"404", error_resp("No such token")}},
                                                         bj::array{path_param("id", "string")})}};

  return bj::object{
      {"openapi", "3.0.3"},
      {"info", bj::object{{"title", "Cloud Spectra Gateway config API"}, {"version", version},
                          {"description", "Config of record for the appliance. Every write names its base revision (If-Match) and creates a numbered revision."}}},
      {"servers", bj::array{bj::object{{"url", "/"}}}},
      {"security", bj::array{bj::object{{"bearer", bj::array()}}}},
      {"components", bj::object{{"schemas", std::move(schemas)},
                                {"securitySchemes", bj::object{{"bearer", bj::object{{"type", "http"}, {"scheme", "bearer"}}}}}}},
      {"paths", std::move(paths)}};
}

}  // namespace spectra::api
