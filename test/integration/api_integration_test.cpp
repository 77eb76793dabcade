#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "daemon_process.h"

namespace spectra::testing {
namespace {

namespace bj = boost::json;
using http::Verb;

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(d_.start()) << d_.log(); }
  http::Client client() { return http::Client(d_.endpoint(), std::chrono::seconds(10)); }  // NOLINT
  http::ClientResponse put(const std::string& target, const std::string& body, const std::string& base) {
    auto c = client();
    auto r = c.send(Verb::put, target, body, d_.auth(base));
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : http::ClientResponse{};
  }
  DaemonProcess d_;
};

TEST_F(ApiTest, HealthReadyMetricsAndStatus) {
  auto c = client();
  EXPECT_EQ(c.send(Verb::get, "/healthz")->status, 200u);
  EXPECT_EQ(c.send(Verb::get, "/readyz")->status, 200u);
  auto m = c.send(Verb::get, "/metrics");
  EXPECT_NE(m->body.find("spectra_config_revision 0"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("# TYPE spectra_http_responses_total counter"), std::string::npos);
  // The I/O threads' load, as a share of a core.
  for (const char* name : {"spectra_io_thread_load_max ", "spectra_io_thread_load_min "}) {
    auto at = m->body.find(std::string("\n") + name);
    ASSERT_NE(at, std::string::npos) << name << m->body;
    double v = std::stod(m->body.substr(at + 1 + std::string(name).size()));
    EXPECT_GE(v, 0.0);
    EXPECT_LE(v, 1.0);
  }
  EXPECT_NE(m->body.find("# TYPE spectra_io_thread_stalls_total counter\nspectra_io_thread_stalls_total "), std::string::npos);
  auto s = c.send(Verb::get, "/api/v1/status", "", d_.auth());
  ASSERT_EQ(s->status, 200u);
  auto j = bj::parse(s->body);
  EXPECT_EQ(j.at("store").as_string(), "sqlite");
  EXPECT_EQ(j.at("components").at(0).at("name").as_string(), "config_api");
}

TEST_F(ApiTest, AuthIsRequiredAndRolesEnforced) {
  auto c = client();
  EXPECT_EQ(c.send(Verb::get, "/api/v1/config")->status, 401u);
  auto bad = c.send(Verb::get, "/api/v1/config", "", {{"Authorization", "Bearer sgw_000000000000_nope"}});
  EXPECT_EQ(bad->status, 401u);
  EXPECT_EQ(bad->header("www-authenticate"), "Bearer realm=\"spectra\"");
  auto made = c.send(Verb::post, "/api/v1/tokens", R"({"name":"viewer1","role":"viewer"})", d_.auth());
  ASSERT_EQ(made->status, 201u) << made->body;
  std::string viewer = std::string(bj::parse(made->body).at("token").as_string());
  std::vector<std::pair<std::string, std::string>> vh = {{"Authorization", "Bearer " + viewer},
                                                         {"Content-Type", "application/json"},
                                                         {"If-Match", "\"0\""}};
  EXPECT_EQ(c.send(Verb::get, "/api/v1/config", "", vh)->status, 200u);
  auto denied = c.send(Verb::put, "/api/v1/config/ips", R"({"value":{"enabled":true}})", vh);
  EXPECT_EQ(denied->status, 403u);
  // Revoked tokens stop working at once.
  std::string id = std::string(bj::parse(made->body).at("id").as_string());
  EXPECT_EQ(c.send(Verb::delete_, "/api/v1/tokens/" + id, "", d_.auth())->status, 204u);
  EXPECT_EQ(c.send(Verb::get, "/api/v1/config", "", vh)->status, 401u);
}

TEST_F(ApiTest, WritesNeedABaseRevision) {
  auto c = client();
  auto r = c.send(Verb::put, "/api/v1/config/ips", R"({"value":{"enabled":true}})", d_.auth());
  EXPECT_EQ(r->status, 428u);
  auto h = d_.auth();
  h.emplace_back("If-Match", "\"abc\"");
  EXPECT_EQ(c.send(Verb::put, "/api/v1/config/ips", R"({"value":{"enabled":true}})", h)->status, 400u);
}

TEST_F(ApiTest, TwoWritersOnTheSameBaseExactlyOneWins) {
  for (int round = 0; round < 5; ++round) {
    auto c = client();
    auto head = bj::parse(c.send(Verb::get, "/api/v1/config", "", d_.auth())->body).at("revision").as_int64();
    std::atomic<int> ok{0}, conflict{0};
    unsigned codes[2] = {0, 0};
    std::vector<std::thread> ts;
    for (int w = 0; w < 2; ++w) {
      ts.emplace_back([&, w] {
        http::Client cw(d_.endpoint());
        std::string body = R"({"value":{"queue_num":)" + std::to_string(round * 10 + w + 1) + "}}";
        auto r = cw.send(Verb::put, "/api/v1/config/ips", body, d_.auth(std::to_string(head)));
        codes[w] = r.ok() ? r->status : 0;
        if (r.ok() && r->status == 200) ++ok;
        if (r.ok() && r->status == 409) {
          ++conflict;
          EXPECT_EQ(bj::parse(r->body).at("error").at("current_revision").as_int64(), head + 1);
        }
      });
    }
    for (auto& t : ts) t.join();
    EXPECT_EQ(ok.load(), 1) << codes[0] << " " << codes[1];
    EXPECT_EQ(conflict.load(), 1) << codes[0] << " " << codes[1];
  }
}

TEST_F(ApiTest, HostileInputGetsA4xxAndTheServerLives) {
  {
    // Oversize body: 413, or the server closing on us while we still send.
    auto c = client();
    auto big = c.send(Verb::put, "/api/v1/config/ips", std::string(2 << 20, ' '), d_.auth("0"));
    if (big.ok()) {
      EXPECT_EQ(big->status, 413u);
    }
  }
  EXPECT_EQ(put("/api/v1/config/ips", "{\"value\": {", "0").status, 400u);
  EXPECT_EQ(put("/api/v1/config/ips", std::string(500, '[') + std::string(500, ']'), "0").status, 400u);
  EXPECT_EQ(put("/api/v1/config/ips", "[]", "0").status, 400u);
  EXPECT_EQ(put("/api/v1/config/ips", R"({"value":{},"extra":1})", "0").status, 400u);
  EXPECT_EQ(put("/api/v1/config/nosuch", R"({"value":{}})", "0").status, 404u);
  auto wrong = put("/api/v1/config/ips", R"({"value":{"enabled":"yes","queue_num":-1,"zzz":0}})", "0");
  ASSERT_EQ(wrong.status, 422u);
  auto errs = bj::parse(wrong.body).at("error").at("errors").as_array();
  EXPECT_EQ(errs.size(), 3u) << wrong.body;
  EXPECT_EQ(put("/api/v1/config/ips", "{\"value\":{\"rule_files\":[\"\xff\"]}}", "0").status, 400u);
  // Nothing above changed the config, and the daemon still answers.
  auto cfg = client().send(Verb::get, "/api/v1/config", "", d_.auth());
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(bj::parse(cfg->body).at("revision").as_int64(), 0);
}

TEST_F(ApiTest, SecretsNeverAppearInResponsesLogsOrTheDatabase) {
  const std::string secret = "sk-itest-7f3a9c1e5b2d4a6f8e0c";
  std::string body = R"({"value":{"enabled":true,"providers":[{"name":"oa","kind":"openai","api_key":")" +
                     secret + R"("}],"routes":[{"alias":"gpt","target":"oa/gpt-4o"}]}})";
  auto w = put("/api/v1/config/ai", body, "0");
  ASSERT_EQ(w.status, 200u) << w.body;
  EXPECT_EQ(w.body.find(secret), std::string::npos);
  // Rotate it, so a diff between two secret values exists too.
  std::string rotated = body;
  rotated.replace(rotated.find(secret), secret.size(), secret + "-2");
  ASSERT_EQ(put("/api/v1/config/ai", rotated, "1").status, 200u);
  auto c = client();
  for (std::string target : {"/api/v1/config", "/api/v1/config/ai", "/api/v1/revisions/1", "/api/v1/revisions/2",
                             "/api/v1/diff?from=0&to=2", "/api/v1/diff?from=1&to=2", "/api/v1/revisions"}) {
    auto r = c.send(Verb::get, target, "", d_.auth());
    ASSERT_EQ(r->status, 200u) << target;
    EXPECT_EQ(r->body.find(secret.substr(0, 12)), std::string::npos) << target;
  }
  EXPECT_NE(c.send(Verb::get, "/api/v1/config/ai", "", d_.auth())->body.find("\"api_key\":\"***\""), std::string::npos);
  EXPECT_EQ(d_.kill(SIGTERM), 0);
  EXPECT_EQ(d_.log().find(secret.substr(0, 12)), std::string::npos);
  for (const char* f : {"config.db", "config.db-wal"}) {
    auto bytes = fs::read_file(d_.state_dir() + "/" + f);
    if (!bytes.ok()) continue;
    EXPECT_GT(bytes->size(), 0u);
    EXPECT_EQ(bytes->find(secret.substr(0, 12)), std::string::npos) << f;
  }
  // And the secret is really there: a restarted daemon still has it sealed.
  DaemonProcess again(d_.dir());
  ASSERT_TRUE(again.start());
  auto r = http::Client(again.endpoint()).send(Verb::get, "/api/v1/config/ai", "", again.auth());
  EXPECT_EQ(bj::parse(r->body).at("revision").as_int64(), 2);
}

TEST_F(ApiTest, SigtermDrainsAndExitsCleanly) {
  int status = d_.kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status)) << "signal " << WTERMSIG(status) << "; the daemon's log:\n" << d_.log();
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(d_.log().find("spectrad stopped"), std::string::npos);
}

}  // namespace
}  // namespace spectra::testing
