#include "net/health_checker.h"

#include <gtest/gtest.h>

#include "fake_env.h"
#include "test_util.h"

namespace spectra::net {
namespace {

using namespace spectra::net::testing;
using std::chrono::milliseconds;

std::vector<ProbeTarget> targets(int unhealthy_threshold = 2, int healthy_threshold = 2) {
  NetworkConfig c =
      parsed_network(R"({"load_balancers": [{"name": "app", "listen_address": "198.18.0.10",
      "listen_port": 80, "backends": [{"address": "10.0.0.1", "port": 80}, {"address": "10.0.0.2", "port": 80}],
      "health_check": {"interval_ms": 1000, "timeout_ms": 300, "port": 81}}]})");
  auto t = probe_targets(c);
  for (auto& x : t) {
    x.check.unhealthy_threshold = unhealthy_threshold;
    x.check.healthy_threshold = healthy_threshold;
  }
  return t;
}

struct Rig {
  FakeClock clock;
  FakeProber prober;
  HealthChecker hc{clock, prober};
  int changes = 0;
  Rig() {
    hc.set_on_change([this] { ++changes; });
  }
};

TEST(HealthChecker, ProbesEveryIntervalOnTheCheckPort) {
  Rig r;
  r.hc.set_targets(targets());
  auto next = r.hc.poll();
  ASSERT_EQ(r.prober.pending.size(), 2u);
  EXPECT_EQ(r.prober.pending[0].port, 81);
  EXPECT_EQ(r.prober.pending[0].timeout, milliseconds(300));
  ASSERT_TRUE(next);
  EXPECT_EQ(*next - r.clock.now(), milliseconds(1000));
  r.clock.advance(milliseconds(500));
  r.prober.answer("", true);
  r.clock.advance(milliseconds(499));
  r.hc.poll();
  EXPECT_EQ(r.prober.pending.size(), 0u) << "not due yet";
  r.clock.advance(milliseconds(1));
  r.hc.poll();
  EXPECT_EQ(r.prober.pending.size(), 2u);
  // Still in flight when due again: no second probe for the same backend.
  r.clock.advance(milliseconds(1000));
  r.hc.poll();
  EXPECT_EQ(r.prober.pending.size(), 2u);
}

TEST(HealthChecker, ThresholdsGateTransitionsAndNotify) {
  Rig r;
  r.hc.set_targets(targets(/*unhealthy=*/2, /*healthy=*/3));
  auto step = [&](bool ok) {
    r.hc.poll();
    r.prober.answer("10.0.0.1:81", ok);
    r.prober.answer("10.0.0.2:81", true);
    r.clock.advance(milliseconds(1000));
  };
  step(false);
  EXPECT_TRUE(r.hc.healthy("app", "10.0.0.1:80"));
  EXPECT_EQ(r.changes, 0);
  step(false);
  EXPECT_FALSE(r.hc.healthy("app", "10.0.0.1:80"));
  EXPECT_EQ(r.changes, 1);
  EXPECT_EQ(r.hc.unhealthy().at("app"), (std::set<std::string>{"10.0.0.1:80"}));
  step(true);
  step(false);  // resets the good streak
  step(true);
  step(true);
  EXPECT_FALSE(r.hc.healthy("app", "10.0.0.1:80"));
  step(true);
  EXPECT_TRUE(r.hc.healthy("app", "10.0.0.1:80"));
  EXPECT_EQ(r.changes, 2);
  EXPECT_TRUE(r.hc.unhealthy().empty());
  auto st = r.hc.status();
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].at("checks").as_uint64(), 7u);
  EXPECT_EQ(st[0].at("failures").as_uint64(), 3u);
}

TEST(HealthChecker, TargetUpdatesKeepStateAndDropStaleResults) {
  Rig r;
  auto t = targets(1, 1);
  r.hc.set_targets(t);
  r.hc.poll();
  r.prober.answer("10.0.0.1:81", false);
  EXPECT_FALSE(r.hc.healthy("app", "10.0.0.1:80"));
  r.hc.set_targets(t);  // same set: state kept
  EXPECT_FALSE(r.hc.healthy("app", "10.0.0.1:80"));
  // Remove the backend with a probe in flight, add it back: the old answer is ignored.
  r.hc.set_targets({t[0]});
  r.hc.set_targets({t[0], t[1]});
  EXPECT_EQ(r.prober.answer("10.0.0.2:81", false), 1);
  EXPECT_TRUE(r.hc.healthy("app", "10.0.0.2:80"));
  r.hc.set_targets({});
  EXPECT_TRUE(r.hc.unhealthy().empty());
  EXPECT_FALSE(r.hc.poll());
}

TEST(HealthChecker, DisabledChecksAndExternalSetsShapeTargets) {
  NetworkConfig c = parsed_network(R"({"load_balancers": [
      {"name": "off", "listen_address": "198.18.0.10", "listen_port": 80,
       "backends": [{"address": "10.0.0.1", "port": 80}], "health_check": {"enabled": false}},
      {"name": "ext", "listen_address": "198.18.0.10", "listen_port": 81, "backend_source": "nlb_target_group",
       "target_group_arn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/x/1"}]})");
  EXPECT_TRUE(probe_targets(c).empty());
  auto t = probe_targets(c, {{"ext", {{"10.0.9.9", 8080, 1}}}});
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].key(), "ext/10.0.9.9:8080");
  EXPECT_EQ(t[0].probe_port(), 8080);
}

}  // namespace
}  // namespace spectra::net
