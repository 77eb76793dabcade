#include "ai/kept_responses.h"

#include <boost/json/serialize.hpp>

#include "ai/response_owners.h"
#include "common/json_util.h"
#include "common/log.h"

namespace spectra::ai {

namespace bj = boost::json;

namespace {

std::int64_t seconds_of(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// The journal's lines: a record (its JSON as it is), or its erasure.
std::string put_line(const std::string& id, const std::string& record, std::chrono::system_clock::time_point expires) {
  std::string out;
  json::ObjectWriter w(out);
  w.str("id", id).num("expires", seconds_of(expires)).raw("record", record);
  w.close();
  out.push_back('\n');
  return out;
}

std::string erase_line(const std::string& id) {
  std::string out;
  json::ObjectWriter w(out);
  w.str("id", id).boolean("erase", true);
  w.close();
  out.push_back('\n');
  return out;
}

// A journal past this many times the live records (and 1 MB) is rewritten.
constexpr std::uint64_t kCompactFactor = 4;

}  // namespace

KeptResponses::KeptResponses(const Clock* clock, std::uint64_t max_bytes) : clock_(clock), max_bytes_(max_bytes) {}

void KeptResponses::drop(const std::string& id) {
  if (auto it = index_.find(id); it != index_.end()) {
    bytes_ -= it->second->record->size();
    lru_.erase(it->second);
    index_.erase(it);
  }
}

void KeptResponses::insert(Entry e) {
  drop(e.id);
  if (e.record->size() > max_bytes_) return;
  bytes_ += e.record->size();
  lru_.push_front(std::move(e));
  index_.emplace(std::string_view(lru_.front().id), lru_.begin());
  evict();
}

void KeptResponses::evict() {
  while (bytes_ > max_bytes_ && !lru_.empty()) {
    bytes_ -= lru_.back().record->size();
    index_.erase(std::string_view(lru_.back().id));
    lru_.pop_back();
  }
}

void KeptResponses::set_max_bytes(std::uint64_t max_bytes) {
  std::lock_guard lock(mu_);
  max_bytes_ = max_bytes;
  evict();
}

void KeptResponses::put(const std::string& id, std::string record, std::chrono::seconds ttl, bool durable) {
  if (!valid_response_id(id)) return;
  const auto expires = clock_->system_now() + ttl;
  std::lock_guard lock(mu_);
  if (record.size() > max_bytes_) return;
  // Kept before it is journaled: a compaction the line sets off writes
  // the live records, this one among them.
  insert(Entry{id, std::make_shared<const std::string>(std::move(record)), expires, durable});
  if (durable) journal(put_line(id, *lru_.front().record, expires));
}

std::optional<std::string> KeptResponses::get(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = index_.find(id);
  if (it == index_.end()) return std::nullopt;
  if (clock_->system_now() >= it->second->expires) {
    drop(id);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return *it->second->record;
}

void KeptResponses::erase(const std::string& id) {
  std::lock_guard lock(mu_);
  const bool durable = index_.count(id) == 0 || index_.at(id)->durable;
  drop(id);
  if (durable) journal(erase_line(id));
}

std::size_t KeptResponses::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

std::uint64_t KeptResponses::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

void KeptResponses::journal(const std::string& line) {
  compactor_.append(line);
  if (compactor_.busy() || journal_.bytes() <= kCompactFactor * bytes_ + (1 << 20)) return;
  compactor_.compact([job = snapshot(clock_->system_now())] {
    std::string text;
    for (const auto& e : job) text += put_line(e.id, *e.record, e.expires);
    return std::pair{std::move(text), job.size()};
  });
}

std::vector<KeptResponses::Entry> KeptResponses::snapshot(std::chrono::system_clock::time_point now) const {
  std::vector<Entry> out;
  out.reserve(lru_.size());
  for (auto it = lru_.rbegin(); it != lru_.rend(); ++it) {
    if (it->durable && it->expires > now) out.push_back(*it);  // (the record itself is shared, not copied)
  }
  return out;
}

void KeptResponses::wait_for_compaction() { compactor_.wait_idle(); }

Status KeptResponses::open_journal(const std::string& path) {
  std::lock_guard lock(mu_);
  const auto now = clock_->system_now();
  Status st = journal_.replay(path, [&](std::string_view line) {
    auto v = json::parse(line, {.max_bytes = 64 << 20, .max_depth = 128});
    const auto* o = v.ok() ? v->if_object() : nullptr;
    const auto* id = o ? o->if_contains("id") : nullptr;
    if (!id || !id->is_string() || !valid_response_id(id->get_string())) return false;
    const std::string key(id->get_string());
    if (o->contains("erase")) {
      drop(key);
      return true;
    }
    const auto* record = o->if_contains("record");
    if (!record || !record->is_object()) return false;
    const auto* e = o->if_contains("expires");
    const std::chrono::system_clock::time_point expires(std::chrono::seconds(e ? json::to_int(*e) : 0));
    if (expires > now) insert(Entry{key, std::make_shared<const std::string>(bj::serialize(*record)), expires, true});
    return true;
  });
  if (!st.ok()) return st;
  std::string text;
  std::size_t lines = 0;
  for (const auto& e : snapshot(now)) {
    text += put_line(e.id, *e.record, e.expires);
    ++lines;
  }
  if (Status rs = journal_.rewrite(text, lines); !rs.ok()) return rs;
  compactor_.start();
  return {};
}

}  // namespace spectra::ai
