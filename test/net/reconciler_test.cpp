#include "net/reconciler.h"

#include <gtest/gtest.h>

#include "fake_env.h"
#include "fake_nft.h"
#include "test_util.h"

namespace spectra::net {
namespace {

using namespace spectra::net::testing;

const char* kLab = R"({
  "egress_interface": "pub0",
  "snat": {"enabled": true, "source_cidrs": ["10.213.1.0/24"]},
  "port_forwards": [{"name": "web", "listen_port": 8080, "target_address": "10.213.2.10", "target_port": 8000,
                     "allow_cidrs": ["198.18.0.2/32"]}],
  "load_balancers": [{"name": "app", "listen_address": "198.18.0.10", "listen_port": 80,
     "backends": [{"address": "10.213.2.10", "port": 8000}, {"address": "10.213.2.11", "port": 8000}],
     "health_check": {"interval_ms": 500, "timeout_ms": 200, "healthy_threshold": 1, "unhealthy_threshold": 1}}],
  "firewall": {"enabled": true, "rules": [{"name": "deny-9001", "action": "deny", "protocol": "tcp", "ports": ["9001"]}]}
})";

struct Rig {
  FakeNft nft;
  FakeSysctl sysctl;
  FakeL4 l4;
  metrics::Registry metrics;
  NetworkReconciler r{NetworkDeps{&nft, &sysctl, &l4, nullptr, nullptr, nullptr, &metrics}};
};

TEST(Reconciler, AppliesOnceThenIsIdempotent) {
  Rig rig;
  auto section = normalized_network(kLab);
  ASSERT_TRUE(rig.r.apply(section).ok());
  ASSERT_EQ(rig.nft.committed.size(), 1u);
  EXPECT_EQ(rig.nft.checks, 1);  // validated before the commit
  EXPECT_GT(rig.nft.rule_count("inet spectra_filter"), 5u);
  EXPECT_GT(rig.nft.rule_count("ip spectra_nat"), 3u);
  EXPECT_EQ(rig.sysctl.values["net/ipv4/ip_forward"], "1");
  EXPECT_EQ(rig.sysctl.values["net/ipv4/conf/pub0/rp_filter"], "2");

  ASSERT_TRUE(rig.r.apply(section).ok());
  EXPECT_EQ(rig.nft.committed.size(), 1u) << "second apply of the same config must change nothing";
  auto plan = rig.r.plan(section);
  ASSERT_TRUE(plan.ok());
  EXPECT_NE(plan->find("No changes"), std::string::npos) << *plan;
  auto st = rig.r.status();
  EXPECT_EQ(st[0].at("state").as_string(), "running");
  EXPECT_EQ(st[0].at("l4_backend").as_string(), "nftables");
}

TEST(Reconciler, TrustsItsOwnRecordWhileTheGenerationHoldsAndRereadsAfterForeignChanges) {
  Rig rig;
  auto section = normalized_network(kLab);
  ASSERT_TRUE(rig.r.apply(section).ok());
  int lists = rig.nft.lists;
  ASSERT_TRUE(rig.r.apply(section).ok());
  EXPECT_EQ(rig.nft.lists, lists) << "no change since our commit: no read-back";
  // Someone else edits our table (a commit bumps the generation): re-read and repair.
  rig.nft.tables["inet spectra_filter"].chains[0].rules.clear();
  ++rig.nft.gen;
  ASSERT_TRUE(rig.r.apply(section).ok());
  EXPECT_GT(rig.nft.lists, lists);
  ASSERT_EQ(rig.nft.committed.size(), 2u);
  EXPECT_FALSE(rig.nft.tables["inet spectra_filter"].chains[0].rules.empty());
  // Without a generation id every reconcile reads back.
  rig.nft.has_generation = false;
  lists = rig.nft.lists;
  ASSERT_TRUE(rig.r.apply(section).ok());
  EXPECT_EQ(rig.nft.lists, lists + 2);
}

TEST(Reconciler, PlanShowsChangesAndChangesNothing) {
  Rig rig;
  auto plan = rig.r.plan(normalized_network(kLab));
  ASSERT_TRUE(plan.ok());
  EXPECT_NE(plan->find("+ table inet spectra_filter"), std::string::npos) << *plan;
  EXPECT_NE(plan->find("~ net.ipv4.ip_forward: 0 -> 1"), std::string::npos) << *plan;
  EXPECT_TRUE(rig.nft.committed.empty());
  EXPECT_EQ(rig.nft.checks, 0);
  EXPECT_EQ(rig.sysctl.writes, 0);
}

