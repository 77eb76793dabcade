// Source NAT, port forwards with allow-lists, firewall rules and counters, on
// the real kernel inside a per-test lab.
#include "netns/netns_fixture.h"

namespace spectra::net::testing {
namespace {

class NetnsNat : public NetnsTest {};

constexpr const char* kSnat =
    R"("snat": {"enabled": true, "mode": "masquerade", "source_cidrs": ["10.213.1.0/24"]})";

TEST_F(NetnsNat, PrivateClientReachesInternetAndServerSeesGatewayAddress) {
  server("inet", "198.18.0.2", 9000, "inet");
  // Without source NAT the internet side has no route back: the connection fails.
  auto before = tcp_hello(ns("client"), "198.18.0.2", 9000, {"", milliseconds(300)});
  EXPECT_FALSE(before.ok()) << "reached the server without NAT: " << *before;

  ASSERT_TRUE(apply(lab_network(kSnat)).ok());
  auto got = tcp_hello(ns("client"), "198.18.0.2", 9000);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(*got, "inet 198.18.0.1") << "server must see the gateway's address";

  for (int i = 0; i < 4; ++i) ASSERT_TRUE(tcp_hello(ns("client"), "198.18.0.2", 9000).ok());
  auto c = counters("inet", "spectra_filter");
  EXPECT_GE(c["snat_tx"].packets, 5u * 3);  // SYN, ACK, FIN… per connection
  EXPECT_GT(c["snat_tx"].bytes, 0u);
  EXPECT_GE(c["snat_rx"].packets, 5u * 2);
  auto n = counters("ip", "spectra_nat");
  EXPECT_EQ(n["snat_conns"].packets, 5u);
  {
    NetnsScope gw(ns("gw"));
    EXPECT_EQ(*sysctl_.read("net/ipv4/ip_forward"), "1");
    EXPECT_EQ(*sysctl_.read("net/ipv4/conf/pub0/rp_filter"), "2");
  }
  ASSERT_TRUE(refresh().ok());
  EXPECT_NE(metrics_.render().find("spectra_net_snat_connections_total 5"), std::string::npos);
  RecordProperty("snat_connections", static_cast<int>(n["snat_conns"].packets));
}

TEST_F(NetnsNat, PortForwardReachesTargetAndRefusesSourcesOutsideAllowList) {
  server("backend", "10.213.2.10", 8000, "target");
  ASSERT_TRUE(apply(lab_network(R"("port_forwards": [{"name": "web", "listen_port": 8080,
      "target_address": "10.213.2.10", "target_port": 8000, "allow_cidrs": ["198.18.0.2/32"]}])"))
                  .ok());

  auto ok = tcp_hello(ns("inet"), "198.18.0.1", 8080, {"198.18.0.2"});
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ(*ok, "target 198.18.0.2") << "target sees the real client (DNAT only)";

  auto refused = tcp_hello(ns("inet"), "198.18.0.1", 8080, {"198.18.0.3", milliseconds(400)});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kDeadlineExceeded)
      << "dropped, not answered: " << refused.status().to_string();

  auto f = counters("inet", "spectra_filter");
  auto n = counters("ip", "spectra_nat");
  EXPECT_GE(f["pfr_web"].packets, 1u) << "refused SYNs are counted";
  EXPECT_EQ(n["pf_web"].packets, 1u) << "one forwarded connection";
  RecordProperty("refused_syns", static_cast<int>(f["pfr_web"].packets));
  // The allowed source keeps working after the refusal.
  EXPECT_TRUE(tcp_hello(ns("inet"), "198.18.0.1", 8080, {"198.18.0.2"}).ok());
}

