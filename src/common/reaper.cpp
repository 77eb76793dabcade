#include "common/reaper.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace spectra {
namespace {

thread_local bool t_nonblocking = false;

class Reaper {
 public:
  ~Reaper() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // False when the reaper has stopped (the caller runs `destroy` itself).
  bool post(std::function<void()>& destroy) {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    queue_.push_back(std::move(destroy));
    ++posted_;
    cv_.notify_all();
    return true;
  }

  void drain() {
    std::unique_lock lock(mu_);
    const std::uint64_t target = posted_;
    done_cv_.wait(lock, [&] { return done_ >= target || !thread_.joinable(); });
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left
      std::function<void()> next = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      next();
      next = nullptr;
      lock.lock();
      ++done_;
      done_cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  std::uint64_t posted_ = 0, done_ = 0;       // guarded by mu_
  bool stopping_ = false;                     // guarded by mu_
  std::thread thread_;
};

Reaper& reaper() {
  static Reaper r;
  return r;
}

}  // namespace

void mark_nonblocking_thread() { t_nonblocking = true; }

bool on_nonblocking_thread() { return t_nonblocking; }

void reap(std::function<void()> destroy) {
  if (!reaper().post(destroy)) destroy();
}

void drain_reaper() { reaper().drain(); }

}  // namespace spectra
