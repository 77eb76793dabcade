#include "common/reaper.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace spectra {
namespace {

using namespace std::chrono_literals;

struct Slow {
  std::atomic<std::thread::id>* died_on;
  std::vector<int>* order;
  int n;
  std::chrono::milliseconds takes;
  ~Slow() {
    std::this_thread::sleep_for(takes);
    order->push_back(n);  // only the reaper thread (or one test thread) writes
    died_on->store(std::this_thread::get_id());
  }
};

// Off an I/O thread (the tests' own), the last owner deletes in place, as
// a plain shared_ptr does: destruction stays synchronous where blocking is
// allowed.
TEST(Reaper, DeletesInPlaceOnAnOrdinaryThread) {
  std::atomic<std::thread::id> died_on;
  std::vector<int> order;
  auto p = reaped(new Slow{&died_on, &order, 1, 0ms});
  p.reset();
  EXPECT_EQ(died_on.load(), std::this_thread::get_id());
  EXPECT_EQ(order, std::vector<int>{1});
}

// The last owner on a non-blocking thread returns at once; the slow
// destructors run elsewhere, in the order the objects were let go.
TEST(Reaper, AnIoThreadHandsSlowDestructorsToTheReaper) {
  std::atomic<std::thread::id> died_on;
  std::vector<int> order;
  std::shared_ptr<Slow> a = reaped(std::unique_ptr<Slow>(new Slow{&died_on, &order, 1, 300ms}));
  std::shared_ptr<Slow> b = reaped(new Slow{&died_on, &order, 2, 0ms});
  std::thread::id io_id;
  std::chrono::steady_clock::duration released{};
  std::thread io([&] {
    mark_nonblocking_thread();
    EXPECT_TRUE(on_nonblocking_thread());
    io_id = std::this_thread::get_id();
    auto t0 = std::chrono::steady_clock::now();
    a.reset();
    b.reset();
    released = std::chrono::steady_clock::now() - t0;
  });
  io.join();
  EXPECT_FALSE(on_nonblocking_thread());
  EXPECT_LT(released, 150ms) << "the I/O thread waited for a destructor";
  drain_reaper();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_NE(died_on.load(), io_id);
  EXPECT_NE(died_on.load(), std::this_thread::get_id());
}

}  // namespace
}  // namespace spectra
