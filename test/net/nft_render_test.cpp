// Golden files pin the renderer's output: test/net/golden/<case>.json holds a
// network section (normalised by the real schema here) and the observed
// facts; <case>.nft is the expected transaction. To regenerate after an
// intended change:  SPECTRA_UPDATE_GOLDEN=1 ./net_unit_test --gtest_filter='Golden*'
// and review the diff.
#include "net/nft_render.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cstdlib>
#include <filesystem>

#include "common/file_util.h"
#include "test_util.h"

namespace spectra::net {
namespace {

namespace bj = boost::json;
using testing::parsed_network;

const std::string kGoldenDir = std::string(SPECTRA_SOURCE_DIR) + "/test/net/golden";

ExistingObjects existing_from(const bj::object& o) {
  ExistingObjects e;
  e.exists = true;
  // A chain is a name (regular chain) or {name, type, hook, prio, policy} (base chain).
  for (const auto& c : o.at("chains").as_array()) {
    if (c.is_string()) {
      e.chains.insert(std::string(c.as_string()));
      continue;
    }
    const auto& b = c.as_object();
    std::string name(b.at("name").as_string());
    e.chains.insert(name);
    e.base_chains[name] = BaseHook{
        std::string(b.at("type").as_string()), std::string(b.at("hook").as_string()),
        static_cast<int>(b.at("prio").as_int64()), std::string(b.at("policy").as_string())};
  }
  for (const auto& c : o.at("counters").as_array()) e.counters.insert(std::string(c.as_string()));
  return e;
}

std::string render_case(const std::string& name) {
  auto text = fs::read_file(kGoldenDir + "/" + name + ".json");
  EXPECT_TRUE(text.ok()) << name;
  bj::object in = bj::parse(*text).as_object();
  NetworkConfig cfg = parsed_network(bj::serialize(in.at("network")));
  RenderFacts facts;
  ExistingObjects filter_now, nat_now;
  if (const auto* f = in.if_contains("facts")) {
    const bj::object& fo = f->as_object();
    if (const auto* u = fo.if_contains("unhealthy")) {
      for (const auto& [lb, keys] : u->as_object()) {
        for (const auto& k : keys.as_array())
          facts.backends.unhealthy[lb].insert(std::string(k.as_string()));
      }
    }
    if (const auto* x = fo.if_contains("external")) {
      for (const auto& [lb, list] : x->as_object()) {
        auto& v = facts.backends.external[lb];
        for (const auto& b : list.as_array()) {
          v.push_back({std::string(b.at("address").as_string()),
                       static_cast<std::uint16_t>(b.at("port").as_int64()),
                       static_cast<std::uint32_t>(b.at("weight").as_int64())});
        }
      }
    }
    if (const auto* l = fo.if_contains("lb_in_nftables")) facts.lb_in_nftables = l->as_bool();
    if (const auto* e = fo.if_contains("existing_filter"))
      filter_now = existing_from(e->as_object());
    if (const auto* e = fo.if_contains("existing_nat")) nat_now = existing_from(e->as_object());
  }
  return render_script(build_ruleset(cfg, facts), filter_now, nat_now);
}

void check_golden(const std::string& name) {
  std::string got = render_case(name);
  std::string path = kGoldenDir + "/" + name + ".nft";
  if (std::getenv("SPECTRA_UPDATE_GOLDEN")) {
    ASSERT_TRUE(fs::write_file_atomic(path, got).ok());
    GTEST_SKIP() << "golden file rewritten: " << path;
  }
  auto want = fs::read_file(path);
  ASSERT_TRUE(want.ok()) << path << " missing; run with SPECTRA_UPDATE_GOLDEN=1";
  EXPECT_EQ(got, *want) << "renderer output changed for " << name
                        << "; if intended, regenerate with SPECTRA_UPDATE_GOLDEN=1";
}

TEST(Golden, Empty) { check_golden("empty"); }
TEST(Golden, SourceNat) { check_golden("snat"); }
TEST(Golden, PortForwards) { check_golden("port_forwards"); }
TEST(Golden, Firewall) { check_golden("firewall"); }
TEST(Golden, LoadBalancers) { check_golden("load_balancers"); }
TEST(Golden, LoadBalancersViaIpvs) { check_golden("ipvs_nat_only"); }
TEST(Golden, LabWithStaleObjects) { check_golden("lab_stale"); }

TEST(Render, OnlyOwnTablesAndNeverFlushRuleset) {
  std::string s = render_case("lab_stale");
  EXPECT_EQ(s.find("flush ruleset"), std::string::npos);
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    bool ours = line.find(" inet spectra_filter") != std::string::npos ||
                line.find(" ip spectra_nat") != std::string::npos;
    EXPECT_TRUE(ours) << line;
  }
}

TEST(Render, DisabledEverythingDeletesExistingTablesOnly) {
  NetworkConfig cfg = parsed_network("{}");
  Ruleset r = build_ruleset(cfg, {});
  EXPECT_FALSE(r.filter.present);
  EXPECT_FALSE(r.nat.present);
  ExistingObjects had;
  had.exists = true;
  EXPECT_EQ(render_table(r.nat, had), "add table ip spectra_nat\ndelete table ip spectra_nat\n");
  EXPECT_EQ(render_table(r.nat, {}), "");
}

TEST(Render, UnhealthyBackendsLeaveTheMapAndAllUnhealthyFailsOpen) {
  NetworkConfig cfg =
      parsed_network(R"({"load_balancers": [{"name": "web", "listen_address": "198.18.0.10",
      "listen_port": 80, "backends": [{"address": "10.0.0.1", "port": 80}, {"address": "10.0.0.2", "port": 80},
      {"address": "10.0.0.3", "port": 80}]}]})");
  RenderFacts f;
  f.backends.unhealthy["web"] = {"10.0.0.2:80"};
  Ruleset r = build_ruleset(cfg, f);
  const ChainSpec* lb = r.nat.chain("lb_web");
  ASSERT_TRUE(lb);
  EXPECT_NE(lb->rules[0].text.find("numgen inc mod 2 "), std::string::npos) << lb->rules[0].text;
  EXPECT_EQ(lb->rules[0].text.find("10_0_0_2"), std::string::npos);
  EXPECT_EQ(r.nat.chain("lbb_web_10_0_0_2_80"), nullptr);

  f.backends.unhealthy["web"] = {"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"};
  r = build_ruleset(cfg, f);
  EXPECT_NE(r.nat.chain("lb_web")->rules[0].text.find("mod 3 "), std::string::npos);
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes[0].find("every backend is unhealthy"), std::string::npos);
}

