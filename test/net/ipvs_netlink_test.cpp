// The IPVS generic-netlink messages, byte for byte (x86-64/arm64: netlink
// headers and attribute values are little-endian host order; ports and
// addresses are network order). Layout: linux/netlink.h, linux/genetlink.h,
// linux/ip_vs.h.
#include "net/ipvs_netlink.h"

#include <errno.h>
#include <gtest/gtest.h>

#include <cstring>

#include "fake_env.h"
#include "net/ipvs_backend.h"
#include "test_util.h"

namespace spectra::net {
namespace {

using namespace spectra::net::testing;

IpvsService svc() {
  IpvsService s;
  s.protocol = 6;
  s.addr = {10, 0, 0, 1};
  s.port = 80;
  s.scheduler = "rr";
  return s;
}

TEST(IpvsNetlink, GetFamilyBytes) {
  // clang-format off
  Bytes want = {
      32, 0, 0, 0,  0x10, 0,  1, 0,  1, 0, 0, 0,  0, 0, 0, 0,  // nlmsghdr: len, GENL_ID_CTRL, REQUEST, seq 1, pid 0
      3, 1, 0, 0,                                               // CTRL_CMD_GETFAMILY, version 1
      9, 0, 2, 0, 'I', 'P', 'V', 'S', 0, 0, 0, 0,               // CTRL_ATTR_FAMILY_NAME "IPVS\0" + pad
  };
  // clang-format on
  EXPECT_EQ(build_genl_get_family(1, "IPVS"), want);
}

TEST(IpvsNetlink, NewServiceBytes) {
  // clang-format off
  Bytes want = {
      104, 0, 0, 0,  0x23, 0,  5, 0,  7, 0, 0, 0,  0, 0, 0, 0,  // len 104, family 0x23, REQUEST|ACK, seq 7
      1, 1, 0, 0,                                                 // IPVS_CMD_NEW_SERVICE, IPVS_GENL_VERSION
      84, 0, 1, 0x80,                                             // nested IPVS_CMD_ATTR_SERVICE, len 84
      6, 0, 1, 0, 2, 0, 0, 0,                                     // AF = AF_INET
      6, 0, 2, 0, 6, 0, 0, 0,                                     // PROTOCOL = TCP
      20, 0, 3, 0, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // ADDR (nf_inet_addr)
      6, 0, 4, 0, 0, 80, 0, 0,                                    // PORT 80, big-endian
      7, 0, 6, 0, 'r', 'r', 0, 0,                                 // SCHED_NAME "rr\0"
      12, 0, 7, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,            // FLAGS {flags 0, mask ~0}
      8, 0, 8, 0, 0, 0, 0, 0,                                     // TIMEOUT 0
      8, 0, 9, 0, 0xff, 0xff, 0xff, 0xff,                         // NETMASK 255.255.255.255
  };
  // clang-format on
  EXPECT_EQ(build_ipvs_new_service(0x23, 7, svc()), want);
}

TEST(IpvsNetlink, NewDestBytes) {
  IpvsDest d{{10, 0, 0, 2}, 8080, 3, 0};
  // clang-format off
  Bytes want = {
      140, 0, 0, 0,  0x23, 0,  5, 0,  8, 0, 0, 0,  0, 0, 0, 0,
      5, 1, 0, 0,                                                 // IPVS_CMD_NEW_DEST
      48, 0, 1, 0x80,                                             // service (identity only)
      6, 0, 1, 0, 2, 0, 0, 0,
      6, 0, 2, 0, 6, 0, 0, 0,
      20, 0, 3, 0, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      6, 0, 4, 0, 0, 80, 0, 0,
      72, 0, 2, 0x80,                                             // nested IPVS_CMD_ATTR_DEST
      20, 0, 1, 0, 10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // ADDR
      6, 0, 2, 0, 0x1f, 0x90, 0, 0,                               // PORT 8080
      8, 0, 3, 0, 0, 0, 0, 0,                                     // FWD_METHOD = MASQ (NAT)
      8, 0, 4, 0, 3, 0, 0, 0,                                     // WEIGHT 3
      8, 0, 5, 0, 0, 0, 0, 0,                                     // U_THRESH
      8, 0, 6, 0, 0, 0, 0, 0,                                     // L_THRESH
      6, 0, 11, 0, 2, 0, 0, 0,                                    // ADDR_FAMILY = AF_INET
  };
  // clang-format on
  EXPECT_EQ(build_ipvs_new_dest(0x23, 8, svc(), d), want);
}

TEST(IpvsNetlink, DelDestBytes) {
  IpvsDest d{{10, 0, 0, 2}, 8080, 3, 0};
  // clang-format off
  Bytes want = {
      108, 0, 0, 0,  0x23, 0,  5, 0,  9, 0, 0, 0,  0, 0, 0, 0,
      7, 1, 0, 0,                                                 // IPVS_CMD_DEL_DEST
      48, 0, 1, 0x80,
      6, 0, 1, 0, 2, 0, 0, 0,
      6, 0, 2, 0, 6, 0, 0, 0,
      20, 0, 3, 0, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      6, 0, 4, 0, 0, 80, 0, 0,
      40, 0, 2, 0x80,                                             // dest identity: addr, port, family
      20, 0, 1, 0, 10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      6, 0, 2, 0, 0x1f, 0x90, 0, 0,
      6, 0, 11, 0, 2, 0, 0, 0,
  };
  // clang-format on
  EXPECT_EQ(build_ipvs_del_dest(0x23, 9, svc(), d), want);
}

Bytes ack(int error, std::uint32_t seq = 1) {
  Bytes b(36, 0);
  std::uint32_t len = 36;
  std::uint16_t type = 2;  // NLMSG_ERROR
  std::memcpy(&b[0], &len, 4);
  std::memcpy(&b[4], &type, 2);
  std::memcpy(&b[8], &seq, 4);
  std::memcpy(&b[16], &error, 4);
  return b;
}

TEST(IpvsNetlink, ParsesAcksAndFamilyReplies) {
  int err = 1;
  EXPECT_TRUE(parse_netlink_ack(ack(0), &err).ok());
  EXPECT_EQ(err, 0);
  EXPECT_FALSE(parse_netlink_ack(ack(-EEXIST), &err).ok());
  EXPECT_EQ(err, -EEXIST);
  EXPECT_FALSE(parse_netlink_ack(Bytes{1, 2, 3}, &err).ok());

  // clang-format off
  Bytes reply = {
      40, 0, 0, 0,  0x10, 0,  0, 0,  1, 0, 0, 0,  0, 0, 0, 0,
      1, 2, 0, 0,                                    // CTRL_CMD_NEWFAMILY
      9, 0, 2, 0, 'I', 'P', 'V', 'S', 0, 0, 0, 0,   // FAMILY_NAME
      6, 0, 1, 0, 0x23, 0, 0, 0,                    // FAMILY_ID 0x23
  };
  // clang-format on
  auto id = parse_genl_family_id(reply);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 0x23);
  auto missing = parse_genl_family_id(ack(-ENOENT));
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
}

TEST(L4Choice, AutoPrefersIpvsOverrideWins) {
  FakeL4 env;
  EXPECT_EQ(*choose_l4(L4Backend::kAuto, env), L4Impl::kNftables);
  EXPECT_EQ(choose_l4(L4Backend::kIpvs, env).status().code(), Code::kConflict);
  env.genl = true;
  EXPECT_EQ(*choose_l4(L4Backend::kAuto, env), L4Impl::kIpvs);
  EXPECT_EQ(*choose_l4(L4Backend::kNftables, env), L4Impl::kNftables);
  env.genl = false;
  env.proc = true;
  EXPECT_EQ(*choose_l4(L4Backend::kIpvs, env), L4Impl::kIpvs);
}

TEST(L4Choice, ThisMachineRunsNftables) {
  SystemL4Environment env;
  auto c = choose_l4(L4Backend::kAuto, env);
  ASSERT_TRUE(c.ok());
  if (env.proc_ip_vs_exists()) GTEST_SKIP() << "this kernel has IPVS";
  EXPECT_EQ(*c, L4Impl::kNftables);
}

// Answers every request with an ack; errors can be scripted per command.
class FakeTransport : public NetlinkTransport {
 public:
  std::vector<int> commands;
  std::map<int, int> errors_once;  // command -> -errno for its next request
  Result<Bytes> request(const Bytes& msg) override {
    int cmd = msg.at(16);
    commands.push_back(cmd);
    auto it = errors_once.find(cmd);
    if (it != errors_once.end()) {
      int e = it->second;
      errors_once.erase(it);
      return ack(e);
    }
    return ack(0);
  }
};

TEST(IpvsApplier, SyncCreatesUpdatesAndRemoves) {
  NetworkConfig c =
      parsed_network(R"({"load_balancers": [{"name": "app", "listen_address": "198.18.0.10",
      "listen_port": 80, "scheduler": "weighted",
      "backends": [{"address": "10.0.0.1", "port": 80, "weight": 2}, {"address": "10.0.0.2", "port": 80}]}]})");
  FakeTransport nl;
  IpvsApplier a(nl, 0x23);
  nl.errors_once[1] = -EEXIST;  // the service exists already (left by an earlier run)
  ASSERT_TRUE(a.sync(c, {}).ok());
  // NEW_SERVICE (EEXIST) -> SET_SERVICE, then NEW_DEST x2.
  EXPECT_EQ(nl.commands, (std::vector<int>{1, 2, 5, 5}));
  nl.commands.clear();
  ASSERT_TRUE(a.sync(c, {}).ok());
  EXPECT_TRUE(nl.commands.empty()) << "no change, no messages";
  BackendFacts f;
  f.unhealthy["app"] = {"10.0.0.2:80"};
  ASSERT_TRUE(a.sync(c, f).ok());
  EXPECT_EQ(nl.commands, (std::vector<int>{7}));  // DEL_DEST
  nl.commands.clear();
  ASSERT_TRUE(a.sync(NetworkConfig{}, {}).ok());
  EXPECT_EQ(nl.commands, (std::vector<int>{3}));  // DEL_SERVICE
  EXPECT_EQ(a.service_count(), 0u);
  EXPECT_STREQ(ipvs_scheduler(Scheduler::kSourceHash), "sh");
}

}  // namespace
}  // namespace spectra::net
