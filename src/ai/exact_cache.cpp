#include "ai/exact_cache.h"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>

#include "common/crypto.h"
#include "common/json_util.h"

namespace spectra::ai {

namespace {
constexpr std::string_view kAnswerTag = "a1 ";

bool read_count(std::string_view& in, char end, std::int64_t& out) {
  auto stop = in.find(end);
  if (stop == std::string_view::npos || stop == 0 || stop > 19) return false;
  auto r = std::from_chars(in.data(), in.data() + stop, out);
  if (r.ec != std::errc() || r.ptr != in.data() + stop || out < 0) return false;
  in.remove_prefix(stop + 1);
  return true;
}
}  // namespace

std::string encode_cached_answer(const Usage& u, std::string_view json) {
  std::string out;
  out.reserve(json.size() + 48);
  out += kAnswerTag;
  out += std::to_string(u.prompt_tokens);
  out += ' ';
  out += std::to_string(u.completion_tokens);
  out += ' ';
  out += std::to_string(u.cached_prompt_tokens);
  if (u.cache_write_tokens > 0) {
    out += ' ';
    out += std::to_string(u.cache_write_tokens);
  }
  out += '\n';
  out += json;
  return out;
}

std::optional<CachedAnswer> decode_cached_answer(std::string_view in) {
  if (in.substr(0, kAnswerTag.size()) != kAnswerTag) return std::nullopt;
  in.remove_prefix(kAnswerTag.size());
  CachedAnswer a;
  if (!read_count(in, ' ', a.usage.prompt_tokens) || !read_count(in, ' ', a.usage.completion_tokens)) return std::nullopt;
  // The cache reads end the line, or the writes follow them.
  const std::size_t space = in.find(' '), eol = in.find('\n');
  const bool writes = space < eol;
  if (!read_count(in, writes ? ' ' : '\n', a.usage.cached_prompt_tokens) ||
      (writes && !read_count(in, '\n', a.usage.cache_write_tokens)) || in.empty()) {
    return std::nullopt;
  }
  a.usage.reported = true;
  a.json = in;
  return a;
}

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
