#include "ai/exact_cache.h"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/crypto.h"
#include "common/json_util.h"

namespace spectra::ai {

std::pair<std::shared_ptr<Coalescer::Flight>, bool> Coalescer::join(const std::string& key) {
  std::lock_guard lock(mu_);
  auto [it, fresh] = flights_.try_emplace(key);
  if (fresh) it->second = std::make_shared<Flight>();
  return {it->second, fresh};
}

void Coalescer::complete(const std::string& key, const std::shared_ptr<Flight>& flight,
                         std::optional<std::string> result) {
  {
    std::lock_guard lock(mu_);
    auto it = flights_.find(key);
    if (it != flights_.end() && it->second == flight) flights_.erase(it);
  }
  std::vector<std::shared_ptr<boost::asio::steady_timer>> waiters;
  {
    std::lock_guard lock(flight->mu);
    flight->done = true;
    flight->result = std::move(result);
    waiters.swap(flight->waiters);
  }
  for (auto& t : waiters) {
    boost::asio::post(t->get_executor(), [t] { t->cancel(); });
  }
}

boost::asio::awaitable<std::optional<std::string>> Coalescer::wait(Flight& flight) {
  auto timer = std::make_shared<boost::asio::steady_timer>(co_await boost::asio::this_coro::executor,
                                                           boost::asio::steady_timer::time_point::max());
  {
    std::lock_guard lock(flight.mu);
    if (flight.done) co_return flight.result;
    flight.waiters.push_back(timer);
  }
  boost::system::error_code ec;
  co_await timer->async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  std::lock_guard lock(flight.mu);
  co_return flight.result;
}

std::size_t Coalescer::in_flight() const {
  std::lock_guard lock(mu_);
  return flights_.size();
}

}  // namespace spectra::ai
