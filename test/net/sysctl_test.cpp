#include "net/sysctl.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace spectra::net {
namespace {

TEST(Sysctl, DesiredFollowsTheConfig) {
  EXPECT_TRUE(desired_sysctls(testing::parsed_network("{}")).empty());
  auto s = desired_sysctls(testing::parsed_network(
      R"({"egress_interface": "ens5", "conntrack_max": 1000, "snat": {"enabled": true, "source_cidrs": ["10.0.0.0/8"]}})"));
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].key, "net/ipv4/ip_forward");
  EXPECT_TRUE(s[0].required);
  EXPECT_EQ(s[1].key, "net/ipv4/conf/ens5/rp_filter");
  EXPECT_EQ(s[1].value, "2");
  EXPECT_EQ(s[2].value, "1000");
  EXPECT_EQ(sysctl_display(s[1].key), "net.ipv4.conf.ens5.rp_filter");
}

TEST(Sysctl, ProcSysctlReadsWritesAndReports) {
  namespace fsys = std::filesystem;
  fsys::path root = fsys::temp_directory_path() / ("sysctl-test-" + std::to_string(::getpid()));
  fsys::create_directories(root / "net/ipv4/conf/ens5");
  std::ofstream(root / "net/ipv4/ip_forward") << "0\n";
  std::ofstream(root / "net/ipv4/conf/ens5/rp_filter") << "2\n";
  ProcSysctl p(root.string());
  std::vector<SysctlSetting> want{{"net/ipv4/ip_forward", "1", true},
                                  {"net/ipv4/conf/ens5/rp_filter", "2", false},
                                  {"net/missing/dir/key", "5", false}};
  auto plan = plan_sysctls(p, want);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0], "~ net.ipv4.ip_forward: 0 -> 1");
  auto r = apply_sysctls(p, want);
  EXPECT_TRUE(r[0].ok);
  EXPECT_EQ(r[0].before, "0");
  EXPECT_EQ(*p.read("net/ipv4/ip_forward"), "1");
  EXPECT_TRUE(r[1].ok);
  EXPECT_FALSE(r[2].ok);
  EXPECT_FALSE(r[2].error.empty());
  auto js = sysctl_status(r);
  EXPECT_EQ(js[2].at("ok").as_bool(), false);
  fsys::remove_all(root);
}

}  // namespace
}  // namespace spectra::net
