#pragma once
// The exact-match response cache: key derivation and the coalescing of
// identical in-flight misses into one upstream call.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ai/adapter.h"
#include "ai/cached_answer.h"
#include "ai/chat_request.h"

namespace spectra::ai {

namespace bj = boost::json;

// Identical concurrent misses: the first caller (leader) goes upstream, the
// others wait for its result. Thread-safe; waiters may live on any executor.
class Coalescer {
 public:
  struct Flight {
    std::mutex mu;
    bool done = false;                  // guarded by mu
    std::optional<std::string> result;  // guarded by mu; nullopt: leader failed
    std::vector<std::shared_ptr<boost::asio::steady_timer>> waiters;  // guarded by mu
  };

  // Returns the flight for `key` and whether the caller leads it.
  std::pair<std::shared_ptr<Flight>, bool> join(const std::string& key);
  // The leader publishes its result (nullopt on failure) and wakes waiters.
  void complete(const std::string& key, const std::shared_ptr<Flight>& flight,
                std::optional<std::string> result);
  // A follower waits for the leader (references stay valid: see upstream_client.h).
  static boost::asio::awaitable<std::optional<std::string>> wait(Flight& flight);

  std::size_t in_flight() const;

  // A leader's flight, completed when end() is called or the Lead goes out
  // of scope: with the result set by then, else as failed (its followers
  // then try on their own). So no path of the leader leaves them waiting.
  class Lead {
   public:
    Lead() = default;
    Lead(Coalescer* owner, std::string key, std::shared_ptr<Flight> flight)
        : owner_(owner), key_(std::move(key)), flight_(std::move(flight)) {}
    Lead(Lead&& o) noexcept { *this = std::move(o); }
    Lead& operator=(Lead&& o) noexcept {
      end();
      owner_ = o.owner_;
      key_ = std::move(o.key_);
      flight_ = std::move(o.flight_);
      result_ = std::move(o.result_);
      o.flight_.reset();
      return *this;
    }
    ~Lead() { end(); }
    explicit operator bool() const { return flight_ != nullptr; }
    void set_result(std::string result) { result_ = std::move(result); }
    void end() {
      if (!flight_) return;
      owner_->complete(key_, flight_, std::move(result_));
      flight_.reset();
    }

   private:
    Coalescer* owner_ = nullptr;
    std::string key_;
    std::shared_ptr<Flight> flight_;
    std::optional<std::string> result_;
  };

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;  // guarded by mu_
};

}  // namespace spectra::ai
