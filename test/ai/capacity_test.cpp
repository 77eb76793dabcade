// The concurrency limit and the `queue` overflow policy's wait queue: FIFO
// hand-off of released slots, the queue bound, the wait bound.
#include "ai/capacity.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <vector>

namespace spectra::ai {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST(Capacity, ReleasedSlotsGoToWaitersInArrivalOrder) {
  asio::io_context io;
  Capacity cap;
  ASSERT_TRUE(cap.try_acquire("local", 1));
  EXPECT_FALSE(cap.try_acquire("local", 1));
  EXPECT_TRUE(cap.try_acquire("other", 1));  // limits are per provider
  EXPECT_TRUE(cap.try_acquire("unlimited", 0));
  std::vector<int> order;
  std::vector<bool> got(3, false);
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(io, [&, i]() -> asio::awaitable<void> {
      got[static_cast<std::size_t>(i)] = co_await cap.acquire("local", 1, 5s, 8);
      order.push_back(i);
      // Hold the slot briefly, then pass it on.
      asio::steady_timer t(co_await asio::this_coro::executor, 1ms);
      co_await t.async_wait(asio::use_awaitable);
      cap.release("local");
    }, asio::detached);
  }
  for (int i = 0; i < 100 && cap.waiting("local") < 3; ++i) io.poll();  // each reaches its wait
  EXPECT_EQ(cap.waiting("local"), 3u);
  // A newcomer may not jump the queue while others wait.
  EXPECT_FALSE(cap.try_acquire("local", 1));
  cap.release("local");
  io.restart();
  io.run_for(2s);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(got, (std::vector<bool>{true, true, true}));
  EXPECT_EQ(cap.in_use("local"), 0);
  EXPECT_EQ(cap.waiting("local"), 0u);
}

TEST(Capacity, TheQueueIsBoundedInLengthAndTime) {
  asio::io_context io;
  Capacity cap;
  ASSERT_TRUE(cap.try_acquire("local", 1));
  int refused = 0, timed_out = 0;
  auto start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration waited{};
  for (int i = 0; i < 4; ++i) {
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      auto t0 = std::chrono::steady_clock::now();
      bool ok = co_await cap.acquire("local", 1, 100ms, /*max_queue=*/2);
      if (!ok && std::chrono::steady_clock::now() - t0 < 50ms) ++refused;
      if (!ok && std::chrono::steady_clock::now() - t0 >= 100ms) {
        ++timed_out;
        waited = std::chrono::steady_clock::now() - start;
      }
    }, asio::detached);
  }
  io.run_for(3s);
  EXPECT_EQ(refused, 2);    // beyond max_queue: refused at once
  EXPECT_EQ(timed_out, 2);  // the two queued ones give up after max_wait
  EXPECT_LT(waited, 2s);
  EXPECT_EQ(cap.waiting("local"), 0u);
  EXPECT_EQ(cap.in_use("local"), 1);  // still held by the first owner
  cap.release("local");
  EXPECT_EQ(cap.in_use("local"), 0);
}

}  // namespace
}  // namespace spectra::ai
