#include "ai/response_owners.h"

#include "ai/cache_storage.h"
#include "common/json_util.h"
#include "common/log.h"

namespace spectra::ai {

namespace {

// In the fleet's storage (under its key prefix, so in Redis
// "spectra:ai:cache:response-owner:<id>"): "<key>\n<provider>\n<endpoint>".
std::string shared_key(const std::string& id) { return "response-owner:" + id; }

std::string encode(const ResponseOwner& o) { return o.key + '\n' + o.provider + '\n' + o.endpoint; }

// The journal's lines: a record, or the forgetting of one.
std::string record_line(const std::string& id, const ResponseOwner& o, std::chrono::system_clock::time_point expires) {
  std::string out;
  json::ObjectWriter w(out);
  w.str("id", id).str("key", o.key).str("provider", o.provider).str("endpoint", o.endpoint);
  w.num("expires", static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::seconds>(expires.time_since_epoch()).count()));
  w.close();
  out.push_back('\n');
  return out;
}

std::string forget_line(const std::string& id) {
  std::string out;
  json::ObjectWriter w(out);
  w.str("id", id).boolean("forget", true);
  w.close();
  out.push_back('\n');
  return out;
}

// A journal of up to this many times the live records is rewritten.
constexpr std::size_t kCompactFactor = 4;

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
    : clock_(clock), max_entries_(max_entries ? max_entries : 1), ttl_(ttl) {
  index_.reserve(max_entries_);  // no rehash of 100,000 ids under the lock as it fills
}

void ResponseOwners::drop(const std::string& id) {
  if (auto it = index_.find(id); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
}

void ResponseOwners::keep(const std::string& id, const ResponseOwner& owner, std::chrono::system_clock::time_point expires) {
  std::lock_guard lock(mu_);
  insert(id, owner, expires);
}

void ResponseOwners::insert(const std::string& id, const ResponseOwner& owner, std::chrono::system_clock::time_point expires) {
  drop(id);
  lru_.push_front(std::make_shared<const Entry>(Entry{id, owner, expires}));
  index_.emplace(std::string_view(lru_.front()->id), lru_.begin());
  while (lru_.size() > max_entries_) {
    index_.erase(std::string_view(lru_.back()->id));
    lru_.pop_back();
  }
}

void ResponseOwners::record(const std::string& id, const ResponseOwner& owner, CacheStorage* shared) {
  if (!valid_response_id(id)) return;
  const auto expires = clock_->system_now() + ttl_;
  const std::string line = record_line(id, owner, expires);
  {
    // Kept and journaled under one lock: a forget of the same id cannot
    // land in the journal between the two (and come back on replay).
    std::lock_guard lock(mu_);
    insert(id, owner, expires);
    journal(line);
  }
  if (shared) shared->put(shared_key(id), encode(owner), ttl_);
}

void ResponseOwners::journal(const std::string& line) {
  compactor_.append(line);
  if (compactor_.busy() || journal_.lines() <= kCompactFactor * max_entries_) return;
  compactor_.compact([job = snapshot(clock_->system_now())] {
    std::string text;
    for (const auto& e : job) text += record_line(e->id, e->owner, e->expires);
    return std::pair{std::move(text), job.size()};
  });
}

std::vector<std::shared_ptr<const ResponseOwners::Entry>> ResponseOwners::snapshot(
    std::chrono::system_clock::time_point now) const {
  std::vector<std::shared_ptr<const Entry>> out;
  out.reserve(lru_.size());
  for (auto it = lru_.rbegin(); it != lru_.rend(); ++it) {
    if ((*it)->expires > now) out.push_back(*it);
  }
  return out;
}

Status ResponseOwners::open_journal(const std::string& path) {
  std::lock_guard lock(mu_);
  const auto now = clock_->system_now();
  Status st = journal_.replay(path, [&](std::string_view line) {
    auto v = json::parse(line, {.max_bytes = 4096, .max_depth = 2});
    const auto* o = v.ok() ? v->if_object() : nullptr;
    const auto* id = o ? o->if_contains("id") : nullptr;
    if (!id || !id->is_string() || !valid_response_id(id->get_string())) return false;
    const std::string key(id->get_string());
    if (o->contains("forget")) {
      drop(key);
      return true;
    }
    const auto* e = o->if_contains("expires");
    const std::chrono::system_clock::time_point expires(std::chrono::seconds(e ? json::to_int(*e) : 0));
    if (expires > now) {
      insert(key,
             ResponseOwner{std::string(json::string_at(*o, "key")), std::string(json::string_at(*o, "provider")),
                           std::string(json::string_at(*o, "endpoint"))},
             expires);
    }
    return true;
  });
  if (!st.ok()) return st;
  std::string text;
  const auto live = snapshot(now);
  for (const auto& e : live) text += record_line(e->id, e->owner, e->expires);
  if (Status rs = journal_.rewrite(text, live.size()); !rs.ok()) return rs;
  compactor_.start();
  return {};
}

boost::asio::awaitable<std::optional<ResponseOwner>> ResponseOwners::find(const std::string& id, CacheStorage* shared) {
  {
    std::lock_guard lock(mu_);
    if (auto it = index_.find(id); it != index_.end()) {
      if (clock_->system_now() < (*it->second)->expires) {
        lru_.splice(lru_.begin(), lru_, it->second);
        co_return (*it->second)->owner;
      }
      lru_.erase(it->second);
      index_.erase(it);
    }
  }
  if (!shared) co_return std::nullopt;
  std::optional<std::string> bytes = co_await shared->get(shared_key(id));
  std::optional<ResponseOwner> owner = bytes ? decode(*bytes) : std::nullopt;
  if (owner) keep(id, *owner, clock_->system_now() + ttl_);
  co_return owner;
}

void ResponseOwners::forget(const std::string& id, CacheStorage* shared) {
  {
    std::lock_guard lock(mu_);
    drop(id);
    journal(forget_line(id));
  }
  if (shared) shared->erase(shared_key(id));
}

std::size_t ResponseOwners::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

}  // namespace spectra::ai
