#pragma once
// Evens out the load of the I/O threads by moving idle keep-alive
// connections between them.
//
// Connections are dealt to the threads round-robin when accepted, but the
// load follows requests, and clients do not spread requests over their
// connections: the usual HTTP client pools (Node's agent, Go's transport,
// urllib3) reuse the most recently used idle connection first, so at
// moderate load a handful of warm connections carry nearly every request,
// and whichever threads they happened to land on carry the load. Measured
// on the AI gateway at 12k req/s on two threads: 61% of a core against 8%,
// and the busy thread's queue set the tail latency.
//
// So each thread's demand is sampled (IoPool: the time it ran or waited
// for a CPU, so that a thread starved of CPU does not look quiet), each
// connection's share of its thread's requests is counted, and a
// connection waiting for its next request is moved to the least loaded thread when that narrows the gap:
// the thread is busy (>= min_load), the gap is wide (>= min_gap), and the
// connection's estimated load is smaller than the gap (moving a connection
// that carries it all would only move the problem, back and forth). Moves
// made in the last two windows count as done, so a thread does not shed
// the same load twice while the samples catch up.
//
// Threading: count_request() and move_target() for thread t run on thread
// t only (a connection's ConnShare moves with it); what one thread tells
// another (load moved in) is atomic.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "http/io_pool.h"

namespace spectra::http {

// A connection's requests in its thread's current and previous windows.
struct ConnShare {
  std::uint64_t window = 0;
  std::uint32_t count = 0;
  std::uint32_t prev = 0;
};

class ConnBalancer {
 public:
  struct Tuning {
    std::uint32_t min_load_permille = 250;
    std::uint32_t min_gap_permille = 150;
  };
  static constexpr std::size_t kStay = static_cast<std::size_t>(-1);

  explicit ConnBalancer(std::span<const ThreadLoad> loads) : ConnBalancer(loads, Tuning{}) {}
  ConnBalancer(std::span<const ThreadLoad> loads, Tuning tuning);

  bool enabled() const { return loads_.size() > 1; }
  // On thread `t`: connection `c` starts a request.
  void count_request(std::size_t t, ConnShare& c);
  // On thread `t`: connection `c` waits for its next request. The thread to
  // move it to, or kStay. A move is counted as done when returned.
  std::size_t move_target(std::size_t t, ConnShare& c);

 private:
  struct alignas(64) PerThread {
    // Thread t's own.
    std::uint64_t window = 0;
    std::uint32_t count = 0, prev = 0;      // requests in the current / previous window
    std::uint32_t out_cur = 0, out_prev = 0;  // load moved away in them, permille
    // Load moved in by other threads: (window << 16) | permille, by window parity.
    std::atomic<std::uint64_t> incoming[2] = {0, 0};
  };
  void roll(std::size_t t);
  void roll(const PerThread& th, ConnShare& c) const;
  std::uint32_t incoming(std::size_t j) const;
  void add_incoming(std::size_t j, std::uint32_t permille);

  std::span<const ThreadLoad> loads_;
  Tuning tuning_;
  std::unique_ptr<PerThread[]> threads_;
};

}  // namespace spectra::http
