// run_cli: apply, diff -f, rollback and token create against a fake config
// API: what is sent (If-Match, body, types) and what is printed.
#include <gtest/gtest.h>

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

constexpr const char* kHeadConfig = R"({"network":{"snat":{"enabled":false}}})";

constexpr const char* kYamlFile = R"(# operator edit
network:
  snat:
    enabled: true
    to_address: "10.0.0.5"
    port: 8443
    ratio: 0.5
    note: null
    zone: '12'
)";

constexpr const char* kApplied =
    R"({"revision":8,"base":7,"author":"admin","at":"2026-01-02T10:00:00Z","message":"enable snat",)"
    R"("changed":["network"],"dry_run":false,"diff":[)"
    R"({"op":"replace","path":"/network/snat/enabled","from":false,"to":true},)"
    R"({"op":"add","path":"/network/snat/to_address","to":"10.0.0.5"}]})";

std::string canonical_body(const testing::SeenRequest& r) {
  auto v = json::parse(r.body);
  EXPECT_TRUE(v.ok()) << r.body;
  return v.ok() ? json::canonical(*v) : "";
}

TEST(RunCliApply, YamlFileIsSentAgainstTheHeadWithTypesKept) {
  FakeApi api;
  api.on(Verb::get, "/api/v1/config", config_answer(7, kHeadConfig));
  api.on(Verb::put, "/api/v1/config", json_answer(200, kApplied, {{"etag", "\"8\""}}));
  auto r =
      run(api.env({}, {{"cfg.yaml", kYamlFile}}), {"apply", "-f", "cfg.yaml", "-m", "enable snat"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "applied revision 8 (based on 7); changed: network\n"
            "~ /network/snat/enabled: false -> true\n"
            "+ /network/snat/to_address: \"10.0.0.5\"\n");
  ASSERT_EQ(api.requests().size(), 2u);
  EXPECT_EQ(api.requests()[0].verb, Verb::get);
  const auto& put = api.requests()[1];
  EXPECT_EQ(put.header("If-Match"), "\"7\"");
  EXPECT_EQ(canonical_body(put),
            R"({"config":{"network":{"snat":{"enabled":true,"note":null,"port":8443,"ratio":5E-1,)"
            R"("to_address":"10.0.0.5","zone":"12"}}},"message":"enable snat"})");
}

TEST(RunCliApply, JsonFromStdinWithConfigWrapperAndItsMessage) {
  FakeApi api;
  api.on(Verb::get, "/api/v1/config", config_answer(7, kHeadConfig));
  api.on(Verb::put, "/api/v1/config", json_answer(200, kApplied));
  api.set_stdin(R"({"revision": 3, "message": "from file", "config": {"network": {"mtu": 1500}}})");
  auto r = run(api.env(), {"apply", "-f", "-"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(canonical_body(api.requests()[1]),
            R"({"config":{"network":{"mtu":1500}},"message":"from file"})");
  // -m wins over the file's message; the file's "revision" never becomes If-Match.
  api.set_stdin(R"({"message": "from file", "config": {"network": {"mtu": 1500}}})");
  EXPECT_EQ(run(api.env(), {"apply", "-f", "-", "-m", "from flag"}).code, 0);
  ASSERT_EQ(api.requests().size(), 4u);
  EXPECT_EQ(canonical_body(api.requests()[3]),
            R"({"config":{"network":{"mtu":1500}},"message":"from flag"})");
  EXPECT_EQ(api.requests()[3].header("If-Match"), "\"7\"");
}

TEST(RunCliApply, DryRunShowsTheDiffWithoutWriting) {
  FakeApi api;
  api.on(Verb::get, "/api/v1/config", config_answer(7, kHeadConfig));
  api.on(Verb::put, "/api/v1/config?dry_run=true",
         json_answer(
             200, R"({"revision":7,"base":6,"author":"admin","at":"x","message":"",)"
                  R"("changed":["network"],"dry_run":true,"diff":[)"
                  R"({"op":"replace","path":"/network/snat/enabled","from":false,"to":true}]})"));
  auto r = run(api.env({}, {{"c.yml", "network: {snat: {enabled: true}}\n"}}),
               {"apply", "-f", "c.yml", "--dry-run"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "dry run against revision 7: these changes would be applied\n"
            "~ /network/snat/enabled: false -> true\n");
  EXPECT_EQ(api.requests()[1].header("If-Match"), "\"7\"");
}

TEST(RunCliApply, JsonOutputIsTheRawAnswer) {
  FakeApi api;
  api.on(Verb::get, "/api/v1/config", config_answer(7, kHeadConfig));
  api.on(Verb::put, "/api/v1/config", json_answer(200, kApplied));
  auto r = run(api.env({}, {{"c.json", kHeadConfig}}), {"apply", "-f", "c.json", "-o", "json"});
  EXPECT_EQ(r.code, 0) << r.err;
  auto printed = json::parse(r.out);
  ASSERT_TRUE(printed.ok()) << r.out;
  EXPECT_EQ(json::canonical(*printed), json::canonical(*json::parse(kApplied)));
}

TEST(RunCliApply, NothingChanged) {
  FakeApi api;
  api.on(Verb::get, "/api/v1/config", config_answer(7, kHeadConfig));
  api.on(Verb::put, "/api/v1/config",
         json_answer(200, R"({"revision":7,"base":6,"author":"admin","at":"x","message":"",)"
                          R"("changed":[],"dry_run":false,"diff":[]})"));
  auto r = run(api.env({}, {{"c.json", kHeadConfig}}), {"apply", "-f", "c.json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "no changes; the config stays at revision 7\n");
}

TEST(RunCliApply, StaleBaseIsAConflict) {
  FakeApi api;
  api.on(Verb::get, "/api/v1/config", config_answer(7, kHeadConfig));
  api.on(Verb::put, "/api/v1/config",
         error_answer(409, "conflict", "revision 7 is not the head", R"("current_revision":9)"));
  auto r = run(api.env({}, {{"c.json", kHeadConfig}}), {"apply", "-f", "c.json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "error: the config changed since revision 7 (now at 9); re-run to apply on top "
            "of the new revision\n");
  EXPECT_EQ(r.out, "");
}

TEST(RunCliApply, ValidationErrorsArePrintedPerPath) {
  FakeApi api;
  api.on(Verb::get, "/api/v1/config", config_answer(7, kHeadConfig));
  api.on(Verb::put, "/api/v1/config",
         error_answer(
             422, "invalid_config", "1 problem in the config; nothing was changed",
             R"("errors":[{"path":"/network/snat/to_address","reason":"not an IPv4 address"}])"));
  auto r = run(api.env({}, {{"c.json", kHeadConfig}}), {"apply", "-f", "c.json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "error: 1 problem in the config; nothing was changed\n"
            "  /network/snat/to_address: not an IPv4 address\n");
}

TEST(RunCliApply, ServerDemandingABaseRevisionIsRefused) {
  FakeApi api;
  api.on(Verb::get, "/api/v1/config", config_answer(7, kHeadConfig));
  api.on(Verb::put, "/api/v1/config",
         error_answer(428, "precondition_required",
                      "writes must name the revision they are based on"));
  auto r = run(api.env({}, {{"c.json", kHeadConfig}}), {"apply", "-f", "c.json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: writes must name the revision they are based on\n");
}

TEST(RunCliApply, HeadFromETagWhenTheBodyLacksIt) {
  FakeApi api;
  api.on(Verb::get, "/api/v1/config", json_answer(200, R"({"config":{}})", {{"etag", "\"41\""}}));
  api.on(Verb::put, "/api/v1/config", json_answer(200, kApplied));
  EXPECT_EQ(run(api.env({}, {{"c.json", kHeadConfig}}), {"apply", "-f", "c.json"}).code, 0);
  EXPECT_EQ(api.requests()[1].header("If-Match"), "\"41\"");
}

TEST(RunCliApply, BadInputFilesAreUsageErrorsAndSendNothing) {
  FakeApi api;
  const std::map<std::string, std::string> files{
      {"broken.yaml", "network:\n  snat: [1, 2\n"},
      {"list.yaml", "- a\n- b\n"},
      {"broken.json", "{\"network\": }"},
      {"inf.yaml", "network: {ratio: .inf}\n"},
      {"empty.yaml", ""},
  };
  struct Case {
    const char* file;
    const char* expect;
  };
  for (const Case& c :
       {Case{"missing.yaml", "cannot read missing.yaml"},
        Case{"broken.yaml", "broken.yaml: invalid YAML at line"},
        Case{"list.yaml", "list.yaml: the document must be a mapping"},
        Case{"broken.json", "broken.json: invalid JSON at byte"},
        Case{"inf.yaml", "cannot be represented in JSON"}, Case{"empty.yaml", "empty"}}) {
    auto r = run(api.env({}, files), {"apply", "-f", c.file});
    EXPECT_EQ(r.code, 2) << c.file;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.file << ": " << r.err;
  }
  EXPECT_TRUE(api.requests().empty());
}

TEST(RunCliDiffFile, IsADryRunThatPrintsOnlyTheDiff) {
  FakeApi api;
  api.on(Verb::get, "/api/v1/config", config_answer(7, kHeadConfig));
  api.on(Verb::put, "/api/v1/config?dry_run=true",
         json_answer(
             200, R"({"revision":7,"dry_run":true,"diff":[)"
                  R"({"op":"replace","path":"/network/snat/enabled","from":false,"to":true}]})"));
  auto r = run(api.env({}, {{"c.yaml", "network: {snat: {enabled: true}}\n"}}),
               {"diff", "-f", "c.yaml"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "~ /network/snat/enabled: false -> true\n");
  EXPECT_EQ(api.requests()[1].verb, Verb::put);

  api.on(Verb::put, "/api/v1/config?dry_run=true",
         json_answer(200, R"({"revision":7,"dry_run":true,"diff":[]})"));
  EXPECT_EQ(run(api.env({}, {{"c.yaml", "network: {}\n"}}), {"diff", "-f", "c.yaml"}).out,
            "no changes\n");
}

TEST(RunCliRollback, PostsAgainstTheHead) {
  FakeApi api;
  api.on(Verb::get, "/api/v1/config", config_answer(7, kHeadConfig));
  api.on(Verb::post, "/api/v1/revisions/3/rollback",
         json_answer(
             200, R"({"revision":8,"base":7,"author":"admin","at":"x","message":"oops",)"
                  R"("changed":["network"],"dry_run":false,"diff":[)"
                  R"({"op":"replace","path":"/network/snat/enabled","from":true,"to":false}]})"));
  auto r = run(api.env(), {"rollback", "3", "-m", "oops"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "rolled back to the content of revision 3 as new revision 8 (based on 7)\n"
            "~ /network/snat/enabled: true -> false\n");
  const auto& post = api.requests()[1];
  EXPECT_EQ(post.header("If-Match"), "\"7\"");
  EXPECT_EQ(canonical_body(post), R"({"message":"oops"})");

  EXPECT_EQ(run(api.env(), {"rollback", "3"}).code, 0);
  EXPECT_EQ(api.requests()[3].body, "");
}

TEST(RunCliRollback, SameContentAndConflict) {
  FakeApi api;
  api.on(Verb::get, "/api/v1/config", config_answer(7, kHeadConfig));
  api.on(Verb::post, "/api/v1/revisions/7/rollback",
         json_answer(200, R"({"revision":7,"changed":[],"dry_run":false,"diff":[]})"));
  EXPECT_EQ(run(api.env(), {"rollback", "7"}).out,
            "revision 7 has the same content as the head; the config stays at revision 7\n");

  api.on(Verb::post, "/api/v1/revisions/2/rollback",
         error_answer(409, "conflict", "stale", R"("current_revision":8)"));
  auto r = run(api.env(), {"rollback", "2"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "error: the config changed since revision 7 (now at 8); re-run to apply on top "
            "of the new revision\n");
  api.on(Verb::post, "/api/v1/revisions/99/rollback",
         error_answer(404, "not_found", "no revision 99"));
  EXPECT_EQ(run(api.env(), {"rollback", "99"}).err, "error: no revision 99\n");
}

TEST(RunCliTokenCreate, ShowsTheSecretOnce) {
  FakeApi api;
  api.on(Verb::post, "/api/v1/tokens",
         json_answer(
             201, R"({"id":"t9","name":"ci","role":"viewer","created_at":"2026-01-01T00:00:00Z",)"
                  R"("token":"sgw_abc123"})"));
  auto r = run(api.env(), {"token", "create", "ci"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "created token t9 \"ci\" with role viewer\ntoken: sgw_abc123\n");
  EXPECT_NE(r.err.find("shown only this once"), std::string::npos);
  EXPECT_EQ(canonical_body(api.requests()[0]), R"({"name":"ci","role":"viewer"})");

  EXPECT_EQ(run(api.env(), {"token", "create", "ops", "--role", "admin"}).code, 0);
  EXPECT_EQ(canonical_body(api.requests()[1]), R"({"name":"ops","role":"admin"})");

  auto j = run(api.env(), {"token", "create", "ci", "-o", "json"});
  EXPECT_EQ(json::parse(j.out)->at("token"), boost::json::value("sgw_abc123"));
}

TEST(RunCliTokenCreate, ViewerTokenIsRefusedWithExitFour) {
  FakeApi api;
  api.on(Verb::post, "/api/v1/tokens",
         error_answer(403, "permission_denied", "token 'ci' has role viewer; this needs admin"));
  auto r = run(api.env({}, {{"./state/admin.token", "v\n"}}), {"token", "create", "x"});
  EXPECT_EQ(r.code, 4);
  EXPECT_NE(
      r.err.find("the token in ./state/admin.token (default token file) lacks the admin role"),
      std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace spectra::cli
