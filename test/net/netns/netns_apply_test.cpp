// Applies on the real kernel: established connections survive rule changes,
// and an apply that fails halfway leaves the previous ruleset fully in force.
#include "netns/netns_fixture.h"

namespace spectra::net::testing {
namespace {

class NetnsApply : public NetnsTest {};

// Config number i of a series: every one differs from the one before (a
// firewall rule, a port forward and the default forward policy change).
std::string variant(int i) {
  std::string rules =
      R"({"name": "allow-out", "action": "allow", "source_cidrs": ["10.213.1.0/24"]})";
  rules += R"(, {"name": "deny-)" + std::to_string(10000 + i) +
           R"(", "action": "deny", "protocol": "tcp", "ports": [")" + std::to_string(10000 + i) +
           R"("]})";
  std::string forwards = R"([{"name": "fwd-)" + std::to_string(i) + R"(", "listen_port": )" +
                         std::to_string(20000 + i) +
                         R"(, "target_address": "10.213.2.10", "target_port": 8000}])";
  return lab_network(
      R"("snat": {"enabled": true, "source_cidrs": ["10.213.1.0/24"]}, "port_forwards": )" +
      forwards + R"(, "firewall": {"enabled": true, "default_forward": ")" +
      (i % 2 ? "drop" : "accept") + R"(", "rules": [)" + rules + "]}");
}

TEST_F(NetnsApply, LongLivedConnectionSurvivesTwentyConfigChanges) {
  server("inet", "198.18.0.2", 9000, "echo", TcpServer::Mode::kEcho);
  ASSERT_TRUE(apply(variant(0)).ok());
  auto conn = TcpConn::open(ns("client"), "198.18.0.2", 9000, milliseconds(1000));
  ASSERT_TRUE(conn.ok()) << conn.status().to_string();
  ASSERT_EQ(*(*conn)->round_trip("hello", milliseconds(1000)), "hello");
  std::uint64_t commits = 0;
  for (int i = 1; i <= 20; ++i) {
    Status s = apply(variant(i));
    ASSERT_TRUE(s.ok()) << "change " << i << ": " << s.to_string();
    auto last = reconciler_->status()[0].at("last_apply").as_object();
    if (last.at("changes").as_uint64() > 0) ++commits;
    auto echo = (*conn)->round_trip("ping " + std::to_string(i), milliseconds(1000));
    ASSERT_TRUE(echo.ok()) << "connection broke after change " << i << ": "
                           << echo.status().to_string();
    EXPECT_EQ(*echo, "ping " + std::to_string(i));
  }
  EXPECT_EQ(commits, 20u) << "every change must have reached the kernel";
  RecordProperty("config_changes", static_cast<int>(commits));
}

// Passes the check through untouched, then corrupts the commit halfway: after
// the filter table's commands a delete of an object that does not exist, which
// only the kernel can refuse. If nft were not atomic, the first half would stick.
class HalfwayFailingRunner : public NftRunner {
 public:
  explicit HalfwayFailingRunner(NftRunner& real) : real_(real) {}
  bool armed = false;
  int injected = 0;
  Status run(const std::string& script, bool check_only) override {
    if (check_only || !armed) return real_.run(script, check_only);
    auto cut = script.find("add table ip spectra_nat");
    std::string broken = script;
    std::string fault = "delete counter inet spectra_filter spectra_fault_injected\n";
    broken.insert(cut == std::string::npos ? script.size() / 2 : cut, fault);
    ++injected;
    return real_.run(broken, false);
  }
  Result<std::string> list_json(const std::string& c) override { return real_.list_json(c); }

 private:
  NftRunner& real_;
};

std::string fingerprint(const ActualTable& t) {
  std::string out = t.exists ? "exists\n" : "absent\n";
  for (const auto& c : t.chains) {
    out += c.name + (c.base ? " policy " + c.base->policy : std::string()) + "\n";
    for (const auto& r : c.rule_comments) out += "  " + r + "\n";
  }
  for (const auto& [name, v] : t.counters) out += "counter " + name + "\n";
  return out;
}

TEST_F(NetnsApply, FailureHalfwayLeavesPreviousRulesetFullyInForce) {
  HalfwayFailingRunner faulty(nft_);
  deps_.nft = &faulty;
  reconciler_ = std::make_unique<NetworkReconciler>(deps_);
  server("backend", "10.213.2.10", 8000, "target");
  std::string before_cfg = lab_network(R"("port_forwards": [{"name": "old", "listen_port": 8080,
      "target_address": "10.213.2.10", "target_port": 8000}],
      "firewall": {"enabled": true, "rules": [{"name": "deny-9001", "action": "deny", "protocol": "tcp", "ports": ["9001"]}]})");
  ASSERT_TRUE(apply(before_cfg).ok());
  ASSERT_TRUE(tcp_hello(ns("inet"), "198.18.0.1", 8080).ok());
  auto filter_before = read("inet", "spectra_filter");
  auto nat_before = read("ip", "spectra_nat");
  ASSERT_TRUE(filter_before.ok() && nat_before.ok());
  auto counters_before = counters("ip", "spectra_nat");

  std::string next_cfg = lab_network(R"("port_forwards": [{"name": "new", "listen_port": 8081,
      "target_address": "10.213.2.10", "target_port": 8000}],
      "firewall": {"enabled": true, "default_forward": "drop", "rules": [{"name": "deny-9002", "action": "deny",
      "protocol": "tcp", "ports": ["9002"]}]})");
  faulty.armed = true;
  Status s = apply(next_cfg);
  EXPECT_EQ(faulty.injected, 1);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("No such file or directory"), std::string::npos) << s.message();
  RecordProperty("apply_error", s.message());

  // The kernel holds exactly the previous ruleset: same chains, policies,
  // rules (by id and hash) and counters, with counter values kept.
  auto filter_after = read("inet", "spectra_filter");
  auto nat_after = read("ip", "spectra_nat");
  ASSERT_TRUE(filter_after.ok() && nat_after.ok());
  EXPECT_EQ(fingerprint(*filter_after), fingerprint(*filter_before));
  EXPECT_EQ(fingerprint(*nat_after), fingerprint(*nat_before));
  EXPECT_EQ(counters("ip", "spectra_nat")["pf_old"].packets, counters_before["pf_old"].packets);
  // And behaves like it: the old forward works, the new one does not exist.
  EXPECT_TRUE(tcp_hello(ns("inet"), "198.18.0.1", 8080).ok());
  EXPECT_FALSE(tcp_hello(ns("inet"), "198.18.0.1", 8081, {"", milliseconds(300)}).ok());
  auto st = reconciler_->status()[0].as_object();
  EXPECT_EQ(st.at("state").as_string(), "error");
  EXPECT_EQ(reconciler_->current_config()->port_forwards[0].name, "old");
  auto p = plan(before_cfg);
  ASSERT_TRUE(p.ok());
  EXPECT_NE(p->find("No changes"), std::string::npos) << *p;

  // Disarmed, the same change applies whole.
  faulty.armed = false;
  ASSERT_TRUE(apply(next_cfg).ok());
  EXPECT_TRUE(tcp_hello(ns("inet"), "198.18.0.1", 8081).ok());
  EXPECT_FALSE(tcp_hello(ns("inet"), "198.18.0.1", 8080, {"", milliseconds(300)}).ok());
}

}  // namespace
}  // namespace spectra::net::testing
