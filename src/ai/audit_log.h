#pragma once
// Append-only, hash-chained audit log: one JSON object per line,
//   {"hash":"<sha256 hex>", ...record fields..., "prev":"<previous hash>"}
// where hash = sha256(prev_hash || "{" + the bytes after `"hash":"…",`).
// Removing, reordering or editing any line breaks the chain at that line,
// and verify() says where. Files rotate by size; the chain continues across
// files (path, path.1, path.2, ... newest first). Writes happen on one
// background thread so request threads never wait on the disk.
#include <boost/json/object.hpp>

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
};

class AuditLog {
 public:
  explicit AuditLog(AuditOptions options);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Resumes the chain from the newest line on disk.
  Status open();
  // Queues a record; returns at once.
  void append(boost::json::object record);
  // Waits until everything queued so far is written and fsynced.
  void flush();
  std::uint64_t written() const;

 private:
  void run();
  Status write_line(boost::json::object& record);
  Status rotate();

  AuditOptions opt_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::string prev_hash_;
  mutable std::mutex mu_;
  std::condition_variable cv_, flushed_;
  std::deque<boost::json::object> queue_;  // guarded by mu_
  std::uint64_t queued_ = 0, written_ = 0;  // guarded by mu_
  bool stop_ = false;                       // guarded by mu_
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
