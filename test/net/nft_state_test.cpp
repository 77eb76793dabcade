#include "net/nft_state.h"

#include <gtest/gtest.h>

#include "common/file_util.h"

namespace spectra::net {
namespace {

// Captured from nft 1.0.6 (`nft -j list table inet spectra_filter`).
std::string readback() {
  auto t = fs::read_file(std::string(SPECTRA_SOURCE_DIR) + "/test/net/golden/readback_filter.json");
  EXPECT_TRUE(t.ok());
  return t.ok() ? *t : "";
}

TEST(NftState, ParsesRealLibnftablesJson) {
  auto t = parse_table_json(readback(), "inet", "spectra_filter");
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_TRUE(t->exists);
  ASSERT_EQ(t->chains.size(), 3u);
  const ActualChain* fwd = t->chain("forward");
  ASSERT_TRUE(fwd);
  ASSERT_TRUE(fwd->base);
  EXPECT_EQ(fwd->base->hook, "forward");
  EXPECT_EQ(fwd->base->policy, "drop");
  EXPECT_EQ(fwd->base->priority, 0);
  EXPECT_EQ(fwd->rule_comments,
            (std::vector<std::string>{"base:established #11111111", "fw:web #22222222", ""}));
  EXPECT_EQ(t->chain("port_forward_guard")->base->priority, -110);
  EXPECT_FALSE(t->chain("pfa_web")->base);
  EXPECT_EQ(t->counters.count("fw_web"), 1u);
  EXPECT_EQ(t->rule_count(), 5u);
  ExistingObjects o = t->objects();
  EXPECT_EQ(o.chains.size(), 3u);
  EXPECT_EQ(o.base_chains.size(), 2u);
}

TEST(NftState, OtherTablesAreIgnoredAndBadJsonFails) {
  auto t = parse_table_json(readback(), "ip", "spectra_nat");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->exists);
  EXPECT_TRUE(t->chains.empty());
  EXPECT_FALSE(parse_table_json("{\"x\": 1}", "inet", "spectra_filter").ok());
  EXPECT_FALSE(parse_table_json("not json", "inet", "spectra_filter").ok());
}

TableSpec want_filter() {
  TableSpec w;
  w.family = "inet";
  w.name = "spectra_filter";
  w.present = true;
  w.counters = {"fw_web", "fw_new"};
  ChainSpec fwd{"forward", BaseHook{"filter", "forward", 0, "accept"}, {}};
  fwd.rules.push_back({"base:established", "ct state established,related accept"});
  fwd.rules.push_back({"fw:new", "tcp dport 22 counter name \"fw_new\" drop"});
  w.chains.push_back(fwd);
  ChainSpec guard{"port_forward_guard", BaseHook{"filter", "prerouting", -110, "accept"}, {}};
  w.chains.push_back(guard);
  return w;
}

TEST(NftState, DiffNamesEveryDifference) {
  auto have = parse_table_json(readback(), "inet", "spectra_filter");
  ASSERT_TRUE(have.ok());
  auto lines = diff_table(want_filter(), *have);
  auto has = [&](const std::string& l) {
    return std::find(lines.begin(), lines.end(), l) != lines.end();
  };
  EXPECT_TRUE(has("+ counter fw_new")) << ::testing::PrintToString(lines);
  EXPECT_TRUE(
      has("~ chain forward: filter hook forward priority 0 policy drop -> filter hook forward "
          "priority 0 policy accept"));
  EXPECT_TRUE(has("forward: ~ rule base:established"));  // same id, other hash
  EXPECT_TRUE(has("forward: + rule fw:new"));
  EXPECT_TRUE(has("forward: - rule fw:web"));
  EXPECT_TRUE(has("forward: - 1 rule(s) not written by the gateway"));
  EXPECT_TRUE(has("port_forward_guard: - rule guard:forwards"));
  EXPECT_TRUE(has("- chain pfa_web"));
}

TEST(NftState, NoDiffWhenKernelMatchesAndTableStates) {
  TableSpec w = want_filter();
  ActualTable have;
  have.exists = true;
  have.family = "inet";
  have.name = "spectra_filter";
  for (const auto& c : w.counters) have.counters[c] = {};
  for (const auto& c : w.chains) {
    ActualChain ac{c.name, c.base, {}};
    for (const auto& r : c.rules) ac.rule_comments.push_back(r.comment());
    have.chains.push_back(ac);
  }
  EXPECT_TRUE(diff_table(w, have).empty());
  std::swap(have.chains[0].rule_comments[0], have.chains[0].rule_comments[1]);
  EXPECT_EQ(diff_table(w, have), (std::vector<std::string>{"forward: ~ rules reordered"}));

  ActualTable absent;
  auto add = diff_table(w, absent);
  ASSERT_FALSE(add.empty());
  EXPECT_EQ(add[0], "+ table inet spectra_filter (2 chains, 2 counters)");
  TableSpec gone = w;
  gone.present = false;
  EXPECT_EQ(diff_table(gone, have), (std::vector<std::string>{"- table inet spectra_filter"}));
  EXPECT_TRUE(diff_table(gone, absent).empty());
}

}  // namespace
}  // namespace spectra::net
