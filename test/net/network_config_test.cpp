#include "net/network_config.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace spectra::net {
namespace {

using testing::normalized_network;
using testing::parsed_network;

TEST(NetworkConfig, DefaultsParseToAnIdleGateway) {
  NetworkConfig c = parsed_network("{}");
  EXPECT_EQ(c.egress_interface, "eth0");
  EXPECT_EQ(c.l4_backend, L4Backend::kAuto);
  EXPECT_FALSE(c.snat.enabled);
  EXPECT_FALSE(c.firewall.enabled);
  EXPECT_FALSE(c.needs_forwarding());
}

TEST(NetworkConfig, EveryFieldArrives) {
  NetworkConfig c = parsed_network(R"({
    "egress_interface": "ens5", "l4_backend": "nftables", "conntrack_max": 262144,
    "snat": {"enabled": true, "mode": "snat", "to_address": "198.51.100.7", "source_cidrs": ["10.0.0.0/16", "fd00::/8"]},
    "port_forwards": [{"name": "web", "protocol": "udp", "listen_port": 8080, "target_address": "10.0.1.2",
                       "target_port": 80, "allow_cidrs": ["203.0.113.0/24"]}],
    "load_balancers": [{"name": "lb", "listen_address": "198.51.100.10", "listen_port": 443, "scheduler": "source_hash",
                        "backends": [{"address": "10.0.2.1", "port": 8443, "weight": 7}],
                        "health_check": {"interval_ms": 500, "timeout_ms": 100, "healthy_threshold": 3,
                                         "unhealthy_threshold": 4, "port": 9000}}],
    "firewall": {"enabled": true, "default_input": "drop", "default_forward": "accept",
                 "rules": [{"name": "r1", "direction": "input", "action": "deny", "protocol": "tcp",
                            "source_cidrs": ["192.0.2.0/24"], "destination_cidrs": ["10.0.0.0/8"], "ports": ["22", "1000-2000"]}]}
  })");
  EXPECT_EQ(c.egress_interface, "ens5");
  EXPECT_EQ(c.l4_backend, L4Backend::kNftables);
  EXPECT_EQ(c.conntrack_max, 262144);
  EXPECT_EQ(c.snat.mode, SnatMode::kSnat);
  EXPECT_EQ(c.snat.to_address, "198.51.100.7");
  EXPECT_EQ(c.snat.source_cidrs.size(), 2u);
  ASSERT_EQ(c.port_forwards.size(), 1u);
  EXPECT_EQ(c.port_forwards[0].protocol, Protocol::kUdp);
  EXPECT_EQ(c.port_forwards[0].allow_cidrs[0], "203.0.113.0/24");
  ASSERT_EQ(c.load_balancers.size(), 1u);
  const LoadBalancer& lb = c.load_balancers[0];
  EXPECT_EQ(lb.scheduler, Scheduler::kSourceHash);
  EXPECT_EQ(lb.backends[0].weight, 7u);
  EXPECT_EQ(lb.backends[0].key(), "10.0.2.1:8443");
  EXPECT_EQ(lb.health_check.interval.count(), 500);
  EXPECT_EQ(lb.health_check.timeout.count(), 100);
  EXPECT_EQ(lb.health_check.healthy_threshold, 3);
  EXPECT_EQ(lb.health_check.unhealthy_threshold, 4);
  EXPECT_EQ(lb.health_check.port, 9000);
  ASSERT_EQ(c.firewall.rules.size(), 1u);
  const FirewallRule& r = c.firewall.rules[0];
  EXPECT_EQ(r.direction, Direction::kInput);
  EXPECT_EQ(r.action, Action::kDeny);
  EXPECT_EQ(r.ports, (std::vector<std::string>{"22", "1000-2000"}));
  EXPECT_EQ(c.firewall.default_input, Policy::kDrop);
  EXPECT_TRUE(c.needs_forwarding());
}

TEST(NetworkConfig, RejectsStringsThatCouldInjectNftCommands) {
  // The schema would refuse these; the typed view refuses them again.
  auto section = normalized_network(R"({"port_forwards": [{"name": "web", "listen_port": 80,
      "target_address": "10.0.0.1", "target_port": 80}]})");
  section["port_forwards"].as_array()[0].as_object()["target_address"] =
      "10.0.0.1:80; flush ruleset";
  auto c = parse_network_config(section);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("/port_forwards/0/target_address"), std::string::npos);

  section = normalized_network("{}");
  section["egress_interface"] = "eth0\" accept";
  EXPECT_FALSE(parse_network_config(section).ok());
  section = normalized_network("{}");
  section["snat"].as_object()["source_cidrs"] = boost::json::array{"10.0.0.0/8 }"};
  EXPECT_FALSE(parse_network_config(section).ok());
}

TEST(NetworkConfig, MissingFieldNamesThePath) {
  auto section = normalized_network("{}");
  section.erase("firewall");
  auto c = parse_network_config(section);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("/firewall"), std::string::npos);
}

TEST(NetworkConfig, LexicalChecks) {
  bool v6 = false;
  EXPECT_TRUE(is_cidr("10.0.0.0/8", &v6));
  EXPECT_FALSE(v6);
  EXPECT_TRUE(is_cidr("fd00::/8", &v6));
  EXPECT_TRUE(v6);
  EXPECT_FALSE(is_cidr("10.0.0.0/33", &v6));
  EXPECT_FALSE(is_cidr("10.0.0.0", &v6));
  EXPECT_TRUE(is_interface_name("eth0.100"));
  EXPECT_FALSE(is_interface_name("a\"b"));
  EXPECT_FALSE(is_object_name("Web"));
}

}  // namespace
}  // namespace spectra::net
