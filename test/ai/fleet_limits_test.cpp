// Limits across a fleet: two gateways' counters on one real redis-server.
#include "ai/fleet_limits.h"

#include <gtest/gtest.h>

#include "ai/redis_cache_storage.h"
#include "cache_test_util.h"
#include "common/clock.h"
#include "redis_server.h"

namespace spectra::ai {
namespace {

using namespace std::chrono_literals;
using spectra::testing::RedisServer;

// Two instances, each well under the key's limits on its own, together over
// them: after a sync both refuse, naming the limit.
TEST(FleetLimits, CountsRequestsTokensAndSpendAcrossInstances) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  // A long interval: the test syncs by hand, so what it sees is exact.
  FleetLimits a(test::redis_storage_for(redis), &SystemClock::instance(), 1h);
  FleetLimits b(test::redis_storage_for(redis), &SystemClock::instance(), 1h);
  const std::int64_t rpm = 10;
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(a.check("team", rpm, 0, 0).allowed);
    a.add_request("team");
  }
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(b.check("team", rpm, 0, 0).allowed);
    b.add_request("team");
  }
  // Alone, each is under 10; neither knows the other's yet.
  EXPECT_TRUE(a.check("team", rpm, 0, 0).allowed);
  ASSERT_TRUE(a.sync());
  ASSERT_TRUE(b.sync());
  ASSERT_TRUE(a.sync());  // a learns b's four
  for (FleetLimits* f : {&a, &b}) {
    LimitVerdict v = f->check("team", rpm, 0, 0);
    EXPECT_FALSE(v.allowed);
    EXPECT_EQ(v.limit, "rpm");
    EXPECT_NE(v.message.find("across the fleet"), std::string::npos) << v.message;
    EXPECT_GE(v.retry_after_seconds, 1);
    EXPECT_LE(v.retry_after_seconds, 60);
    EXPECT_EQ(v.requests.limit, rpm);  // headroom for x-ratelimit-*: none left this minute
    EXPECT_EQ(v.requests.remaining, 0);
    EXPECT_GT(v.requests.reset.count(), 0);
    EXPECT_LE(v.requests.reset.count(), 60'000);
  }
  // Another key is not affected.
  LimitVerdict other = a.check("other", rpm, 0, 0);
  EXPECT_TRUE(other.allowed);
  EXPECT_EQ(other.requests.remaining, rpm - 1);  // this request counted

  // Tokens and spend, the same way.
  a.add_tokens("team", 700);
  b.add_tokens("team", 400);
  a.add_spend("team", 0.6);
  b.add_spend("team", 0.5);
  ASSERT_TRUE(a.sync());
  ASSERT_TRUE(b.sync());
  ASSERT_TRUE(a.sync());
  EXPECT_EQ(a.check("team", 0, 1000, 0).limit, "tpm");
  EXPECT_EQ(b.check("team", 0, 2000, 0).tokens.remaining, 900);  // 2000 - 1100 across the fleet
  EXPECT_EQ(b.check("team", 0, 1000, 0).limit, "tpm");
  EXPECT_TRUE(b.check("team", 0, 2000, 0).allowed);
  EXPECT_EQ(a.check("team", 0, 0, 1.0).limit, "budget");
  EXPECT_TRUE(a.check("team", 0, 0, 1.2).allowed);
  // What Redis holds: the fleet's totals.
  const std::string spend = redis.command({"GET", "spectra:ai:spend:team"});  // "$<n>\r\n<number>\r\n"
  const auto body = spend.find("\r\n");
  ASSERT_NE(body, std::string::npos) << spend;
  EXPECT_NEAR(std::stod(spend.substr(body + 2)), 1.1, 1e-9) << spend;
  const auto minute = std::chrono::duration_cast<std::chrono::minutes>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string req = redis.command({"GET", "spectra:ai:limit:team:req:" + std::to_string(minute)});
  const std::string ttl = redis.command({"TTL", "spectra:ai:limit:team:req:" + std::to_string(minute)});
  // (A minute boundary during the test moves the window; then the key is empty.)
  if (req != "$-1\r\n") {
    EXPECT_EQ(req, "$2\r\n10\r\n");
    EXPECT_TRUE(ttl == ":120\r\n" || ttl == ":119\r\n") << ttl;
  }
}

