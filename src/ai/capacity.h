#pragma once
// Per-provider concurrency limits for in-account models, with the bounded
// FIFO wait queue behind the `queue` overflow policy. A released slot goes
// straight to the longest waiter (no polling, no barging), so a queued
// request starts as soon as capacity frees up. With a metrics registry,
// each limited provider's slots in use and waiters are the gauges
// spectra_ai_model_requests_in_flight / _queued{provider}.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "metrics/metrics.h"

namespace spectra::ai {

class Capacity {
 public:
  explicit Capacity(metrics::Registry* metrics = nullptr) : metrics_(metrics) {}

  // Takes a slot if one is free and nobody is queued; limit <= 0 is unlimited.
  bool try_acquire(const std::string& provider, std::int64_t limit);
  // Queues for a slot for at most `max_wait`; false when the wait times out
  // or `max_queue` requests are already waiting.
  boost::asio::awaitable<bool> acquire(const std::string& provider, std::int64_t limit,
                                       std::chrono::milliseconds max_wait, std::size_t max_queue);
  // Returns a slot: to the first waiter if there is one.
  void release(const std::string& provider);

  std::int64_t in_use(const std::string& provider) const;
  std::size_t waiting(const std::string& provider) const;

 private:
  struct Waiter {
    std::shared_ptr<boost::asio::steady_timer> timer;
    bool granted = false;  // guarded by mu_
  };
  struct Slots {
    std::int64_t in_use = 0;
    std::deque<std::shared_ptr<Waiter>> waiters;  // FIFO
    metrics::Gauge* in_flight = nullptr;  // the provider's gauges (null: no registry)
    metrics::Gauge* queued = nullptr;
  };
  // The provider's slots (mu_ held), made with its gauges the first time.
  Slots& slots(const std::string& provider);
  // Shows the slots' state on their gauges (mu_ held).
  static void publish(const Slots& s);

  metrics::Registry* const metrics_;
  mutable std::mutex mu_;
  std::map<std::string, Slots, std::less<>> slots_;  // guarded by mu_
};

}  // namespace spectra::ai
