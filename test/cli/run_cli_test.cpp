// run_cli: argument handling, token and URL resolution, read commands and
// exit codes, against a fake config API.
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "cli/yaml_json.h"
#include "common/json_util.h"
#include "fake_api.h"

namespace spectra::cli {
namespace {

using http::Verb;
using testing::config_answer;
using testing::error_answer;
using testing::FakeApi;
using testing::json_answer;
using testing::run;

constexpr const char* kStatus =
    R"({"version":"0.1.0","revision":12,"uptime_seconds":3723,"store":"sqlite","components":[)"
    R"({"name":"config-api","state":"running","detail":"listening on 127.0.0.1:8080"},)"
    R"({"name":"snat","state":"disabled","detail":""},)"
    R"({"name":"ai-proxy","state":"degraded","detail":"upstream timeout"}]})";

// Serves `json` at GET `target`, runs the CLI with `args`, and expects it to
// print `table` and exit 0.
void expect_table(FakeApi& api, const std::string& target, const std::string& json, std::vector<std::string> args,
                  const std::string& table) {
  api.on(Verb::get, target, json_answer(200, json));
  auto r = run(api.env(), std::move(args));
  EXPECT_EQ(r.code, 0) << target << ": " << r.err;
  EXPECT_EQ(r.out, table) << target;
}

TEST(RunCliArgs, NoArgumentsIsAUsageError) {
  FakeApi api;
  auto r = run(api.env(), {});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err.rfind("error: A subcommand is required", 0), 0u) << r.err;
  EXPECT_TRUE(api.requests().empty());
}

TEST(RunCliArgs, HelpGoesToStdoutAndExitsZero) {
  FakeApi api;
  auto r = run(api.env(), {"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("Usage: spectra"), std::string::npos);
  EXPECT_NE(r.out.find("rollback"), std::string::npos);
  auto sub = run(api.env(), {"apply", "--help"});
  EXPECT_EQ(sub.code, 0);
  EXPECT_NE(sub.out.find("--dry-run"), std::string::npos) << sub.out;
  EXPECT_TRUE(api.requests().empty());
}

TEST(RunCliArgs, BadArgumentsExitTwoWithoutTalkingToTheServer) {
  FakeApi api;
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"frobnicate"},
           {"status", "--bogus"},
           {"status", "-o", "xml"},
           {"get", "-o", "table"},
           {"history", "--limit", "0"},
           {"history", "--limit", "many"},
           {"rollback"},
           {"rollback", "-3"},
           {"diff"},
           {"diff", "1"},
           {"diff", "1", "2", "3"},
           {"diff", "1", "2", "-f", "x.yaml"},
           {"apply"},
           {"token"},
           {"token", "create"},
           {"token", "create", "ci", "--role", "root"},
           {"token", "revoke"},
           {"status", "--token", "a", "--token-file", "b"},
           {"status", "--token", ""},
           {"status", "--url", ""},
           {"status", "--url", "https://gw.example:8443"},
           {"status", "--url", "ftp://x"},
       }) {
    auto r = run(api.env(), args);
    EXPECT_EQ(r.code, 2) << ::testing::PrintToString(args) << "\n" << r.err;
    EXPECT_FALSE(r.err.empty()) << ::testing::PrintToString(args);
  }
  EXPECT_TRUE(api.requests().empty());
}

TEST(RunCliArgs, GlobalFlagsWorkBeforeAndAfterTheSubcommand) {
  for (std::vector<std::string> args :
       std::vector<std::vector<std::string>>{{"--url", "http://10.1.2.3:9000", "status"},
                                             {"status", "--url", "http://10.1.2.3:9000"},
                                             {"token", "list", "--url", "http://10.1.2.3:9000"}}) {
    FakeApi api;
    api.on(Verb::get, "/api/v1/status", json_answer(200, kStatus));
    api.on(Verb::get, "/api/v1/tokens", json_answer(200, R"({"tokens":[]})"));
    auto r = run(api.env(), args);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(api.transport_url(), "http://10.1.2.3:9000");
  }
}

