#pragma once
// One io_context per thread (per core). A connection runs on one context at
// a time, so per-connection state needs no locking; the server may move an
// idle keep-alive connection to another context to even out the load (see
// conn_balancer.h).
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <thread>
#include <vector>

namespace spectra::http {

// How busy one I/O thread was over its last complete sampling window: the
// time it ran or was ready to run (waiting for a CPU), in thousandths of
// the window (1000: it always had work). `window` counts
// the windows closed so far; `stalls` those the thread got to kStallAfter
// or more past their end (its timers, and every request on it, waited at
// least that long: a handler blocking the thread, or a thread with more
// work than a core). Written by the thread itself, read by any.
struct ThreadLoad {
  std::atomic<std::uint32_t> permille{0};
  std::atomic<std::uint64_t> window{0};
  std::atomic<std::uint64_t> stalls{0};
};

class IoPool {
 public:
  // Length of a load-sampling window, and how late its end may be seen
  // before it counts as a stall.
  static constexpr std::chrono::milliseconds kLoadWindow{100};
  static constexpr std::chrono::milliseconds kStallAfter{50};

  explicit IoPool(std::size_t threads);
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  void start();
  // Lets the contexts run out of work, then joins. Pending handlers finish.
  void stop();
  void join();

  std::size_t size() const { return contexts_.size(); }
  boost::asio::io_context& at(std::size_t i) { return *contexts_[i]; }
  // Round-robin choice of a context (by index) for a new connection.
  std::size_t next_index();

  // Each thread's load and stalls (index = context index), sampled by the
  // thread itself every kLoadWindow while the pool runs.
  std::span<const ThreadLoad> loads() const { return {loads_.get(), contexts_.size()}; }

 private:
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  struct Sampler;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::unique_ptr<ThreadLoad[]> loads_;
  std::vector<std::unique_ptr<Sampler>> samplers_;
  std::vector<Guard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> next_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace spectra::http
