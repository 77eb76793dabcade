#pragma once
// The Responses API answers the gateway keeps itself: those it made in
// translation with store (see responses_dialect.h), each a record — the
// response, its input items, the conversation it ends — by its id. An LRU
// over a byte budget with a wall-clock expiry; with a journal (the daemon
// keeps one in its state directory) every put and erase is appended as one
// JSON line and replayed at start, so a restart, or a crash, keeps
// conversations going. The journal is compacted (rewritten with the live
// records) on a thread of its own, so that writing tens of megabytes never
// holds up a request. Thread-safe.
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/journal_compactor.h"
#include "common/jsonl_journal.h"
#include "common/result.h"

namespace spectra::ai {

class KeptResponses {
 public:
  explicit KeptResponses(const Clock* clock, std::uint64_t max_bytes = 64 << 20);

  // `record` must be a JSON object's text. `durable`: journaled (a copy
  // kept only while the fleet's store writes is not).
  void put(const std::string& id, std::string record, std::chrono::seconds ttl, bool durable = true);
  std::optional<std::string> get(const std::string& id);
  void erase(const std::string& id);

  // Loads the journal at `path` (expired, malformed and torn lines
  // skipped), rewrites it with the live records, and appends to it from
  // then on. Without it the records live in memory only.
  Status open_journal(const std::string& path);
  // A smaller budget evicts the least recently used at once; 0 keeps none.
  void set_max_bytes(std::uint64_t max_bytes);
  // Returns once no compaction is under way (tests, shutdown).
  void wait_for_compaction();

  std::size_t size() const;
  std::uint64_t bytes() const;

 private:
  struct Entry {
    std::string id;
    std::shared_ptr<const std::string> record;  // shared with a compaction's snapshot
    std::chrono::system_clock::time_point expires;  // wall clock: it outlives the process
    bool durable = true;
  };
  void insert(Entry e);  // mu_ held
  void evict();  // mu_ held: down to the budget
  void drop(const std::string& id);  // mu_ held
  // mu_ held: appends; past kCompactFactor x the live bytes hands a
  // snapshot of the live records to the compactor.
  void journal(const std::string& line);
  // mu_ held: the durable records not yet expired, oldest first.
  std::vector<Entry> snapshot(std::chrono::system_clock::time_point now) const;

  const Clock* clock_;
  std::uint64_t max_bytes_;  // guarded by mu_
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // front = most recent; guarded by mu_
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // guarded by mu_
  std::uint64_t bytes_ = 0;  // records held; guarded by mu_
  JsonlJournal journal_{"kept responses journal"};  // guarded by mu_ (but for the compactor's rewrite)
  JournalCompactor compactor_{journal_, mu_};  // (last: stopped first)
};

}  // namespace spectra::ai
