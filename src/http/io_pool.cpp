#include "http/io_pool.h"

#include "common/reaper.h"

namespace spectra::http {

IoPool::IoPool(std::size_t threads) {
  if (threads == 0) threads = 1;
  for (std::size_t i = 0; i < threads; ++i) {
    // Concurrency hint 1: each context is driven by exactly one thread.
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
  }
}

IoPool::~IoPool() {
  stop();
  join();
}

void IoPool::start() {
  if (!threads_.empty()) return;
  for (auto& ctx : contexts_) guards_.emplace_back(ctx->get_executor());
  for (auto& ctx : contexts_) {
    threads_.emplace_back([c = ctx.get()] {
      // Shared state released here is destroyed on the reaper thread.
      mark_nonblocking_thread();
      c->run();
    });
  }
}

void IoPool::stop() { guards_.clear(); }

void IoPool::join() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

boost::asio::io_context& IoPool::next() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

}  // namespace spectra::http
