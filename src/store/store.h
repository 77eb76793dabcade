#pragma once
// The config-of-record store: hierarchical keys, per-key versions, values of
// bounded size, single-key compare-and-set, no multi-key transactions.
//
// The interface is the intersection of what SQLite and AWS SSM Parameter
// Store can both promise, so callers written against it work on either:
// - keys are paths "/seg/seg/..." (segments [A-Za-z0-9_.-], at most 1011 bytes);
// - values are UTF-8 text of at most max_value_bytes() bytes;
// - put() with Precondition::must_not_exist() is the only atomic primitive a
//   caller may build on (SSM's PutParameter without Overwrite).
// Implementations are thread-safe and blocking: call them off the I/O threads.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace spectra::store {

struct Entry {
  std::string key;
  std::string value;
  std::uint64_t version = 0;  // 1 for a new key, +1 on every write
  std::int64_t modified_unix_ms = 0;
};

struct Precondition {
  enum class Kind { kNone, kMustNotExist, kVersionIs };
  Kind kind = Kind::kNone;
  std::uint64_t version = 0;
  static Precondition none() { return {}; }
  static Precondition must_not_exist() { return {Kind::kMustNotExist, 0}; }
  static Precondition version_is(std::uint64_t v) { return {Kind::kVersionIs, v}; }
};

class Store {
 public:
  virtual ~Store() = default;

  virtual std::string backend_name() const = 0;
  virtual std::size_t max_value_bytes() const = 0;

  // kNotFound when absent.
  virtual Result<Entry> get(std::string_view key) = 0;
  // kConflict when the precondition fails; kInvalidArgument for a bad key or
  // an oversize/non-UTF-8 value. Returns the entry as written.
  virtual Result<Entry> put(std::string_view key, std::string_view value,
                            Precondition pre = Precondition::none()) = 0;
  // All keys under `prefix` (recursively), sorted by key.
  virtual Result<std::vector<Entry>> list(std::string_view prefix, bool with_values) = 0;
  // Removing an absent key is not an error.
  virtual Status remove(std::string_view key) = 0;
};

// Shared argument checks, so every backend refuses the same things.
Status check_key(std::string_view key);
Status check_value(std::string_view value, std::size_t max_bytes);
bool valid_utf8(std::string_view s);

}  // namespace spectra::store