TEST_F(NetnsNat, DenyBlocksAllowPassesCountersMove) {
  server("inet", "198.18.0.2", 9000, "allowed");
  server("inet", "198.18.0.2", 9001, "denied");
  std::string cfg =
      lab_network(std::string(kSnat) + R"(, "firewall": {"enabled": true, "default_forward": "drop",
      "rules": [{"name": "deny-9001", "action": "deny", "protocol": "tcp", "ports": ["9001"]},
                {"name": "allow-out", "action": "allow", "protocol": "tcp", "source_cidrs": ["10.213.1.0/24"]}]})");
  ASSERT_TRUE(apply(cfg).ok());
  auto before = counters("inet", "spectra_filter");

  for (int i = 0; i < 3; ++i) {
    auto got = tcp_hello(ns("client"), "198.18.0.2", 9000);
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_EQ(*got, "allowed 198.18.0.1");
  }
  auto denied = tcp_hello(ns("client"), "198.18.0.2", 9001, {"", milliseconds(400)});
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), Code::kDeadlineExceeded);

  auto after = counters("inet", "spectra_filter");
  EXPECT_EQ(after["fw_allow-out"].packets - before["fw_allow-out"].packets, 3u)
      << "one SYN per allowed connection";
  EXPECT_GE(after["fw_deny-9001"].packets - before["fw_deny-9001"].packets, 1u);
  EXPECT_GT(after["fw_deny-9001"].bytes, before["fw_deny-9001"].bytes);
  RecordProperty("allow_packets",
                 static_cast<int>(after["fw_allow-out"].packets - before["fw_allow-out"].packets));
  RecordProperty("deny_packets",
                 static_cast<int>(after["fw_deny-9001"].packets - before["fw_deny-9001"].packets));
  auto stat = reconciler_->status()[0].as_object();
  EXPECT_EQ(stat.at("state").as_string(), "running");
  ASSERT_TRUE(refresh().ok());
  auto rules = reconciler_->status()[0].at("firewall_rules").as_array();
  EXPECT_EQ(rules[0].at("name").as_string(), "deny-9001");
  EXPECT_GE(rules[0].at("packets").as_uint64(), 1u);
}

TEST_F(NetnsNat, PlanAfterApplyIsEmptyAndNothingOutsideOurTablesChanges) {
  // A table someone else owns in the gateway namespace must survive our applies.
  {
    NetnsScope gw(ns("gw"));
    ASSERT_TRUE(
        nft_.run("add table inet someone_else\nadd chain inet someone_else c\n", false).ok());
  }
  std::string cfg = lab_network(kSnat);
  auto p = plan(cfg);
  ASSERT_TRUE(p.ok());
  EXPECT_NE(p->find("+ table ip spectra_nat"), std::string::npos) << *p;
  ASSERT_TRUE(apply(cfg).ok());
  p = plan(cfg);
  ASSERT_TRUE(p.ok());
  EXPECT_NE(p->find("No changes"), std::string::npos) << *p;
  // Idempotent: the same config again commits nothing (the generation, which
  // every nft commit bumps and a dry-run check does not, stays put).
  auto gen = [&] {
    NetnsScope gw(ns("gw"));
    auto g = nft_.generation();
    EXPECT_TRUE(g.ok()) << g.status().to_string();
    return g.ok() ? *g : 0u;
  };
  std::uint32_t g0 = gen();
  ASSERT_TRUE(apply(cfg).ok());
  EXPECT_EQ(gen(), g0);
  ASSERT_TRUE(
      apply(lab_network(R"("snat": {"enabled": true, "mode": "snat", "to_address": "198.18.0.1",
      "source_cidrs": ["10.213.1.0/24"]})"))
          .ok());
  EXPECT_EQ(gen(), g0 + 1) << "one change, one transaction";
  ASSERT_TRUE(apply(lab_network()).ok());  // everything off: our tables go
  EXPECT_FALSE(read("ip", "spectra_nat")->exists);
  auto other = read("inet", "someone_else");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->exists);
  EXPECT_TRUE(other->chain("c"));
}

}  // namespace
}  // namespace spectra::net::testing