TEST(RunCliUrl, FlagBeatsEnvironmentBeatsDefault) {
  FakeApi api;
  api.on(Verb::get, "/api/v1/status", json_answer(200, kStatus));
  EXPECT_EQ(run(api.env(), {"status"}).code, 0);
  EXPECT_EQ(api.transport_url(), "http://127.0.0.1:8080");
  EXPECT_EQ(run(api.env({{"SPECTRA_URL", "http://env:1"}}), {"status"}).code, 0);
  EXPECT_EQ(api.transport_url(), "http://env:1");
  EXPECT_EQ(
      run(api.env({{"SPECTRA_URL", "http://env:1"}}), {"status", "--url", "http://flag:2"}).code,
      0);
  EXPECT_EQ(api.transport_url(), "http://flag:2");
}

// Runs `status` in `env` and returns the Authorization header sent, if any.
std::optional<std::string> auth_sent(FakeApi& api, const CliEnv& env,
                                     std::vector<std::string> extra = {}) {
  api.on(Verb::get, "/api/v1/status", json_answer(200, kStatus));
  std::vector<std::string> args{"status"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = run(env, args);
  EXPECT_EQ(r.code, 0) << r.err;
  return api.requests().empty() ? std::nullopt : api.requests().back().header("Authorization");
}

TEST(RunCliToken, SourcesInOrderOfPrecedence) {
  const std::map<std::string, std::string> files{{"./state/admin.token", "default-tok\n"},
                                                 {"/etc/ci.token", "  file-tok \n"}};
  const std::map<std::string, std::string> vars{{"SPECTRA_TOKEN", "env-tok"}};
  FakeApi api;
  EXPECT_EQ(auth_sent(api, api.env(vars, files), {"--token", "flag-tok"}), "Bearer flag-tok");
  EXPECT_EQ(auth_sent(api, api.env(vars, files), {"--token-file", "/etc/ci.token"}),
            "Bearer file-tok");
  EXPECT_EQ(auth_sent(api, api.env(vars, files)), "Bearer env-tok");
  EXPECT_EQ(auth_sent(api, api.env({}, files)), "Bearer default-tok");
  EXPECT_EQ(auth_sent(api, api.env({{"SPECTRA_TOKEN", ""}}, {})), std::nullopt);
}

TEST(RunCliToken, UnreadableTokenFiles) {
  FakeApi api;
  auto r = run(api.env(), {"status", "--token-file", "/nope"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("cannot read token file /nope"), std::string::npos) << r.err;
  auto empty = run(api.env({}, {{"/t", "\n"}}), {"status", "--token-file", "/t"});
  EXPECT_EQ(empty.code, 2);
  EXPECT_NE(empty.err.find("token file /t is empty"), std::string::npos) << empty.err;
  EXPECT_TRUE(api.requests().empty());
}

TEST(RunCliStatus, HumanTable) {
  FakeApi api;
  api.on(Verb::get, "/api/v1/status", json_answer(200, kStatus));
  auto r = run(api.env(), {"status"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "version   0.1.0\n"
            "revision  12\n"
            "uptime    1h 2m 3s\n"
            "store     sqlite\n"
            "\n"
            "COMPONENT   STATE     DETAIL\n"
            "config-api  running   listening on 127.0.0.1:8080\n"
            "snat        disabled\n"
            "ai-proxy    degraded  upstream timeout\n");
  EXPECT_EQ(r.err, "");
}

TEST(RunCliStatus, JsonIsTheRawAnswer) {
  FakeApi api;
  api.on(Verb::get, "/api/v1/status", json_answer(200, kStatus));
  auto r = run(api.env(), {"status", "-o", "json"});
  EXPECT_EQ(r.code, 0);
  auto printed = json::parse(r.out);
  ASSERT_TRUE(printed.ok()) << r.out;
  EXPECT_EQ(json::canonical(*printed), json::canonical(*json::parse(kStatus)));
}

TEST(RunCliGet, WholeConfigAsYamlThatAppliesBack) {
  FakeApi api;
  const char* cfg = R"({"network":{"snat":{"enabled":false,"to_address":"10.0.0.5"}},)"
                    R"("ai":{"api_key":"***","timeout_ms":1500,"port":"8443"}})";
  api.on(Verb::get, "/api/v1/config", config_answer(4, cfg));
  auto r = run(api.env(), {"get"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "# revision 4\n"
            "network:\n"
            "  snat:\n"
            "    enabled: false\n"
            "    to_address: 10.0.0.5\n"
            "ai:\n"
            "  api_key: \"***\"\n"
            "  timeout_ms: 1500\n"
            "  port: \"8443\"\n");
  auto back = yaml_to_json(r.out);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(json::canonical(*back), json::canonical(*json::parse(cfg)));
}

TEST(RunCliGet, OneSectionIsWrappedInItsName) {
  FakeApi api;
  api.on(Verb::get, "/api/v1/config/network",
         json_answer(200, R"({"revision":4,"section":"network","value":{"mtu":9001}})"));
  auto r = run(api.env(), {"get", "network"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "# revision 4\nnetwork:\n  mtu: 9001\n");
  auto json_out = run(api.env(), {"get", "network", "-o", "json"});
  EXPECT_EQ(json_out.code, 0);
  EXPECT_EQ(json::canonical(*json::parse(json_out.out)),
            R"({"revision":4,"section":"network","value":{"mtu":9001}})");
}

TEST(RunCliGet, SectionNamesAreEncodedAndUnknownOnesRefused) {
  FakeApi api;
  api.on(Verb::get, "/api/v1/config/no%2Fsuch",
         error_answer(404, "not_found", "no config section 'no/such'"));
  auto r = run(api.env(), {"get", "no/such"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: no config section 'no/such'\n");
  EXPECT_EQ(r.out, "");
}

TEST(RunCliHistory, TableNewestFirst) {
  FakeApi api;
  expect_table(api, "/api/v1/revisions?limit=20", R"({"revisions":[
           {"revision":3,"base":2,"author":"admin","at":"2026-01-02T10:00:00Z","message":"enable snat",
            "changed":["network","dns"]},
           {"revision":2,"base":1,"author":"ci","at":"2026-01-01T09:00:00Z","message":"","changed":["ai"]}]})",
               {"history"},
               "REV  AT                    AUTHOR  CHANGED       MESSAGE\n"
               "3    2026-01-02T10:00:00Z  admin   network, dns  enable snat\n"
               "2    2026-01-01T09:00:00Z  ci      ai\n");
}

TEST(RunCliHistory, LimitAndBeforeGoIntoTheQuery) {
  FakeApi api;
  api.on(Verb::get, "/api/v1/revisions?limit=5&before=9", json_answer(200, R"({"revisions":[]})"));
  auto r = run(api.env(), {"history", "--limit", "5", "--before", "9"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "no revisions\n");
}

TEST(RunCliDiff, BetweenTwoRevisions) {
  FakeApi api;
  api.on(Verb::get, "/api/v1/diff?from=2&to=5", json_answer(200, R"({"from":2,"to":5,"diff":[
           {"op":"replace","path":"/network/snat/enabled","from":false,"to":true},
           {"op":"remove","path":"/dns/servers/1","from":"10.0.0.3"}]})"));
  auto r = run(api.env(), {"diff", "2", "5"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "~ /network/snat/enabled: false -> true\n- /dns/servers/1\n");

  api.on(Verb::get, "/api/v1/diff?from=5&to=5", json_answer(200, R"({"from":5,"to":5,"diff":[]})"));
  EXPECT_EQ(run(api.env(), {"diff", "5", "5"}).out, "no differences\n");
  api.on(Verb::get, "/api/v1/diff?from=5&to=99",
         error_answer(404, "not_found", "no such revision; the head is 5"));
  auto missing = run(api.env(), {"diff", "5", "99"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err, "error: no such revision; the head is 5\n");
}

TEST(RunCliTokens, ListAndRevoke) {
  FakeApi api;
  expect_table(api, "/api/v1/tokens", R"({"tokens":[
    {"id":"t1","name":"admin","role":"admin","created_at":"2026-01-01T00:00:00Z"},
    {"id":"t2","name":"ci","role":"viewer","created_at":"2026-01-02T00:00:00Z"}]})",
               {"token", "list"},
               "ID  NAME   ROLE    CREATED\n"
               "t1  admin  admin   2026-01-01T00:00:00Z\n"
               "t2  ci     viewer  2026-01-02T00:00:00Z\n");

  http::ClientResponse no_content;
  no_content.status = 204;
  api.on(Verb::delete_, "/api/v1/tokens/t2", no_content);
  auto revoke = run(api.env(), {"token", "revoke", "t2"});
  EXPECT_EQ(revoke.code, 0) << revoke.err;
  EXPECT_EQ(revoke.out, "revoked token t2\n");
  EXPECT_EQ(api.requests().back().verb, Verb::delete_);
}

TEST(RunCliAi, UsageAndUpstreamHealthAsTables) {
  FakeApi api;
  expect_table(api, "/api/v1/ai/usage", R"({"usage":[
    {"key":"web","provider":"openai","model":"gpt-4o","requests":12,"prompt_tokens":340,"completion_tokens":1200,
     "cached_prompt_tokens":0,"exact_hits":3,"semantic_hits":1,"saved_tokens":400,"cost_usd":0.012850,"saved_usd":0.0041}]})",
               {"ai", "usage"},
               "KEY  PROVIDER  MODEL   REQUESTS  PROMPT  COMPLETION  CACHE HITS           COST USD  SAVED USD\n"
               "web  openai    gpt-4o  12        340     1200        3 exact, 1 semantic  0.012850  0.004100\n");

  expect_table(api, "/api/v1/ai/upstreams", R"json({"upstreams":[
    {"provider":"local","endpoint":"http://10.0.3.10:8000/v1","state":"ejected","failures_in_a_row":0,
     "ejections_in_a_row":2,"ejected_for_ms":9500,"last_error":"local: connecting to upstream: Connection refused",
     "max_concurrency":4,"in_flight":4,"queued":2},
    {"provider":"local","endpoint":"http://10.0.3.11:8000/v1","state":"healthy","failures_in_a_row":0,
     "ejections_in_a_row":0,"ejected_for_ms":0,"max_concurrency":4,"in_flight":4,"queued":2},
    {"provider":"openai","endpoint":"(provider default)","state":"healthy","failures_in_a_row":0,
     "ejections_in_a_row":0,"ejected_for_ms":0}]})json",
               {"ai", "upstreams"},
               "PROVIDER  ENDPOINT                  STATE    FAILURES  EJECTED FOR  IN FLIGHT      LAST ERROR\n"
               "local     http://10.0.3.10:8000/v1  ejected  0         10s          4/4 +2 queued  local: connecting to upstream: Connection refused\n"
               "local     http://10.0.3.11:8000/v1  healthy  0         -            4/4 +2 queued  -\n"
               "openai    (provider default)        healthy  0         -            -              -\n");
  auto raw = run(api.env(), {"ai", "upstreams", "-o", "json"});
  EXPECT_EQ(raw.code, 0);
  EXPECT_EQ(bj::parse(raw.out).at("upstreams").at(0).at("ejected_for_ms").as_int64(), 9500) << raw.out;

  api.on(Verb::get, "/api/v1/ai/usage", json_answer(200, R"({"usage":[]})"));
  EXPECT_EQ(run(api.env(), {"ai", "usage"}).out, "nothing metered yet\n");
  api.on(Verb::get, "/api/v1/ai/upstreams", json_answer(200, R"({"nope":1})"));
  EXPECT_EQ(run(api.env(), {"ai", "upstreams"}).code, 1);
  EXPECT_EQ(run(api.env(), {"ai"}).code, 2);  // a subcommand is required
}

