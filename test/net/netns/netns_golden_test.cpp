// Every golden transaction is valid for the real kernel: checked (and for the
// stale-objects case applied) with libnftables inside a lab namespace.
#include "common/file_util.h"
#include "netns/netns_fixture.h"

namespace spectra::net::testing {
namespace {

class NetnsGolden : public NetnsTest {
 protected:
  std::string golden(const std::string& name) {
    auto t = fs::read_file(std::string(SPECTRA_SOURCE_DIR) + "/test/net/golden/" + name);
    EXPECT_TRUE(t.ok()) << name;
    return t.ok() ? *t : "";
  }
};

TEST_F(NetnsGolden, EveryGoldenScriptPassesTheKernelCheck) {
  NetnsScope gw(ns("gw"));
  ASSERT_TRUE(gw.ok());
  for (const char* name :
       {"empty", "snat", "port_forwards", "firewall", "load_balancers", "ipvs_nat_only"}) {
    Status s = nft_.run(golden(std::string(name) + ".nft"), /*check_only=*/true);
    EXPECT_TRUE(s.ok()) << name << ": " << s.to_string();
  }
}

TEST_F(NetnsGolden, StaleObjectsAreReplacedInOneTransaction) {
  NetnsScope gw(ns("gw"));
  ASSERT_TRUE(nft_.run(golden("lab_stale.setup.nft"), false).ok());
  Status s = nft_.run(golden("lab_stale.nft"), false);
  ASSERT_TRUE(s.ok()) << s.to_string();
  auto f = read_table(nft_, "inet", "spectra_filter");
  auto n = read_table(nft_, "ip", "spectra_nat");
  ASSERT_TRUE(f.ok() && n.ok());
  EXPECT_FALSE(f->chain("pfa_old"));
  EXPECT_EQ(f->counters.count("fw_old-rule"), 0u);
  EXPECT_EQ(f->chain("port_forward_guard")->base->priority, -110)
      << "base chain with a new priority is recreated";
  ASSERT_TRUE(n->chain("output")->base) << "regular chain turned into a base chain";
  EXPECT_FALSE(n->chain("lbb_app_10_213_2_13_8000"));
  EXPECT_EQ(n->counters.count("lbb_app_10_213_2_13_8000"), 0u);
  EXPECT_TRUE(n->chain("lbb_app_10_213_2_12_8000"));
}

}  // namespace
}  // namespace spectra::net::testing
