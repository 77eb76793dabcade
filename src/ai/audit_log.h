#pragma once
// Append-only, hash-chained audit log: one JSON object per line,
//   {"hash":"<sha256 hex>", ...record fields..., "prev":"<previous hash>"}
// where hash = sha256(prev_hash || "{" + the bytes after `"hash":"…",`).
// Removing, reordering or editing any line breaks the chain at that line,
// and verify() says where. Files rotate by size; the chain continues across
// files (path, path.1, path.2, ... newest first).
//
// Writes happen on one background thread so request threads never wait on
// the disk, and they are group-committed: the writer gathers what arrives
// within `sync_interval`, writes it with one write() and syncs it with one
// fdatasync(). A record is on disk at most about `sync_interval` after
// append() returned (append() never promised more: it returns before any
// byte is written); flush() forces the write and the sync at once. The
// queue is bounded: past `max_queue` records waiting, append() drops the
// record and counts it (dropped()), because a request must never wait for
// the audit disk; operators alert on spectra_ai_audit_dropped_records.
#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"

namespace spectra::ai {

struct AuditOptions {
  std::string path;
  std::uint64_t max_file_bytes = 100 << 20;
  int keep_files = 10;
  std::chrono::milliseconds sync_interval{10};
  std::size_t max_queue = 65536;
};

class AuditLog {
 public:
  explicit AuditLog(AuditOptions options);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Resumes the chain from the newest line on disk.
  Status open();
  // Queues a record, a serialized non-empty JSON object without "hash" or
  // "prev" members (the writer adds them); returns at once. Drops (and
  // counts) it when the queue is full. Callers serialize on their own
  // thread: the writer only chains, hashes and writes.
  void append(std::string record);
  // The same for a record as an object (its "hash" and "prev" are replaced).
  void append(boost::json::object record);
  // Waits until everything queued so far is written and fsynced.
  void flush();
  // Records written and synced.
  std::uint64_t written() const;
  // Records refused because the queue was full.
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  void run();
  // Appends the chained line for `record` to `out` (rotating first when the
  // file would outgrow its limit).
  void add_line(const std::string& record, std::string& out);
  Status write_all(std::string_view bytes);
  Status rotate();

  AuditOptions opt_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::string prev_hash_;
  mutable std::mutex mu_;
  std::condition_variable cv_, flushed_;
  std::vector<std::string> queue_;  // guarded by mu_
  std::uint64_t queued_ = 0, written_ = 0;  // guarded by mu_
  std::uint64_t flush_target_ = 0;          // guarded by mu_; flush() waits for this
  bool stop_ = false;                       // guarded by mu_
  std::atomic<std::uint64_t> dropped_{0};
  bool write_failing_ = false;              // writer thread only
  std::thread thread_;
};

struct AuditVerdict {
  bool ok = true;
  std::uint64_t lines = 0;
  std::string file;  // where the chain broke
  std::uint64_t line = 0;
  std::string reason;
};

// Verifies the files of one log, oldest first (so: path.N ... path.1, path).
AuditVerdict verify_audit(const std::vector<std::string>& files_oldest_first);
// The files of the log at `path`, oldest first.
std::vector<std::string> audit_files(const std::string& path);

}  // namespace spectra::ai
