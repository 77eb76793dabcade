#include "store/sqlite_store.h"

#include <sys/stat.h>

#include <chrono>

namespace spectra::store {
namespace {

// Finalizes a statement on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return s_; }
  void bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, std::int64_t v) { sqlite3_bind_int64(s_, i, v); }
  std::string text(int col) {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col))) : "";
  }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path,
                                                       std::size_t max_value_bytes) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return io_error("cannot open store " + path + ": " + msg);
  }
  ::chmod(path.c_str(), 0600);
  std::unique_ptr<SqliteStore> s(new SqliteStore(db, max_value_bytes));
  // WAL + synchronous=FULL: every commit is fsynced before it is acknowledged.
  for (const char* sql : {
           "PRAGMA journal_mode=WAL",
           "PRAGMA synchronous=FULL",
           "PRAGMA busy_timeout=5000",
           "PRAGMA foreign_keys=ON",
           "CREATE TABLE IF NOT EXISTS kv ("
           "  key TEXT PRIMARY KEY NOT NULL,"
           "  value TEXT NOT NULL,"
           "  version INTEGER NOT NULL,"
           "  modified_ms INTEGER NOT NULL) WITHOUT ROWID",
       }) {
    if (Status st = s->exec(sql); !st.ok()) return st;
  }
  return s;
}

SqliteStore::SqliteStore(sqlite3* db, std::size_t max_value_bytes)
    : db_(db), max_value_bytes_(max_value_bytes) {}

SqliteStore::~SqliteStore() { sqlite3_close(db_); }

Status SqliteStore::error(const char* what) {
  return io_error(std::string(what) + ": " + sqlite3_errmsg(db_));
}

Status SqliteStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    return io_error(std::string("store: ") + msg);
  }
  return {};
}

Result<Entry> SqliteStore::get(std::string_view key) {
  if (Status s = check_key(key); !s.ok()) return s;
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT value, version, modified_ms FROM kv WHERE key = ?1");
  if (!st.ok()) return error("prepare get");
  st.bind(1, key);
  int rc = sqlite3_step(st.get());
  if (rc == SQLITE_DONE) return not_found("no key " + std::string(key));
  if (rc != SQLITE_ROW) return error("get");
  Entry e;
  e.key = std::string(key);
  e.value = st.text(0);
  e.version = static_cast<std::uint64_t>(sqlite3_column_int64(st.get(), 1));
  e.modified_unix_ms = sqlite3_column_int64(st.get(), 2);
  return e;
}

Result<Entry> SqliteStore::put(std::string_view key, std::string_view value, Precondition pre) {
  if (Status s = check_key(key); !s.ok()) return s;
  if (Status s = check_value(value, max_value_bytes_); !s.ok()) return s;
  std::lock_guard lock(mu_);
  if (Status s = exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  auto rollback = [this](Status s) {
    (void)exec("ROLLBACK");
    return s;
  };
  std::uint64_t current = 0;
  {
    Stmt st(db_, "SELECT version FROM kv WHERE key = ?1");
    if (!st.ok()) return rollback(error("prepare put"));
    st.bind(1, key);
    int rc = sqlite3_step(st.get());
    if (rc == SQLITE_ROW) current = static_cast<std::uint64_t>(sqlite3_column_int64(st.get(), 0));
    else if (rc != SQLITE_DONE) return rollback(error("put lookup"));
  }
  if (pre.kind == Precondition::Kind::kMustNotExist && current != 0) {
    return rollback(conflict("key " + std::string(key) + " already exists"));
  }
  if (pre.kind == Precondition::Kind::kVersionIs && current != pre.version) {
    return rollback(conflict("key " + std::string(key) + " is at version " +
                             std::to_string(current) + ", not " + std::to_string(pre.version)));
  }
  Entry e{std::string(key), std::string(value), current + 1, now_ms()};
  {
    Stmt st(db_,
            "INSERT INTO kv(key, value, version, modified_ms) VALUES(?1, ?2, ?3, ?4) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value, version=excluded.version, "
            "modified_ms=excluded.modified_ms");
    if (!st.ok()) return rollback(error("prepare upsert"));
    st.bind(1, key);
    st.bind(2, value);
    st.bind(3, static_cast<std::int64_t>(e.version));
    st.bind(4, e.modified_unix_ms);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return rollback(error("put"));
  }
  if (Status s = exec("COMMIT"); !s.ok()) return rollback(s);
  return e;
}

Result<std::vector<Entry>> SqliteStore::list(std::string_view prefix, bool with_values) {
  std::string lo(prefix);
  if (lo.empty() || lo.back() != '/') lo.push_back('/');
  std::string hi = lo;
  hi.back() = '0';  // '0' is the byte after '/': the end of the prefix range
  std::lock_guard lock(mu_);
  Stmt st(db_, with_values ? "SELECT key, version, modified_ms, value FROM kv "
                             "WHERE key >= ?1 AND key < ?2 ORDER BY key"
                           : "SELECT key, version, modified_ms FROM kv "
                             "WHERE key >= ?1 AND key < ?2 ORDER BY key");
  if (!st.ok()) return error("prepare list");
  st.bind(1, lo);
  st.bind(2, hi);
  std::vector<Entry> out;
  for (;;) {
    int rc = sqlite3_step(st.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return error("list");
    Entry e;
    e.key = st.text(0);
    e.version = static_cast<std::uint64_t>(sqlite3_column_int64(st.get(), 1));
    e.modified_unix_ms = sqlite3_column_int64(st.get(), 2);
    if (with_values) e.value = st.text(3);
    out.push_back(std::move(e));
  }
  return out;
}

Status SqliteStore::remove(std::string_view key) {
  if (Status s = check_key(key); !s.ok()) return s;
  std::lock_guard lock(mu_);
  Stmt st(db_, "DELETE FROM kv WHERE key = ?1");
  if (!st.ok()) return error("prepare remove");
  st.bind(1, key);
  if (sqlite3_step(st.get()) != SQLITE_DONE) return error("remove");
  return {};
}

}  // namespace spectra::store
