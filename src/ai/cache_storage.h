#pragma once
// Byte storage under the AI caches. The semantic layers (exact, semantic)
// sit on this interface; memory is the first backend, Redis (for a fleet)
// implements the same interface and passes the same conformance suite.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/clock.h"

namespace spectra::ai {

struct CacheStats {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t evictions = 0;
  std::uint64_t expirations = 0;
};

class CacheStorage {
 public:
  virtual ~CacheStorage() = default;
  virtual std::optional<std::string> get(const std::string& key) = 0;
  virtual void put(const std::string& key, std::string value, std::chrono::seconds ttl) = 0;
  virtual void erase(const std::string& key) = 0;
  virtual CacheStats stats() const = 0;
  // Changes the byte budget (ai.cache.max_bytes); a smaller one evicts the
  // least recently used entries at once. 0 stores nothing.
  virtual void set_max_bytes(std::uint64_t max_bytes) = 0;
};

// LRU over a byte budget, with per-entry TTL, split into shards so I/O
// threads rarely contend. Memory per entry: the key, the value and about 100
// bytes of bookkeeping.
class MemoryCacheStorage final : public CacheStorage {
 public:
  MemoryCacheStorage(std::uint64_t max_bytes, const Clock* clock, std::size_t shards = 16);
  std::optional<std::string> get(const std::string& key) override;
  void put(const std::string& key, std::string value, std::chrono::seconds ttl) override;
  void erase(const std::string& key) override;
  CacheStats stats() const override;
  void set_max_bytes(std::uint64_t max_bytes) override;

 private:
  struct Entry {
    std::string key;
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };
  struct Shard {
    mutable std::mutex mu;
    std::list<Entry> lru;  // front = most recent; guarded by mu
    std::unordered_map<std::string_view, std::list<Entry>::iterator> index;  // guarded by mu
    std::uint64_t bytes = 0;
    CacheStats stats;
  };
  Shard& shard(const std::string& key);
  static std::uint64_t cost(const Entry& e) { return e.key.size() + e.value.size() + 96; }
  void drop(Shard& s, std::list<Entry>::iterator it);

  std::atomic<std::uint64_t> max_bytes_per_shard_;
  const Clock* clock_;
  std::unique_ptr<Shard[]> shards_;
  std::size_t n_;
};

}  // namespace spectra::ai