TEST(RunCliAi, BudgetsAsATable) {
  FakeApi api;
  expect_table(api, "/api/v1/ai/budgets", R"({"budgets":[
    {"key":"web","period":"monthly","budget_usd":500,"spent_usd":123.5,"remaining_usd":376.5,"scope":"fleet",
     "renews_at":"2026-12-01T00:00:00Z"},
    {"key":"batch","period":"total","budget_usd":20,"spent_usd":20.25,"remaining_usd":0,"scope":"instance"}]})",
               {"ai", "budgets"},
               "KEY    PERIOD   BUDGET USD  SPENT USD   LEFT USD    RENEWS                COUNTED\n"
               "web    monthly  500.000000  123.500000  376.500000  2026-12-01T00:00:00Z  fleet\n"
               "batch  total    20.000000   20.250000   0.000000    -                     instance\n");
  api.on(Verb::get, "/api/v1/ai/budgets", json_answer(200, R"({"budgets":[]})"));
  EXPECT_EQ(run(api.env(), {"ai", "budgets"}).out, "no key has a budget\n");
}

TEST(RunCliExitCodes, UnreachableIsThree) {
  FakeApi api;
  api.unreachable(unavailable("cannot connect to 127.0.0.1:8080: Connection refused"));
  auto r = run(api.env(), {"status"});
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.err,
            "error: cannot reach the config API at http://127.0.0.1:8080: cannot connect to "
            "127.0.0.1:8080: Connection refused; is spectrad running? (make run)\n");
  api.unreachable(Status(Code::kDeadlineExceeded, "no answer from 127.0.0.1:8080 in time"));
  EXPECT_EQ(run(api.env(), {"get"}).code, 3);
}

