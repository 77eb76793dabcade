#include "ai/capacity.h"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace spectra::ai {

namespace asio = boost::asio;

Capacity::Slots& Capacity::slots(const std::string& provider) {
  auto it = slots_.find(provider);
  if (it != slots_.end()) return it->second;
  Slots& s = slots_[provider];
  if (metrics_) {
    // (Once per limited provider: the registry's lock is taken here only.)
    s.in_flight = &metrics_->gauge("spectra_ai_model_requests_in_flight",
                                   "Requests holding a slot of a model's max_concurrency, by provider", {{"provider", provider}});
    s.queued = &metrics_->gauge("spectra_ai_model_requests_queued",
                                "Requests waiting for a slot of a model's max_concurrency (overflow policy queue), by provider",
                                {{"provider", provider}});
  }
  return s;
}

void Capacity::publish(const Slots& s) {
  if (!s.in_flight) return;
  s.in_flight->set(static_cast<double>(s.in_use));
  s.queued->set(static_cast<double>(s.waiters.size()));
}

bool Capacity::try_acquire(const std::string& provider, std::int64_t limit) {
  if (limit <= 0) return true;
  std::lock_guard lock(mu_);
  Slots& s = slots(provider);
  if (s.in_use >= limit || !s.waiters.empty()) return false;
  ++s.in_use;
  publish(s);
  return true;
}

asio::awaitable<bool> Capacity::acquire(const std::string& provider, std::int64_t limit,
                                        std::chrono::milliseconds max_wait, std::size_t max_queue) {
  if (limit <= 0) co_return true;
  auto executor = co_await asio::this_coro::executor;  // (does not suspend)
  auto w = std::make_shared<Waiter>();
  {
    std::lock_guard lock(mu_);
    Slots& s = slots(provider);
    if (s.in_use < limit && s.waiters.empty()) {
      ++s.in_use;
      publish(s);
      co_return true;
    }
    if (s.waiters.size() >= max_queue || max_wait.count() <= 0) co_return false;
    w->timer = std::make_shared<asio::steady_timer>(executor, max_wait);
    s.waiters.push_back(w);
    publish(s);
  }
  boost::system::error_code ec;
  co_await w->timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  std::lock_guard lock(mu_);
  if (w->granted) co_return true;
  // Timed out: leave the queue (a release may not have reached us yet).
  Slots& s = slots(provider);
  s.waiters.erase(std::remove(s.waiters.begin(), s.waiters.end(), w), s.waiters.end());
  publish(s);
  co_return false;
}

void Capacity::release(const std::string& provider) {
  std::shared_ptr<Waiter> next;
  {
    std::lock_guard lock(mu_);
    auto it = slots_.find(provider);
    if (it == slots_.end()) return;
    Slots& s = it->second;
    if (!s.waiters.empty()) {
      // The slot passes to the first waiter; in_use stays the same.
      next = std::move(s.waiters.front());
      s.waiters.pop_front();
      next->granted = true;
    } else if (s.in_use > 0) {
      --s.in_use;
    }
    publish(s);
  }
  if (next) {
    auto timer = next->timer;
    asio::post(timer->get_executor(), [timer] { timer->cancel(); });
  }
}

std::int64_t Capacity::in_use(const std::string& provider) const {
  std::lock_guard lock(mu_);
  auto it = slots_.find(provider);
  return it == slots_.end() ? 0 : it->second.in_use;
}

std::size_t Capacity::waiting(const std::string& provider) const {
  std::lock_guard lock(mu_);
  auto it = slots_.find(provider);
  return it == slots_.end() ? 0 : it->second.waiters.size();
}

}  // namespace spectra::ai
