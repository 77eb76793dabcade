#include "ai/response_owners.h"

#include "ai/cache_storage.h"

namespace spectra::ai {

namespace {

// In the fleet's storage (under its key prefix, so in Redis
// "spectra:ai:cache:response-owner:<id>"): "<key>\n<provider>\n<endpoint>".
std::string shared_key(const std::string& id) { return "response-owner:" + id; }

std::string encode(const ResponseOwner& o) { return o.key + '\n' + o.provider + '\n' + o.endpoint; }

std::optional<ResponseOwner> decode(std::string_view s) {
  const auto a = s.find('\n');
  if (a == std::string_view::npos) return std::nullopt;
  const auto b = s.find('\n', a + 1);
  if (b == std::string_view::npos || s.find('\n', b + 1) != std::string_view::npos) return std::nullopt;
  return ResponseOwner{std::string(s.substr(0, a)), std::string(s.substr(a + 1, b - a - 1)), std::string(s.substr(b + 1))};
}

}  // namespace

bool valid_response_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

ResponseOwners::ResponseOwners(const Clock* clock, std::size_t max_entries, std::chrono::seconds ttl)
    : clock_(clock), max_entries_(max_entries ? max_entries : 1), ttl_(ttl) {}

void ResponseOwners::keep(const std::string& id, const ResponseOwner& owner) {
  std::lock_guard lock(mu_);
  if (auto it = index_.find(id); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
  lru_.push_front(Entry{id, owner, clock_->steady_now() + ttl_});
  index_.emplace(std::string_view(lru_.front().id), lru_.begin());
  while (lru_.size() > max_entries_) {
    index_.erase(std::string_view(lru_.back().id));
    lru_.pop_back();
  }
}

void ResponseOwners::record(const std::string& id, const ResponseOwner& owner, CacheStorage* shared) {
  if (!valid_response_id(id)) return;
  keep(id, owner);
  if (shared) shared->put(shared_key(id), encode(owner), ttl_);
}

boost::asio::awaitable<std::optional<ResponseOwner>> ResponseOwners::find(const std::string& id, CacheStorage* shared) {
  {
    std::lock_guard lock(mu_);
    if (auto it = index_.find(id); it != index_.end()) {
      if (clock_->steady_now() < it->second->expires) {
        lru_.splice(lru_.begin(), lru_, it->second);
        co_return it->second->owner;
      }
      lru_.erase(it->second);
      index_.erase(it);
    }
  }
  if (!shared) co_return std::nullopt;
  std::optional<std::string> bytes = co_await shared->get(shared_key(id));
  std::optional<ResponseOwner> owner = bytes ? decode(*bytes) : std::nullopt;
  if (owner) keep(id, *owner);
  co_return owner;
}

void ResponseOwners::forget(const std::string& id, CacheStorage* shared) {
  {
    std::lock_guard lock(mu_);
    if (auto it = index_.find(id); it != index_.end()) {
      lru_.erase(it->second);
      index_.erase(it);
    }
  }
  if (shared) shared->erase(shared_key(id));
}

std::size_t ResponseOwners::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

}  // namespace spectra::ai
