// The spectra CLI end to end against the real daemon: apply, diff, history,
// rollback, get, and the exit codes an operator scripts against.
#include <sys/wait.h>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "daemon_process.h"

namespace spectra::testing {
namespace {

namespace bj = boost::json;

struct CliRun {
  int code = -1;
  std::string out;  // stdout and stderr together
};

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(d_.start()) << d_.log(); }

  CliRun cli(const std::string& args, bool with_token = true) {
    std::string cmd = std::string(SPECTRA_BINARY_DIR) + "/app/spectra/spectra --url http://127.0.0.1:" +
                      std::to_string(d_.port()) + (with_token ? " --token-file " + shell_quote(d_.state_dir() + "/admin.token") : "") +
                      " " + args + " 2>&1";
    CliRun r;
    FILE* p = ::popen(cmd.c_str(), "r");
    std::array<char, 4096> buf{};
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
    int status = ::pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
  }

  std::string file(const std::string& name, const std::string& text) {
    std::string path = d_.dir() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  DaemonProcess d_;
};

TEST_F(CliTest, ApplyDiffHistoryRollback) {
  std::string v1 = file("v1.yaml", R"(network:
  snat:
    enabled: true
    source_cidrs: [10.0.0.0/16]
  port_forwards:
    - name: web
      listen_port: 8443
      target_address: 10.0.1.10
      target_port: 443
)");
  CliRun a = cli("apply -f " + v1 + " -m 'first nat'");
  ASSERT_EQ(a.code, 0) << a.out;
  EXPECT_NE(a.out.find("revision 1"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("/network/snat/enabled"), std::string::npos) << a.out;

  // Applying the same file again changes nothing and makes no revision.
  CliRun same = cli("apply -f " + v1);
  EXPECT_EQ(same.code, 0) << same.out;
  EXPECT_NE(same.out.find("no change"), std::string::npos) << same.out;

  std::string v2 = file("v2.json", R"({"network": {"snat": {"enabled": true, "source_cidrs": ["10.0.0.0/16", "10.1.0.0/16"]}}})");
  CliRun dry = cli("diff -f " + v2);
  ASSERT_EQ(dry.code, 0) << dry.out;
  EXPECT_NE(dry.out.find("/network/snat/source_cidrs/1"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("/network/port_forwards/0"), std::string::npos) << dry.out;  // v2 drops the forward
  ASSERT_EQ(cli("apply -f " + v2 + " -m second").code, 0);

  CliRun diff = cli("diff 1 2");
  ASSERT_EQ(diff.code, 0) << diff.out;
  EXPECT_NE(diff.out.find("10.1.0.0/16"), std::string::npos) << diff.out;

  CliRun hist = cli("history");
  ASSERT_EQ(hist.code, 0) << hist.out;
  EXPECT_NE(hist.out.find("first nat"), std::string::npos) << hist.out;
  EXPECT_NE(hist.out.find("second"), std::string::npos) << hist.out;

  CliRun rb = cli("rollback 1 -m 'back to one'");
  ASSERT_EQ(rb.code, 0) << rb.out;
  EXPECT_NE(rb.out.find("revision 3"), std::string::npos) << rb.out;
  CliRun get = cli("get network -o json");
  ASSERT_EQ(get.code, 0) << get.out;
  auto j = bj::parse(get.out);
  EXPECT_EQ(j.at("revision").as_int64(), 3);
  EXPECT_EQ(j.at("value").at("port_forwards").at(0).at("name").as_string(), "web");
  EXPECT_EQ(j.at("value").at("snat").at("source_cidrs").as_array().size(), 1u);
  // The YAML that get prints is valid input for apply.
  CliRun yaml = cli("get");
  ASSERT_EQ(yaml.code, 0);
  std::string round = file("round.yaml", yaml.out);
  CliRun again = cli("apply -f " + round);
  EXPECT_EQ(again.code, 0) << again.out;
  EXPECT_NE(again.out.find("no change"), std::string::npos) << again.out;
}

TEST_F(CliTest, InvalidConfigNamesEveryProblemAndExits1) {
  std::string bad = file("bad.yaml", R"(network:
  port_forwards:
    - name: Web
      listen_port: 70000
      target_address: 10.0.0.1
      target_port: 80
)");
  CliRun r = cli("apply -f " + bad);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("/network/port_forwards/0/name"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/network/port_forwards/0/listen_port"), std::string::npos) << r.out;
}

TEST_F(CliTest, AuthAndConnectionErrorsHaveTheirOwnExitCodes) {
  CliRun noauth = cli("status --token sgw_000000000000_wrong", false);
  EXPECT_EQ(noauth.code, 4) << noauth.out;
  CliRun ok = cli("status");
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_NE(ok.out.find("config_api"), std::string::npos) << ok.out;
  CliRun usage = cli("rollback");
  EXPECT_EQ(usage.code, 2) << usage.out;
  d_.kill(SIGTERM);
  CliRun down = cli("status");
  EXPECT_EQ(down.code, 3) << down.out;
  EXPECT_NE(down.out.find("cannot reach"), std::string::npos) << down.out;
}

TEST_F(CliTest, TokensCreateListRevoke) {
  CliRun made = cli("token create ci-bot --role viewer -o json");
  ASSERT_EQ(made.code, 0) << made.out;
  auto j = bj::parse(made.out.substr(made.out.find('{'), made.out.rfind('}') - made.out.find('{') + 1));
  std::string token(j.at("token").as_string()), id(j.at("id").as_string());
  EXPECT_EQ(cli("get --token " + token, false).code, 0);
  EXPECT_NE(cli("token list").out.find("ci-bot"), std::string::npos);
  EXPECT_EQ(cli("token revoke " + id).code, 0);
  EXPECT_EQ(cli("get --token " + token, false).code, 4);
}

}  // namespace
}  // namespace spectra::testing
