// L4 load balancing with nftables numgen maps and active TCP health checks,
// on the real kernel: even spread, a killed backend leaves the rotation within
// one check interval, and returns when it is back.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>

#include "net/health_loop.h"
#include "netns/netns_fixture.h"

namespace spectra::net::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kIntervalMs = 400;

std::string lb_config() {
  return lab_network(
      R"("load_balancers": [{"name": "app", "listen_address": "198.18.0.10", "listen_port": 80,
      "scheduler": "round_robin",
      "backends": [{"address": "10.213.2.10", "port": 8000}, {"address": "10.213.2.11", "port": 8000},
                   {"address": "10.213.2.12", "port": 8000}],
      "health_check": {"interval_ms": 400, "timeout_ms": 150, "healthy_threshold": 1, "unhealthy_threshold": 1}}])");
}

class NetnsLb : public NetnsTest {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (int i = 0; i < 3; ++i) {
      backends_[i] =
          &server("backend", "10.213.2.1" + std::to_string(i), 8000, "b" + std::to_string(i));
    }
    // Health checks run on an io_context thread that lives in the gateway
    // namespace, as spectrad would run inside the appliance.
    prober_ = std::make_unique<AsioTcpProber>(io_);
    health_ = std::make_unique<HealthChecker>(clock_, *prober_);
    deps_.health = health_.get();
    reconciler_ = std::make_unique<NetworkReconciler>(deps_);
    health_->set_on_change([this] {
      auto detected = Clock::now();
      Status st = reconciler_->reconcile_backends();
      std::lock_guard lock(mu_);
      reapply_ok_ = st.ok();
      detected_at_.push_back(detected);
      applied_at_.push_back(Clock::now());
      cv_.notify_all();
    });
    loop_ = std::make_unique<HealthLoop>(io_, *health_, milliseconds(50));
    io_thread_ = std::thread([this] {
      NetnsScope gw(ns("gw"));
      if (!gw.ok()) return;
      io_.run();
    });
  }

  void TearDown() override {
    if (loop_) loop_->stop();
    if (prober_) prober_->shutdown();
    work_.reset();
    io_.stop();
    if (io_thread_.joinable()) io_thread_.join();
    loop_.reset();
    if (health_) health_->set_on_change({});
    NetnsTest::TearDown();
  }

  // Spreads `n` sequential new connections from the internet side over the VIP.
  std::map<std::string, int> spread(int n, int* failures) {
    std::map<std::string, int> got;
    *failures = 0;
    for (int i = 0; i < n; ++i) {
      auto r = tcp_hello(ns("inet"), "198.18.0.10", 80, {"", milliseconds(500)});
      if (!r.ok()) {
        ++*failures;
        continue;
      }
      ++got[r->substr(0, r->find(' '))];
    }
    return got;
  }

  bool wait_changes(int n, milliseconds limit) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return static_cast<int>(applied_at_.size()) >= n; });
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  SteadyClock clock_;
  std::unique_ptr<AsioTcpProber> prober_;
  std::unique_ptr<HealthChecker> health_;
  std::unique_ptr<HealthLoop> loop_;
  std::thread io_thread_;
  TcpServer* backends_[3] = {};
  std::mutex mu_;
  std::condition_variable cv_;
  bool reapply_ok_ = false;
  std::vector<Clock::time_point> detected_at_;  // health change seen (guarded by mu_)
  std::vector<Clock::time_point> applied_at_;   // new ruleset in force (guarded by mu_)
};

TEST_F(NetnsLb, ThreeBackendsShareEvenlyKilledOneLeavesAndReturns) {
  ASSERT_TRUE(apply(lb_config()).ok());
  loop_->start();

  // 1. 300 new connections over three healthy backends: within ±20% of 100 each.
  int failures = 0;
  auto even = spread(300, &failures);
  EXPECT_EQ(failures, 0);
  for (const char* b : {"b0", "b1", "b2"}) {
    EXPECT_GE(even[b], 80) << b;
    EXPECT_LE(even[b], 120) << b;
    RecordProperty(std::string("even_") + b, even[b]);
  }
  auto n = counters("ip", "spectra_nat");
  EXPECT_EQ(n["lbb_app_10_213_2_10_8000"].packets + n["lbb_app_10_213_2_11_8000"].packets +
                n["lbb_app_10_213_2_12_8000"].packets,
            300u);

  // 2. Kill b1; keep connecting. The health check must notice within one
  // interval, and once the re-rendered ruleset is in force no new connection
  // may go to b1 (a refusal is a connection sent to the dead backend).
  backends_[1]->stop();
  auto killed_at = Clock::now();
  Clock::time_point last_refused = killed_at;
  int refused = 0, kill_phase = 0;
  auto deadline = killed_at + milliseconds(3 * kIntervalMs);
  while (Clock::now() < deadline) {
    auto r = tcp_hello(ns("inet"), "198.18.0.10", 80, {"", milliseconds(300)});
    ++kill_phase;
    if (!r.ok()) {
      ++refused;
      last_refused = Clock::now();
    } else {
      EXPECT_NE(r->substr(0, 2), "b1");
    }
    std::this_thread::sleep_for(milliseconds(5));  // paced load, bounded by the deadline
  }
  ASSERT_TRUE(wait_changes(1, milliseconds(2000)));
  Clock::time_point detected, applied;
  {
    std::lock_guard lock(mu_);
    EXPECT_TRUE(reapply_ok_);
    detected = detected_at_[0];
    applied = applied_at_[0];
  }
  auto ms = [](Clock::duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); };
  EXPECT_LE(ms(detected - killed_at), kIntervalMs + 50) << "health check noticed late";
  EXPECT_LE(last_refused, applied) << "b1 got a new connection " << ms(last_refused - applied)
                                   << " ms after the ruleset without it was in force";
  RecordProperty("detected_after_ms", static_cast<int>(ms(detected - killed_at)));
  RecordProperty("removed_after_ms", static_cast<int>(ms(applied - killed_at)));
  RecordProperty("last_refusal_after_ms", static_cast<int>(ms(last_refused - killed_at)));
  RecordProperty("refused_while_dying", refused);
  auto two = spread(60, &failures);
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(two.count("b1"), 0u);
  EXPECT_EQ(two["b0"], 30);
  EXPECT_EQ(two["b2"], 30);

  // 3. b1 returns: after its next good probe it gets new connections again.
  ASSERT_TRUE(backends_[1]->start().ok());
  auto back_at = Clock::now();
  ASSERT_TRUE(wait_changes(2, milliseconds(3 * kIntervalMs)));
  {
    std::lock_guard lock(mu_);
    EXPECT_LE(ms(detected_at_[1] - back_at), kIntervalMs + 50);
    RecordProperty("returned_after_ms", static_cast<int>(ms(applied_at_[1] - back_at)));
  }
  auto again = spread(90, &failures);
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(again["b1"], 30);

  ASSERT_TRUE(refresh().ok());
  auto st = reconciler_->status()[0].as_object();
  auto bs = st.at("load_balancers").as_array()[0].at("backends").as_array();
  EXPECT_TRUE(bs[1].at("healthy").as_bool());
  EXPECT_EQ(bs[0].at("connections").as_uint64() + bs[1].at("connections").as_uint64() +
                bs[2].at("connections").as_uint64(),
            300u + 60u + 90u + static_cast<std::uint64_t>(kill_phase));
  std::string m = metrics_.render();
  EXPECT_NE(m.find("spectra_net_lb_backend_healthy{lb=\"app\",backend=\"10.213.2.11:8000\"} 1"),
            std::string::npos);
}

}  // namespace
}  // namespace spectra::net::testing
