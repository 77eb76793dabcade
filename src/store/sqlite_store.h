#pragma once
// The embedded store: one SQLite database in WAL mode with synchronous=FULL,
// so an acknowledged put() survives SIGKILL and power loss.
#include <sqlite3.h>

#include <memory>
#include <mutex>

#include "store/store.h"

namespace spectra::store {

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed) the database at `path`, file mode 0600.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path,
                                                   std::size_t max_value_bytes = 8192);
  ~SqliteStore() override;

  std::string backend_name() const override { return "sqlite"; }
  std::size_t max_value_bytes() const override { return max_value_bytes_; }
  Result<Entry> get(std::string_view key) override;
  Result<Entry> put(std::string_view key, std::string_view value, Precondition pre) override;
  Result<std::vector<Entry>> list(std::string_view prefix, bool with_values) override;
  Status remove(std::string_view key) override;

 private:
  SqliteStore(sqlite3* db, std::size_t max_value_bytes);
  Status exec(const char* sql);
  Status error(const char* what);

  std::mutex mu_;
  sqlite3* db_;  // guarded by mu_
  std::size_t max_value_bytes_;
};

}  // namespace spectra::store
