#include "ai/cache_storage.h"

#include <functional>

namespace spectra::ai {

MemoryCacheStorage::MemoryCacheStorage(std::uint64_t max_bytes, const Clock* clock, std::size_t shards)
    : max_bytes_per_shard_(max_bytes / (shards ? shards : 1)),
      clock_(clock),
      shards_(new Shard[shards ? shards : 1]),
      n_(shards ? shards : 1) {}

MemoryCacheStorage::Shard& MemoryCacheStorage::shard(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % n_];
}

void MemoryCacheStorage::drop(Shard& s, std::list<Entry>::iterator it) {
  s.bytes -= cost(*it);
  s.index.erase(std::string_view(it->key));
  s.lru.erase(it);
}

boost::asio::awaitable<std::optional<std::string>> MemoryCacheStorage::get(const std::string& key) {
  co_return lookup(key);
}

std::optional<std::string> MemoryCacheStorage::lookup(const std::string& key) {
  Shard& s = shard(key);
  std::lock_guard lock(s.mu);
  auto it = s.index.find(key);
  if (it == s.index.end()) {
    ++s.stats.misses;
    return std::nullopt;
  }
  if (clock_->steady_now() >= it->second->expires) {
    drop(s, it->second);
    ++s.stats.expirations;
    ++s.stats.misses;
    return std::nullopt;
  }
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  ++s.stats.hits;
  return it->second->value;
}

void MemoryCacheStorage::put(const std::string& key, std::string value, std::chrono::seconds ttl) {
  Shard& s = shard(key);
  Entry e{key, std::move(value), clock_->steady_now() + ttl};
  const std::uint64_t budget = max_bytes_per_shard_.load(std::memory_order_relaxed);
  if (cost(e) > budget) return;  // would evict everything: not worth caching
  std::lock_guard lock(s.mu);
  if (auto it = s.index.find(key); it != s.index.end()) drop(s, it->second);
  s.bytes += cost(e);
  s.lru.push_front(std::move(e));
  s.index.emplace(std::string_view(s.lru.front().key), s.lru.begin());
  while (s.bytes > budget && !s.lru.empty()) {
    drop(s, std::prev(s.lru.end()));
    ++s.stats.evictions;
  }
}

void MemoryCacheStorage::set_max_bytes(std::uint64_t max_bytes) {
  const std::uint64_t budget = max_bytes / n_;
  max_bytes_per_shard_.store(budget, std::memory_order_relaxed);
  for (std::size_t i = 0; i < n_; ++i) {
    Shard& s = shards_[i];
    std::lock_guard lock(s.mu);
    while (s.bytes > budget && !s.lru.empty()) {
      drop(s, std::prev(s.lru.end()));
      ++s.stats.evictions;
    }
  }
}

void MemoryCacheStorage::erase(const std::string& key) {
  Shard& s = shard(key);
  std::lock_guard lock(s.mu);
  if (auto it = s.index.find(key); it != s.index.end()) drop(s, it->second);
}

CacheStats MemoryCacheStorage::stats() const {
  CacheStats total;
  for (std::size_t i = 0; i < n_; ++i) {
    std::lock_guard lock(shards_[i].mu);
    const auto& st = shards_[i].stats;
    total.entries += shards_[i].lru.size();
    total.bytes += shards_[i].bytes;
    total.hits += st.hits;
    total.misses += st.misses;
    total.evictions += st.evictions;
    total.expirations += st.expirations;
  }
  return total;
}

}  // namespace spectra::ai
