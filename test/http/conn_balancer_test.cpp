// ConnBalancer's decisions from given thread loads and request counts: which
// idle connection moves where, and which must stay.
#include "http/conn_balancer.h"

#include <gtest/gtest.h>

#include <memory>

namespace spectra::http {
namespace {

class ConnBalancerTest : public ::testing::Test {
 protected:
  explicit ConnBalancerTest(std::size_t threads = 2) : n_(threads), loads_(std::make_unique<ThreadLoad[]>(threads)) {}

  std::span<const ThreadLoad> loads() const { return {loads_.get(), n_}; }
  // Closes a window on every thread; thread i used `permille[i]` of a core in it.
  void close_window(std::initializer_list<std::uint32_t> permille) {
    std::size_t i = 0;
    for (std::uint32_t p : permille) {
      loads_[i].permille.store(p);
      loads_[i].window.fetch_add(1);
      ++i;
    }
  }
  // `n` requests on connection `c` of thread `t`, in the open window.
  static void requests(ConnBalancer& b, std::size_t t, ConnShare& c, int n) {
    for (int i = 0; i < n; ++i) b.count_request(t, c);
  }

  std::size_t n_;
  std::unique_ptr<ThreadLoad[]> loads_;
};

TEST_F(ConnBalancerTest, OneOfTwoEqualConnectionsMovesToTheIdleThreadThenTheOtherStays) {
  ConnBalancer b(loads());
  ConnShare a, c;
  close_window({0, 0});
  requests(b, 0, a, 50);
  requests(b, 0, c, 50);
  close_window({800, 50});  // thread 0 at 80% of a core, thread 1 idle
  EXPECT_EQ(b.move_target(0, a), 1u);
  // Half the load is on its way: the gap left (400 - 450) is no reason to move.
  EXPECT_EQ(b.move_target(0, c), ConnBalancer::kStay);
}

TEST_F(ConnBalancerTest, AConnectionCarryingTheWholeLoadStays) {
  ConnBalancer b(loads());
  ConnShare only;
  close_window({0, 0});
  requests(b, 0, only, 100);
  close_window({900, 0});
  // Moving it would leave the same gap the other way round, and back again.
  EXPECT_EQ(b.move_target(0, only), ConnBalancer::kStay);
}

TEST_F(ConnBalancerTest, QuietThreadsNarrowGapsAndUnknownSharesStay) {
  ConnBalancer b(loads());
  ConnShare a, c, silent;
  close_window({0, 0});
  requests(b, 0, a, 10);
  requests(b, 0, c, 10);
  close_window({200, 0});  // below the load worth balancing
  EXPECT_EQ(b.move_target(0, a), ConnBalancer::kStay);

  requests(b, 0, a, 10);
  requests(b, 0, c, 10);
  close_window({600, 500});  // a gap of 100: within the noise of a window
  EXPECT_EQ(b.move_target(0, a), ConnBalancer::kStay);

  // A connection with no request in the last window carries nothing known.
  requests(b, 0, a, 10);
  requests(b, 0, c, 10);
  close_window({900, 0});
  EXPECT_EQ(b.move_target(0, silent), ConnBalancer::kStay);
  EXPECT_EQ(b.move_target(0, a), 1u);
}

TEST_F(ConnBalancerTest, MovesCountForTwoWindowsThenTheSamplesSpeak) {
  ConnBalancer b(loads());
  ConnShare conns[4];
  close_window({0, 0});
  for (auto& c : conns) requests(b, 0, c, 25);
  close_window({1000, 0});
  EXPECT_EQ(b.move_target(0, conns[0]), 1u);  // 250 of 1000 moves: the gap becomes 500
  EXPECT_EQ(b.move_target(0, conns[1]), 1u);  // and then 0
  EXPECT_EQ(b.move_target(0, conns[2]), ConnBalancer::kStay);

  // The next window's sample still shows most of the old load (the moves
  // came mid-window): the moves made still count, nothing more moves.
  requests(b, 0, conns[2], 25);
  requests(b, 0, conns[3], 25);
  close_window({800, 200});
  EXPECT_EQ(b.move_target(0, conns[2]), ConnBalancer::kStay);

  // Two windows on, the samples alone decide: the load is back (900
  // against 300), and one of the two connections (450 each) narrows it.
  requests(b, 0, conns[2], 25);
  requests(b, 0, conns[3], 25);
  close_window({900, 300});
  requests(b, 0, conns[2], 25);
  requests(b, 0, conns[3], 25);
  close_window({900, 300});
  EXPECT_EQ(b.move_target(0, conns[2]), 1u);
}

class ThreeThreads : public ConnBalancerTest {
 protected:
  ThreeThreads() : ConnBalancerTest(3) {}
};

TEST_F(ThreeThreads, GoesToTheLeastLoadedCountingWhatOthersSentThere) {
  ConnBalancer b(loads());
  ConnShare on0[2], on1[2];
  close_window({0, 0, 0});
  for (auto& c : on0) requests(b, 0, c, 10);
  for (auto& c : on1) requests(b, 1, c, 10);
  close_window({900, 800, 100});
  EXPECT_EQ(b.move_target(0, on0[0]), 2u);  // 450 of thread 0's 900 goes to thread 2
  // From thread 1 (800), thread 2 (100 + 450 on its way) is no longer the
  // place for 400: the gap of 250 would open up the other way.
  EXPECT_EQ(b.move_target(1, on1[0]), ConnBalancer::kStay);
}

TEST(ConnBalancerOneThread, IsOff) {
  ThreadLoad one[1];
  ConnBalancer b({one, 1});
  EXPECT_FALSE(b.enabled());
  ConnShare c;
  EXPECT_EQ(b.move_target(0, c), ConnBalancer::kStay);
}

}  // namespace
}  // namespace spectra::http