TEST(Reconciler, OnlyChangedTablesAreSentAndStaleObjectsGo) {
  Rig rig;
  ASSERT_TRUE(rig.r.apply(normalized_network(kLab)).ok());
  rig.nft.bump("inet spectra_filter", "fw_deny-9001", 7, 700);
  // Replace the firewall rule: only the filter table changes.
  std::string next = kLab;
  next.replace(next.find("deny-9001"), 9, "deny-9002");
  next.replace(next.find("\"9001\""), 6, "\"9002\"");
  ASSERT_TRUE(rig.r.apply(normalized_network(next)).ok());
  ASSERT_EQ(rig.nft.committed.size(), 2u);
  const std::string& s = rig.nft.committed[1];
  EXPECT_NE(s.find("add table inet spectra_filter"), std::string::npos);
  EXPECT_EQ(s.find("spectra_nat"), std::string::npos)
      << "unchanged NAT table must not be rewritten";
  EXPECT_NE(s.find("delete counter inet spectra_filter fw_deny-9001"), std::string::npos);
  EXPECT_EQ(rig.nft.tables["inet spectra_filter"].counters.count("fw_deny-9001"), 0u);
  EXPECT_EQ(s.find("flush ruleset"), std::string::npos);
}

TEST(Reconciler, CountersSurviveReappliesAndFeedMetricsMonotonically) {
  Rig rig;
  auto section = normalized_network(kLab);
  ASSERT_TRUE(rig.r.apply(section).ok());
  rig.nft.bump("inet spectra_filter", "fw_deny-9001", 3, 180);
  rig.nft.bump("inet spectra_filter", "snat_tx", 10, 1000);
  rig.nft.bump("ip spectra_nat", "lbb_app_10_213_2_10_8000", 5, 300);
  ASSERT_TRUE(rig.r.refresh_counters().ok());
  rig.nft.bump("inet spectra_filter", "fw_deny-9001", 2, 120);
  ASSERT_TRUE(rig.r.refresh_counters().ok());
  std::string text = rig.metrics.render();
  EXPECT_NE(text.find("spectra_net_firewall_rule_packets_total{rule=\"deny-9001\"} 5"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("spectra_net_snat_bytes_total{direction=\"tx\"} 1000"), std::string::npos);
  EXPECT_NE(
      text.find(
          "spectra_net_lb_backend_connections_total{lb=\"app\",backend=\"10.213.2.10:8000\"} 5"),
      std::string::npos);
  auto st = rig.r.status()[0].as_object();
  EXPECT_EQ(st.at("firewall_rules").as_array()[0].at("packets").as_uint64(), 5u);
  EXPECT_EQ(st.at("snat").at("tx_bytes").as_uint64(), 1000u);
  EXPECT_EQ(st.at("load_balancers")
                .as_array()[0]
                .at("backends")
                .as_array()[0]
                .at("connections")
                .as_uint64(),
            5u);
}

TEST(Reconciler, RejectedCheckCommitsNothingAndReportsWhy) {
  Rig rig;
  auto section = normalized_network(kLab);
  ASSERT_TRUE(rig.r.apply(section).ok());
  auto before = rig.nft.tables;
  rig.nft.fail_check = "Error: syntax error, unexpected junk";
  std::string next = kLab;
  next.replace(next.find("\"9001\""), 6, "\"9003\"");
  Status s = rig.r.apply(normalized_network(next));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("unexpected junk"), std::string::npos);
  EXPECT_EQ(rig.nft.committed.size(), 1u);
  EXPECT_EQ(rig.nft.tables["inet spectra_filter"].chains.size(),
            before["inet spectra_filter"].chains.size());
  auto st = rig.r.status()[0].as_object();
  EXPECT_EQ(st.at("state").as_string(), "error");
  EXPECT_NE(st.at("detail").as_string().find("unexpected junk"), std::string::npos);
  // The previous config stays the one in force.
  EXPECT_NE(rig.r.current_config()->firewall.rules[0].ports[0], "9003");
}

