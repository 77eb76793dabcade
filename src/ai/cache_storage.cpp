#include "ai/cache_storage.h"

#include <bit>
#include <cstring>
#include <functional>
#include <new>

namespace spectra::ai {

namespace {

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

// The slot an entry of `hash` would sit in if nothing were in its way
// (Fibonacci hashing: the shard used the hash's low bits).
std::size_t home(std::uint64_t hash, std::size_t slots) {
  return static_cast<std::size_t>((hash * 0x9E3779B97F4A7C15ULL) >> (64 - std::countr_zero(slots)));
}

}  // namespace

MemoryCacheStorage::MemoryCacheStorage(std::uint64_t max_bytes, const Clock* clock, std::size_t shards)
    : max_bytes_per_shard_(max_bytes / (shards ? shards : 1)),
      clock_(clock),
      shards_(new Shard[shards ? shards : 1]),
      n_(shards ? shards : 1) {
  for (std::size_t i = 0; i < n_; ++i) shards_[i].slots.resize(16);
}

MemoryCacheStorage::~MemoryCacheStorage() {
  for (std::size_t i = 0; i < n_; ++i) {
    for (Entry* e = shards_[i].newest; e;) {
      Entry* next = e->older;
      ::operator delete(e);
      e = next;
    }
  }
}

std::uint64_t MemoryCacheStorage::hash_of(std::string_view key) { return std::hash<std::string_view>{}(key); }

std::size_t MemoryCacheStorage::find(const Shard& s, std::uint64_t hash, std::string_view key) {
  const std::size_t mask = s.slots.size() - 1;
  for (std::size_t i = home(hash, s.slots.size());; i = (i + 1) & mask) {
    const Slot& slot = s.slots[i];
    if (!slot.entry) return kNone;
    if (slot.hash == hash && slot.entry->key() == key) return i;
  }
}

std::size_t MemoryCacheStorage::find(const Shard& s, const Entry* e) {
  const std::size_t mask = s.slots.size() - 1;
  for (std::size_t i = home(e->hash, s.slots.size());; i = (i + 1) & mask) {
    if (s.slots[i].entry == e) return i;
    if (!s.slots[i].entry) return kNone;
  }
}

void MemoryCacheStorage::place(std::vector<Slot>& slots, Slot slot) {
  const std::size_t mask = slots.size() - 1;
  std::size_t i = home(slot.hash, slots.size());
  while (slots[i].entry) i = (i + 1) & mask;
  slots[i] = slot;
}

void MemoryCacheStorage::unlink(Shard& s, Entry* e) {
  (e->newer ? e->newer->older : s.newest) = e->older;
  (e->older ? e->older->newer : s.oldest) = e->newer;
}

void MemoryCacheStorage::push_newest(Shard& s, Entry* e) {
  e->newer = nullptr;
  e->older = s.newest;
  if (s.newest) s.newest->newer = e;
  s.newest = e;
  if (!s.oldest) s.oldest = e;
}

void MemoryCacheStorage::insert(Shard& s, Entry* e) {
  if ((s.size + 1) * 4 > s.slots.size() * 3) {  // above 3/4 full: twice the slots
    std::vector<Slot> old(s.slots.size() * 2);
    old.swap(s.slots);
    for (const Slot& slot : old) {
      if (slot.entry) place(s.slots, slot);
    }
  }
  place(s.slots, {e->hash, e});
  ++s.size;
  push_newest(s, e);
  s.bytes += cost(e->key_size, e->value_size);
}

void MemoryCacheStorage::drop(Shard& s, std::size_t at) {
  Entry* e = s.slots[at].entry;
  // Back-shift deletion: each later slot of the run moves into the hole
  // unless its home lies cyclically after the hole, up to itself.
  const std::size_t mask = s.slots.size() - 1;
  std::size_t hole = at;
  for (std::size_t j = (at + 1) & mask; s.slots[j].entry; j = (j + 1) & mask) {
    const std::size_t k = home(s.slots[j].hash, s.slots.size());
    const bool stays = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j);
    if (stays) continue;
    s.slots[hole] = s.slots[j];
    hole = j;
  }
  s.slots[hole] = {};
  --s.size;
  unlink(s, e);
  s.bytes -= cost(e->key_size, e->value_size);
  ::operator delete(e);
}

void MemoryCacheStorage::evict_to(Shard& s, std::uint64_t budget) {
  while (s.bytes > budget && s.oldest) {
    drop(s, find(s, s.oldest));
    ++s.stats.evictions;
  }
}

boost::asio::awaitable<std::optional<std::string>> MemoryCacheStorage::get(const std::string& key) {
  co_return lookup(key);
}

std::optional<std::string> MemoryCacheStorage::lookup(const std::string& key) {
  const std::uint64_t hash = hash_of(key);
  Shard& s = shard(hash);
  std::lock_guard lock(s.mu);
  const std::size_t at = find(s, hash, key);
  if (at == kNone) {
    ++s.stats.misses;
    return std::nullopt;
  }
  Entry* e = s.slots[at].entry;
  if (clock_->steady_now() >= e->expires) {
    drop(s, at);
    ++s.stats.expirations;
    ++s.stats.misses;
    return std::nullopt;
  }
  if (e != s.newest) {  // to the front of the LRU list
    unlink(s, e);
    push_newest(s, e);
  }
  ++s.stats.hits;
  return std::string(e->value());
}

void MemoryCacheStorage::put(const std::string& key, std::string value, std::chrono::seconds ttl) {
  const std::uint64_t budget = max_bytes_per_shard_.load(std::memory_order_relaxed);
  if (cost(key.size(), value.size()) > budget) return;  // would evict everything: not worth caching
  const std::uint64_t hash = hash_of(key);
  auto* e = static_cast<Entry*>(::operator new(sizeof(Entry) + key.size() + value.size()));
  new (e) Entry{nullptr, nullptr, clock_->steady_now() + ttl, hash, key.size(), value.size()};
  std::memcpy(reinterpret_cast<char*>(e + 1), key.data(), key.size());
  std::memcpy(reinterpret_cast<char*>(e + 1) + key.size(), value.data(), value.size());
  Shard& s = shard(hash);
  std::lock_guard lock(s.mu);
  if (const std::size_t at = find(s, hash, key); at != kNone) drop(s, at);
  insert(s, e);
  evict_to(s, budget);
}

void MemoryCacheStorage::set_max_bytes(std::uint64_t max_bytes) {
  const std::uint64_t budget = max_bytes / n_;
  max_bytes_per_shard_.store(budget, std::memory_order_relaxed);
  for (std::size_t i = 0; i < n_; ++i) {
    Shard& s = shards_[i];
    std::lock_guard lock(s.mu);
    evict_to(s, budget);
  }
}

void MemoryCacheStorage::erase(const std::string& key) {
  const std::uint64_t hash = hash_of(key);
  Shard& s = shard(hash);
  std::lock_guard lock(s.mu);
  if (const std::size_t at = find(s, hash, key); at != kNone) drop(s, at);
}

CacheStats MemoryCacheStorage::stats() const {
  CacheStats total;
  for (std::size_t i = 0; i < n_; ++i) {
    std::lock_guard lock(shards_[i].mu);
    const auto& st = shards_[i].stats;
    total.entries += shards_[i].size;
    total.bytes += shards_[i].bytes;
    total.hits += st.hits;
    total.misses += st.misses;
    total.evictions += st.evictions;
    total.expirations += st.expirations;
  }
  return total;
}

}  // namespace spectra::ai
