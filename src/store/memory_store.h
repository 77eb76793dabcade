#pragma once
// An in-memory Store with the same contract, for unit tests of callers and
// for --dry-run. Passes the same conformance suite as the real backends.
#include <map>
#include <mutex>

#include "store/store.h"

namespace spectra::store {

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(std::size_t max_value_bytes = 8192) : max_value_bytes_(max_value_bytes) {}
  std::string backend_name() const override { return "memory"; }
  std::size_t max_value_bytes() const override { return max_value_bytes_; }
  Result<Entry> get(std::string_view key) override;
  Result<Entry> put(std::string_view key, std::string_view value, Precondition pre) override;
  Result<std::vector<Entry>> list(std::string_view prefix, bool with_values) override;
  Status remove(std::string_view key) override;

  // Fault injection for callers' tests: the n-th put() from now fails with kIo.
  void fail_put_after(int n);

 private:
  std::mutex mu_;
  std::map<std::string, Entry, std::less<>> data_;  // guarded by mu_
  std::size_t max_value_bytes_;
  int fail_countdown_ = -1;  // guarded by mu_
};

}  // namespace spectra::store
