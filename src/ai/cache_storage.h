#pragma once
// Byte storage under the AI caches. The semantic layers (exact, semantic)
// sit on this interface; memory is the first backend, Redis (for a fleet)
// implements the same interface and passes the same conformance suite.
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"

namespace spectra::ai {

struct CacheStats {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t evictions = 0;
  std::uint64_t expirations = 0;
  std::uint64_t errors = 0;  // a remote backend that failed or timed out (read as misses)
};

// Contract, for every backend:
// - The cache never fails a request: a miss, an expired entry and a backend
//   that is unreachable or too slow all read as nullopt.
// - get() is a coroutine (a remote backend answers over the network); it
//   may be awaited from any I/O thread and completes on the caller's
//   executor. `key` must stay alive until it completes.
// - put() and erase() never wait on the network: a remote backend stores in
//   the background (the answer has been sent already; a lost store is a
//   later miss). All methods are thread-safe.
class CacheStorage {
 public:
  virtual ~CacheStorage() = default;
  virtual boost::asio::awaitable<std::optional<std::string>> get(const std::string& key) = 0;
  virtual void put(const std::string& key, std::string value, std::chrono::seconds ttl) = 0;
  virtual void erase(const std::string& key) = 0;
  virtual CacheStats stats() const = 0;
  // Changes the byte budget (ai.cache.max_bytes); a smaller one evicts the
  // least recently used entries at once. 0 stores nothing. Backends that
  // have their own memory policy (Redis: maxmemory) ignore it.
  virtual void set_max_bytes(std::uint64_t max_bytes) = 0;
  // "memory", "redis": for metrics and logs.
  virtual const char* backend() const = 0;
};

// LRU over a byte budget, with per-entry TTL, split into shards so I/O
// threads rarely contend. Memory per entry: the key, the value and about 100
// bytes of bookkeeping (what the budget counts for each).
//
// Each entry is one allocation (its bookkeeping, then the key's and the
// value's bytes) on an intrusive LRU list; the index is open addressing with
// the key's hash in each slot, so a miss reads one slot's cache line and
// never an entry, and growing it moves 16-byte slots, not list nodes. The
// key is hashed once per call (the shard and the slot come from the same
// hash).
class MemoryCacheStorage final : public CacheStorage {
 public:
  MemoryCacheStorage(std::uint64_t max_bytes, const Clock* clock, std::size_t shards = 16);
  ~MemoryCacheStorage() override;
  MemoryCacheStorage(const MemoryCacheStorage&) = delete;
  MemoryCacheStorage& operator=(const MemoryCacheStorage&) = delete;
  boost::asio::awaitable<std::optional<std::string>> get(const std::string& key) override;
  // The synchronous lookup under get().
  std::optional<std::string> lookup(const std::string& key);
  void put(const std::string& key, std::string value, std::chrono::seconds ttl) override;
  void erase(const std::string& key) override;
  CacheStats stats() const override;
  void set_max_bytes(std::uint64_t max_bytes) override;
  const char* backend() const override { return "memory"; }

 private:
  struct Entry {
    Entry* newer;
    Entry* older;
    std::chrono::steady_clock::time_point expires;
    std::uint64_t hash;
    std::size_t key_size;
    std::size_t value_size;
    const char* bytes() const { return reinterpret_cast<const char*>(this + 1); }
    std::string_view key() const { return {bytes(), key_size}; }
    std::string_view value() const { return {bytes() + key_size, value_size}; }
  };
  struct Slot {
    std::uint64_t hash = 0;
    Entry* entry = nullptr;  // null: empty
  };
  struct Shard {
    mutable std::mutex mu;
    std::vector<Slot> slots;  // a power of two in size; guarded by mu
    std::size_t size = 0;
    Entry* newest = nullptr;  // the LRU list's ends; guarded by mu
    Entry* oldest = nullptr;
    std::uint64_t bytes = 0;
    CacheStats stats;
  };
  static std::uint64_t cost(std::size_t key_size, std::size_t value_size) { return key_size + value_size + 96; }
  static std::uint64_t hash_of(std::string_view key);
  Shard& shard(std::uint64_t hash) { return shards_[hash % n_]; }
  // Under the shard's lock: the slot holding `key` (or `e`), or npos.
  static std::size_t find(const Shard& s, std::uint64_t hash, std::string_view key);
  static std::size_t find(const Shard& s, const Entry* e);
  static void place(std::vector<Slot>& slots, Slot slot);  // into the first free slot from its home
  static void unlink(Shard& s, Entry* e);       // out of the LRU list
  static void push_newest(Shard& s, Entry* e);  // to its most recent end
  static void insert(Shard& s, Entry* e);       // indexed by e->hash, newest
  static void drop(Shard& s, std::size_t slot);  // unlinks, unindexes and frees its entry
  static void evict_to(Shard& s, std::uint64_t budget);

  std::atomic<std::uint64_t> max_bytes_per_shard_;
  const Clock* clock_;
  std::unique_ptr<Shard[]> shards_;
  std::size_t n_;
};

}  // namespace spectra::ai