TEST(RunCliExitCodes, AuthErrorsAreFour) {
  FakeApi api;
  api.on(Verb::get, "/api/v1/status", error_answer(401, "unauthenticated", "missing bearer token"));
  auto r = run(api.env(), {"status"});
  EXPECT_EQ(r.code, 4);
  EXPECT_NE(r.err.find("authentication required: no token was given"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--token-file FILE"), std::string::npos) << r.err;

  api.on(Verb::get, "/api/v1/tokens",
         error_answer(403, "permission_denied", "token 'ci' has role viewer; this needs admin"));
  auto f = run(api.env({{"SPECTRA_TOKEN", "viewer-tok"}}), {"token", "list"});
  EXPECT_EQ(f.code, 4);
  EXPECT_NE(f.err.find("permission denied: the token in SPECTRA_TOKEN lacks the admin role"),
            std::string::npos)
      << f.err;
  // The secret itself is never printed.
  EXPECT_EQ(f.err.find("viewer-tok"), std::string::npos);
}

TEST(RunCliExitCodes, ServerErrorsAndGarbageAreOne) {
  FakeApi api;
  api.on(Verb::get, "/api/v1/status",
         error_answer(500, "internal", "the server failed to complete the request; see its log"));
  auto r = run(api.env(), {"status"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: the server failed to complete the request; see its log\n");

  api.on(Verb::get, "/api/v1/status", json_answer(200, R"([1,2])"));
  auto odd = run(api.env(), {"status"});
  EXPECT_EQ(odd.code, 1);
  EXPECT_NE(odd.err.find("unexpected answer from the config API"), std::string::npos) << odd.err;
}

}  // namespace
}  // namespace spectra::cli
