#pragma once
// The semantic index of a fleet, shared through the Redis cache backend.
//
// With the Redis backend every gateway reads the same cached answers, but
// each kept its own nearest-neighbour index of the prompts it had embedded:
// a paraphrase was a semantic hit only on the instance that answered the
// original, and a restarted instance began with an empty index. Now every
// entry an instance indexes is also published in Redis, and every instance
// adds what the others published to its own index:
//
//   spectra:ai:sem:seq   the number of the last entry published (INCR)
//   spectra:ai:sem:<n>   entry n, a record (below), expiring with the
//                        cached answer it points to
//
// One script (EVAL) numbers and stores an entry atomically, so a reader
// that sees number n finds entry n unless it expired. A background thread
// publishes this instance's new entries and reads the entries numbered
// since its last read every `interval`; on start it reads the newest
// `catch_up` entries, which rebuilds the index after a restart. The request
// path does no Redis I/O. A record that does not decode (another version, a
// foreign writer, a corrupt value) is skipped and counted. The record
// format is in ai/semantic_record.h.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ai/cache_storage.h"
#include "ai/redis_cache_storage.h"
#include "ai/semantic_cache.h"
#include "ai/semantic_record.h"

namespace spectra::ai {

class SemanticShare {
 public:
  struct Options {
    std::chrono::milliseconds interval{250};
    std::size_t catch_up = 20'000;    // entries read on start
    std::size_t max_pending = 4'096;  // entries waiting to be published; more are dropped
  };
  // `storage` must be the Redis backend (redis_commands() is not null); it
  // and `index` are kept alive by this object.
  SemanticShare(std::shared_ptr<CacheStorage> storage, std::shared_ptr<SemanticIndex> index, Options options);
  ~SemanticShare();
  SemanticShare(const SemanticShare&) = delete;
  SemanticShare& operator=(const SemanticShare&) = delete;

  // Queues an entry this instance just added to its index. No I/O.
  void publish(const std::string& partition, const std::vector<float>& v, const std::string& key,
               std::chrono::seconds ttl);
  // One publish-and-read now (the thread calls it every interval; tests
  // call it to see the fleet's entries at once). False if Redis did not
  // answer.
  bool sync();

  struct Stats {
    std::uint64_t published = 0, received = 0, rejected = 0, dropped = 0;
  };
  Stats stats() const;
  const std::string& instance() const { return instance_; }

 private:
  struct Pending {
    std::string record;
    std::chrono::seconds ttl;
  };
  bool push();
  bool pull();
  void run();

  std::shared_ptr<CacheStorage> storage_;
  RedisCommands* redis_;
  std::shared_ptr<SemanticIndex> index_;
  const Options options_;
  const std::string instance_;  // random: tells this instance's records from the fleet's
  std::mutex sync_mu_;          // one sync at a time
  std::int64_t last_read_ = -1;  // sync_mu_ held; -1: not caught up yet
  mutable std::mutex mu_;
  std::vector<Pending> pending_;  // guarded by mu_
  Stats stats_;                   // guarded by mu_
  bool stop_ = false;             // guarded by mu_
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace spectra::ai