TEST(Render, HashIdentifiesRuleText) {
  RuleSpec a{"fw:x", "ip saddr 10.0.0.0/8 accept"};
  RuleSpec b{"fw:x", "ip saddr 10.0.0.0/8 drop"};
  EXPECT_NE(a.hash(), b.hash());
  EXPECT_EQ(a.hash().size(), 8u);
  EXPECT_EQ(a.comment(), "fw:x #" + a.hash());
}

TEST(LbSelect, WeightedSlotsReduceInterleaveAndCap) {
  EXPECT_EQ(weighted_slots({2, 4, 6}, false), (std::vector<std::size_t>{0, 1, 1, 2, 2, 2}));
  auto smooth = weighted_slots({5, 1, 1}, true);
  EXPECT_EQ(smooth, (std::vector<std::size_t>{0, 0, 1, 0, 2, 0, 0}));
  auto capped = weighted_slots({1000, 1, 999}, true, 256);
  EXPECT_LE(capped.size(), 256u);
  EXPECT_EQ(std::count(capped.begin(), capped.end(), 1u), 1);
  EXPECT_TRUE(weighted_slots({}, true).empty());
}

TEST(LbSelect, MergesDuplicatesAndUsesExternalSets) {
  NetworkConfig cfg =
      parsed_network(R"({"load_balancers": [{"name": "a", "listen_address": "198.18.0.10",
      "listen_port": 80, "backends": [{"address": "10.0.0.1", "port": 80, "weight": 2},
      {"address": "10.0.0.1", "port": 80, "weight": 3}]},
      {"name": "b", "listen_address": "198.18.0.10", "listen_port": 81, "backend_source": "nlb_target_group",
       "target_group_arn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/x/1"}]})");
  auto a = select_backends(cfg.load_balancers[0], {});
  ASSERT_EQ(a.backends.size(), 1u);
  EXPECT_EQ(a.backends[0].weight, 5u);
  EXPECT_TRUE(select_backends(cfg.load_balancers[1], {}).backends.empty());
  BackendFacts f;
  f.external["b"] = {{"10.0.1.1", 8080, 1}};
  EXPECT_EQ(select_backends(cfg.load_balancers[1], f).backends.size(), 1u);
}

}  // namespace
}  // namespace spectra::net
