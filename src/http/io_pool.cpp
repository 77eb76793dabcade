#include "http/io_pool.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cstdio>

#include "common/reaper.h"

namespace spectra::http {

namespace {

std::int64_t thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The calling thread's time on a CPU and time runnable but waiting for
// one, in ns, from /proc/thread-self/schedstat (kept open: one pread a
// window). Without it (no procfs, a kernel without schedstat) only the
// CPU time is known and the wait reads as 0.
class SchedClock {
 public:
  SchedClock() : fd_(::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC)) {}
  ~SchedClock() {
    if (fd_ >= 0) ::close(fd_);
  }
  SchedClock(const SchedClock&) = delete;
  SchedClock& operator=(const SchedClock&) = delete;

  void read(std::int64_t* on_cpu, std::int64_t* waiting) {
    char buf[96];
    const ssize_t n = fd_ >= 0 ? ::pread(fd_, buf, sizeof buf - 1, 0) : -1;
    long long cpu = 0, wait = 0;
    if (n > 0) {
      buf[n] = '\0';
      if (std::sscanf(buf, "%lld %lld", &cpu, &wait) == 2) {
        *on_cpu = cpu;
        *waiting = wait;
        return;
      }
    }
    *on_cpu = thread_cpu_ns();
    *waiting = 0;
  }

 private:
  int fd_;
};

}  // namespace

// Closes a window every kLoadWindow on its own thread: the time the thread
// ran or was ready to run since the last one (its demand: on a CPU, or
// runnable and waiting for one), over the wall time between them. The CPU
// time alone would read a thread starved of CPU by other processes as a
// quiet one; its demand does not. A timer on the context is the thread's
// own clock: it runs between handlers, so a window's figure includes
// everything the thread did in it.
struct IoPool::Sampler {
  Sampler(boost::asio::io_context& ctx, ThreadLoad& out, const std::atomic<bool>& stopping)
      : timer(ctx), load(out), stop(stopping) {}

  void arm() {
    timer.expires_after(kLoadWindow);
    timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stop.load(std::memory_order_relaxed)) return;
      close_window();
      arm();
    });
  }
  void close_window() {
    if (!clock) clock = std::make_unique<SchedClock>();  // opened on the thread it reads
    const auto now = std::chrono::steady_clock::now();
    std::int64_t on_cpu = 0, waiting = 0;
    clock->read(&on_cpu, &waiting);
    const std::int64_t busy = on_cpu + waiting;
    if (started) {
      const auto wall = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_wall).count();
      if (std::chrono::nanoseconds(wall) >= kLoadWindow + kStallAfter) {
        load.stalls.fetch_add(1, std::memory_order_relaxed);
      }
      if (wall > 0) {
        const std::int64_t pm = (busy - last_busy) * 1000 / wall;
        load.permille.store(static_cast<std::uint32_t>(std::clamp<std::int64_t>(pm, 0, 1000)),
                            std::memory_order_relaxed);
      }
      load.window.fetch_add(1, std::memory_order_release);
    }
    started = true;
    last_wall = now;
    last_busy = busy;
  }

  boost::asio::steady_timer timer;
  ThreadLoad& load;
  const std::atomic<bool>& stop;
  bool started = false;
  std::unique_ptr<SchedClock> clock;
  std::chrono::steady_clock::time_point last_wall;
  std::int64_t last_busy = 0;
};

IoPool::IoPool(std::size_t threads) {
  if (threads == 0) threads = 1;
  loads_ = std::make_unique<ThreadLoad[]>(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    // Concurrency hint 1: each context is driven by exactly one thread.
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    samplers_.push_back(std::make_unique<Sampler>(*contexts_.back(), loads_[i], stopping_));
  }
}

IoPool::~IoPool() {
  stop();
  join();
}

void IoPool::start() {
  if (!threads_.empty()) return;
  stopping_.store(false);
  for (auto& ctx : contexts_) guards_.emplace_back(ctx->get_executor());
  for (std::size_t i = 0; i < contexts_.size(); ++i) {
    boost::asio::post(*contexts_[i], [s = samplers_[i].get()] {
      s->close_window();
      s->arm();
    });
  }
  for (auto& ctx : contexts_) {
    threads_.emplace_back([c = ctx.get()] {
      // Shared state released here is destroyed on the reaper thread.
      mark_nonblocking_thread();
      c->run();
    });
  }
}

void IoPool::stop() {
  // The samplers' timers would keep the contexts busy forever: a sampler
  // that fires from now on does not re-arm, and one waiting is cancelled.
  if (!stopping_.exchange(true) && !threads_.empty()) {
    for (std::size_t i = 0; i < contexts_.size(); ++i) {
      boost::asio::post(*contexts_[i], [s = samplers_[i].get()] { s->timer.cancel(); });
    }
  }
  guards_.clear();
}

void IoPool::join() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

std::size_t IoPool::next_index() { return next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size(); }

}  // namespace spectra::http