// A periodic budget is counted per period across the fleet, under its own
// Redis key that expires a day after the period: spending in one month
// does not refuse the next.
TEST(FleetLimits, APeriodicBudgetStartsAgainWithItsPeriod) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  FakeClock clock;
  clock.advance(std::chrono::sys_days(std::chrono::year(2026) / 11 / 30) + 23h + 59min - clock.system_now());
  FleetLimits a(test::redis_storage_for(redis), &clock, 1h);
  FleetLimits b(test::redis_storage_for(redis), &clock, 1h);
  const auto monthly = BudgetPeriod::kMonthly;
  EXPECT_TRUE(a.check("team", 0, 0, 1.0, monthly).allowed);
  a.add_spend("team", 0.6, monthly);
  b.add_spend("team", 0.5, monthly);
  ASSERT_TRUE(a.sync());
  ASSERT_TRUE(b.sync());
  ASSERT_TRUE(a.sync());
  LimitVerdict v = a.check("team", 0, 0, 1.0, monthly);
  EXPECT_EQ(v.limit, "budget");
  EXPECT_NE(v.message.find("monthly budget of $1.00"), std::string::npos) << v.message;
  EXPECT_NE(v.message.find("across the fleet; it renews at 2026-12-01T00:00:00Z"), std::string::npos) << v.message;
  EXPECT_EQ(v.retry_after_seconds, 60);
  EXPECT_EQ(b.check("team", 0, 0, 1.0, monthly).limit, "budget");
  ASSERT_TRUE(b.spent("team", monthly).has_value());
  EXPECT_NEAR(*b.spent("team", monthly), 1.1, 1e-9);
  EXPECT_FALSE(b.spent("team", BudgetPeriod::kDaily).has_value());  // not what it counts
  const std::string key = "spectra:ai:spend:team:m2026-11";
  const std::string spend = redis.command({"GET", key});
  ASSERT_NE(spend.find("\r\n"), std::string::npos) << spend;
  EXPECT_NEAR(std::stod(spend.substr(spend.find("\r\n") + 2)), 1.1, 1e-9) << spend;
  const std::string ttl = redis.command({"TTL", key});  // a minute of the month left + a day
  EXPECT_TRUE(ttl == ":86460\r\n" || ttl == ":86459\r\n") << ttl;
  EXPECT_EQ(redis.command({"EXISTS", "spectra:ai:spend:team"}), ":0\r\n");  // the total is not touched

  clock.advance(1min);  // December
  EXPECT_FALSE(a.spent("team", monthly).has_value());  // nothing known of December yet
  EXPECT_TRUE(a.check("team", 0, 0, 1.0, monthly).allowed);
  a.add_spend("team", 0.3, monthly);
  ASSERT_TRUE(a.sync());
  ASSERT_TRUE(b.sync());
  // b's sync moved on to December by itself (no request needed first).
  ASSERT_TRUE(b.spent("team", monthly).has_value());
  EXPECT_NEAR(*b.spent("team", monthly), 0.3, 1e-9);
  EXPECT_TRUE(b.check("team", 0, 0, 1.0, monthly).allowed);
  const std::string dec = redis.command({"GET", "spectra:ai:spend:team:m2026-12"});
  ASSERT_NE(dec.find("\r\n"), std::string::npos) << dec;
  EXPECT_NEAR(std::stod(dec.substr(dec.find("\r\n") + 2)), 0.3, 1e-9) << dec;
}

// A Redis that is gone: syncs fail, admission goes on from what is known
// (and this instance's own counts), nothing blocks.
TEST(FleetLimits, ARedisThatIsDownLeavesTheLastTotalsInForce) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  FleetLimits a(test::redis_storage_for(redis), &SystemClock::instance(), 1h);
  a.add_spend("team", 2.0);
  ASSERT_TRUE(a.sync());
  redis.stop();
  a.add_request("team");
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(a.sync());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_EQ(a.check("team", 0, 0, 1.5).limit, "budget");  // the last known spend
  EXPECT_TRUE(a.check("team", 100, 0, 0).allowed);
}

// A rate alone (a provider's quota, an end user) keeps no spend in Redis;
// a sparse bucket (an end user) is pushed and read only after this
// instance counted something for it, a quota's every interval.
TEST(FleetLimits, ARateKeepsNoSpendAndAnIdleSparseBucketCostsRedisNothing) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  FakeClock clock;  // (one minute window for the whole test)
  FleetLimits a(test::redis_storage_for(redis), &clock, 1h);
  FleetLimits b(test::redis_storage_for(redis), &clock, 1h);
  const std::string user = "user:app\nalice";
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(a.check_rate(user, 3, 0, /*sparse=*/true).allowed);
    a.add_request(user);
  }
  ASSERT_TRUE(b.check_rate(user, 3, 0, true).allowed);
  b.add_request(user);
  ASSERT_TRUE(a.check_rate("quota:p/m", 5, 0).allowed);
  a.add_request("quota:p/m");
  ASSERT_TRUE(b.sync());  // the fleet's 1
  ASSERT_TRUE(a.sync());  // 1 + 2: a knows the fleet is at the limit
  LimitVerdict v = a.check_rate(user, 3, 0, true);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.limit, "rpm");
  EXPECT_EQ(redis.command({"KEYS", "spectra:ai:spend:*"}), "*0\r\n");
  const auto minute = std::chrono::duration_cast<std::chrono::minutes>(clock.system_now().time_since_epoch()).count();
  const std::string window = "spectra:ai:limit:" + user + ":req:" + std::to_string(minute);
  EXPECT_EQ(redis.command({"GET", window}), "$1\r\n3\r\n");

  // Idle here: a's sync leaves the user's window alone (a deleted window
  // stays deleted) but pushes the quota's (zero increments read totals).
  const std::string quota = "spectra:ai:limit:quota:p/m:req:" + std::to_string(minute);
  ASSERT_EQ(redis.command({"DEL", window, quota}), ":2\r\n");
  ASSERT_TRUE(a.sync());
  EXPECT_EQ(redis.command({"EXISTS", window}), ":0\r\n");
  EXPECT_EQ(redis.command({"EXISTS", quota}), ":1\r\n");
  // b's view is as fresh as its last request of the user: it admits once
  // more (the documented bound, one interval's admissions), then knows.
  ASSERT_TRUE(b.check_rate(user, 3, 0, true).allowed);
  b.add_request(user);
  ASSERT_TRUE(b.sync());
  EXPECT_EQ(redis.command({"GET", window}), "$1\r\n1\r\n") << "(the deleted window started again)";
}

// The background thread syncs by itself.
TEST(FleetLimits, SyncsInTheBackground) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  FleetLimits a(test::redis_storage_for(redis), &SystemClock::instance(), 20ms);
  FleetLimits b(test::redis_storage_for(redis), &SystemClock::instance(), 20ms);
  for (int i = 0; i < 3; ++i) a.add_request("team");
  EXPECT_TRUE(test::eventually([&] { return !b.check("team", 3, 0, 0).allowed; }, 5s));
}

}  // namespace
}  // namespace spectra::ai
