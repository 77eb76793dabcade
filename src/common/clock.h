#pragma once
// The clock as an interface, so time-dependent logic (TTLs, rate windows,
// credential refresh) is tested by moving a fake clock, never by sleeping.
#include <atomic>
#include <chrono>

namespace spectra {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;
  virtual std::chrono::system_clock::time_point system_now() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point steady_now() const override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point system_now() const override { return std::chrono::system_clock::now(); }
  static const SystemClock& instance() {
    static const SystemClock c;
    return c;
  }
};

// A clock tests move by hand.
class FakeClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns_.load()));
  }
  std::chrono::system_clock::time_point system_now() const override {
    return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::nanoseconds(ns_.load() + 1'700'000'000'000'000'000LL)));
  }
  void advance(std::chrono::nanoseconds d) { ns_ += d.count(); }

 private:
  std::atomic<long long> ns_{1'000'000'000'000LL};
};

}  // namespace spectra
