#pragma once
// Who made each Responses API answer the gateway passed through, so that
// the routes naming one by id (GET and DELETE /v1/responses/{id}, its
// input_items, cancel) reach the endpoint that stores it, and only for the
// virtual key that made it: every key shares the provider's credentials, so
// without this any key could read any other key's stored answers.
//
// A bounded LRU in memory (per entry: the id, key, provider and endpoint);
// with the Redis cache backend each record is written there too (with the
// same lifetime), so any gateway of the fleet can route the id. With a
// journal (the daemon keeps one in its state directory) every record and
// forget is appended to a file as one JSON line, replayed at start: a
// restart keeps the conversations going. Thread-safe.
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/journal_compactor.h"
#include "common/jsonl_journal.h"
#include "common/result.h"

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

  // Loads the journal at `path` (expired, malformed and torn lines are
  // skipped), rewrites it with only the live records, and appends to it
  // from then on. Without it the records live in memory only.
  Status open_journal(const std::string& path);
  // Returns once no compaction is under way (tests).
  void wait_for_compaction() { compactor_.wait_idle(); }

 private:
  struct Entry {
    std::string id;
    ResponseOwner owner;
    std::chrono::system_clock::time_point expires;  // wall clock: it outlives the process
  };
  void keep(const std::string& id, const ResponseOwner& owner, std::chrono::system_clock::time_point expires);  // locks mu_
  void insert(const std::string& id, const ResponseOwner& owner, std::chrono::system_clock::time_point expires);  // mu_ held
  void drop(const std::string& id);  // mu_ held
  // Appends one line (mu_ held); past kCompactFactor x max_entries lines
  // the journal is rewritten with the live records, on the compactor's
  // thread.
  void journal(const std::string& line);
  // mu_ held: the live records, oldest first.
  std::vector<std::shared_ptr<const Entry>> snapshot(std::chrono::system_clock::time_point now) const;

  const Clock* clock_;
  const std::size_t max_entries_;
  const std::chrono::seconds ttl_;
  mutable std::mutex mu_;
  // Entries are immutable and shared with a compaction's snapshot, so
  // taking one copies pointers, not 100,000 records, under the lock.
  using Lru = std::list<std::shared_ptr<const Entry>>;
  Lru lru_;  // front = most recent; guarded by mu_
  std::unordered_map<std::string_view, Lru::iterator> index_;  // guarded by mu_
  JsonlJournal journal_{"response owners journal"};  // guarded by mu_ (but for the compactor's rewrite)
  JournalCompactor compactor_{journal_, mu_};  // (last: stopped first)
};

}  // namespace spectra::ai
