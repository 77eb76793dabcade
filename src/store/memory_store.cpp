#include "store/memory_store.h"

#include <chrono>

namespace spectra::store {

Result<Entry> MemoryStore::get(std::string_view key) {
  if (Status s = check_key(key); !s.ok()) return s;
  std::lock_guard lock(mu_);
  auto it = data_.find(key);
  if (it == data_.end()) return not_found("no key " + std::string(key));
  return it->second;
}

void MemoryStore::fail_put_after(int n) {
  std::lock_guard lock(mu_);
  fail_countdown_ = n;
}

Result<Entry> MemoryStore::put(std::string_view key, std::string_view value, Precondition pre) {
  if (Status s = check_key(key); !s.ok()) return s;
  if (Status s = check_value(value, max_value_bytes_); !s.ok()) return s;
  std::lock_guard lock(mu_);
  if (fail_countdown_ >= 0 && fail_countdown_-- == 0) return io_error("injected store failure");
  auto it = data_.find(key);
  std::uint64_t current = it == data_.end() ? 0 : it->second.version;
  if (pre.kind == Precondition::Kind::kMustNotExist && current != 0) {
    return conflict("key " + std::string(key) + " already exists");
  }
  if (pre.kind == Precondition::Kind::kVersionIs && current != pre.version) {
    return conflict("key " + std::string(key) + " is at version " + std::to_string(current));
  }
  Entry e{std::string(key), std::string(value), current + 1,
          std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count()};
  data_[e.key] = e;
  return e;
}

Result<std::vector<Entry>> MemoryStore::list(std::string_view prefix, bool with_values) {
  std::string lo(prefix);
  if (lo.empty() || lo.back() != '/') lo.push_back('/');
  std::lock_guard lock(mu_);
  std::vector<Entry> out;
  for (auto it = data_.lower_bound(lo); it != data_.end() && it->first.rfind(lo, 0) == 0; ++it) {
    Entry e = it->second;
    if (!with_values) e.value.clear();
    out.push_back(std::move(e));
  }
  return out;
}

Status MemoryStore::remove(std::string_view key) {
  if (Status s = check_key(key); !s.ok()) return s;
  std::lock_guard lock(mu_);
  auto it = data_.find(key);
  if (it != data_.end()) data_.erase(it);
  return {};
}

}  // namespace spectra::store
