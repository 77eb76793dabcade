#pragma once
// Who made each Responses API answer the gateway passed through, so that
// the routes naming one by id (GET and DELETE /v1/responses/{id}, its
// input_items, cancel) reach the endpoint that stores it, and only for the
// virtual key that made it: every key shares the provider's credentials, so
// without this any key could read any other key's stored answers.
//
// A bounded LRU in memory (per entry: the id, key, provider and endpoint);
// with the Redis cache backend each record is written there too (with the
// same lifetime), so any gateway of the fleet can route the id. Thread-safe.
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"

namespace spectra::ai {

class CacheStorage;

struct ResponseOwner {
  std::string key;       // virtual key name
  std::string provider;  // provider name
  std::string endpoint;  // the base URL that answered (".../v1")
};

// True for an id the routes accept: 1–128 of [A-Za-z0-9_-] (OpenAI's are
// "resp_" and hex); anything else never reaches an upstream URL.
bool valid_response_id(std::string_view id);

class ResponseOwners {
 public:
  // OpenAI keeps stored responses for 30 days.
  static constexpr std::chrono::seconds kDefaultTtl{30 * 24 * 3600};

  explicit ResponseOwners(const Clock* clock, std::size_t max_entries = 100'000,
                          std::chrono::seconds ttl = kDefaultTtl);

  // `shared`: the Redis-backed storage of the fleet, or null.
  void record(const std::string& id, const ResponseOwner& owner, CacheStorage* shared);
  // This gateway's record, else the fleet's (which is then kept here too).
  boost::asio::awaitable<std::optional<ResponseOwner>> find(const std::string& id, CacheStorage* shared);
  void forget(const std::string& id, CacheStorage* shared);
  std::size_t size() const;

 private:
  struct Entry {
    std::string id;
    ResponseOwner owner;
    std::chrono::steady_clock::time_point expires;
  };
  void keep(const std::string& id, const ResponseOwner& owner);  // locks mu_

  const Clock* clock_;
  const std::size_t max_entries_;
  const std::chrono::seconds ttl_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // front = most recent; guarded by mu_
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // guarded by mu_
};

}  // namespace spectra::ai