TEST(Reconciler, FailedCommitLeavesPreviousStateAndNextApplyRecovers) {
  Rig rig;
  ASSERT_TRUE(rig.r.apply(normalized_network(kLab)).ok());
  auto before = rig.nft.tables;
  rig.nft.fail_commit = "Error: Could not process rule: No such file or directory";
  std::string next = kLab;
  next.replace(next.find("\"9001\""), 6, "\"9004\"");
  Status s = rig.r.apply(normalized_network(next));
  EXPECT_EQ(s.code(), Code::kIo);
  EXPECT_NE(s.message().find("No such file"), std::string::npos);
  EXPECT_EQ(rig.nft.tables["inet spectra_filter"].chains[0].rules,
            before["inet spectra_filter"].chains[0].rules);
  rig.nft.fail_commit.reset();
  ASSERT_TRUE(rig.r.apply(normalized_network(next)).ok());
  EXPECT_EQ(rig.r.status()[0].at("state").as_string(), "running");
}

TEST(Reconciler, RequiredSysctlFailureFailsOptionalOneDegrades) {
  Rig rig;
  rig.sysctl.refuse["net/ipv4/conf/pub0/rp_filter"] = "No such file or directory";
  ASSERT_TRUE(rig.r.apply(normalized_network(kLab)).ok());
  EXPECT_EQ(rig.r.status()[0].at("state").as_string(), "degraded");
  rig.sysctl.refuse["net/ipv4/ip_forward"] = "Read-only file system";
  rig.sysctl.values["net/ipv4/ip_forward"] = "0";
  EXPECT_FALSE(rig.r.apply(normalized_network(kLab)).ok());
}

TEST(Reconciler, InvalidSectionIsRefusedBeforeTouchingTheKernel) {
  Rig rig;
  auto section = normalized_network(kLab);
  section.erase("snat");
  EXPECT_EQ(rig.r.apply(section).code(), Code::kInvalidArgument);
  EXPECT_EQ(rig.nft.lists, 0);
}

TEST(Reconciler, IpvsChoiceWithoutKernelSupportFails) {
  Rig rig;
  std::string cfg = kLab;
  cfg.insert(1, "\"l4_backend\": \"ipvs\",");
  Status s = rig.r.apply(normalized_network(cfg));
  EXPECT_EQ(s.code(), Code::kConflict);
  EXPECT_NE(s.message().find("no IPVS"), std::string::npos);
  EXPECT_TRUE(rig.nft.committed.empty());
}

TEST(Reconciler, HealthChangesRewriteOnlyTheNatTable) {
  FakeNft nft;
  FakeSysctl sysctl;
  FakeClock clock;
  FakeProber prober;
  HealthChecker health(clock, prober);
  NetworkReconciler r(NetworkDeps{&nft, &sysctl, nullptr, nullptr, &health, nullptr, nullptr});
  health.set_on_change([&] { ASSERT_TRUE(r.reconcile_backends().ok()); });
  ASSERT_TRUE(r.apply(normalized_network(kLab)).ok());
  health.poll();
  ASSERT_EQ(prober.pending.size(), 2u);
  prober.answer("10.213.2.11:8000", false);  // unhealthy_threshold 1
  prober.answer("", true);
  ASSERT_EQ(nft.committed.size(), 2u);
  EXPECT_EQ(nft.committed[1].find("spectra_filter"), std::string::npos);
  EXPECT_NE(nft.committed[1].find("delete chain ip spectra_nat lbb_app_10_213_2_11_8000"),
            std::string::npos);
  EXPECT_NE(nft.committed[1].find("numgen inc mod 1 "), std::string::npos);
  auto st = r.status()[0].as_object();
  EXPECT_FALSE(
      st.at("load_balancers").as_array()[0].at("backends").as_array()[1].at("healthy").as_bool());
}

TEST(Reconciler, ExternalBackendsComeFromTheSource) {
  FakeNft nft;
  FakeSysctl sysctl;
  FakeBackendSource src;
  NetworkReconciler r(NetworkDeps{&nft, &sysctl, nullptr, nullptr, nullptr, &src, nullptr});
  auto section =
      normalized_network(R"({"load_balancers": [{"name": "nlb", "listen_address": "198.18.0.10",
      "listen_port": 80, "backend_source": "nlb_target_group",
      "target_group_arn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/x/1"}]})");
  ASSERT_TRUE(r.apply(section).ok());
  EXPECT_EQ(nft.tables.count("ip spectra_nat"), 0u);
  src.sets["nlb"] = {{"10.0.0.5", 80, 1}};
  ASSERT_TRUE(r.reconcile_backends().ok());
  ASSERT_EQ(nft.tables.count("ip spectra_nat"), 1u);
  EXPECT_TRUE(nft.tables["ip spectra_nat"].chain("lbb_nlb_10_0_0_5_80"));
}

}  // namespace
}  // namespace spectra::net
