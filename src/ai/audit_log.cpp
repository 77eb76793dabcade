#include "ai/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/crypto.h"
#include "common/file_util.h"
#include "common/log.h"

namespace spectra::ai {
namespace {

constexpr std::string_view kPrefix = "{\"hash\":\"";
// A queue this long wakes the writer before its sync interval is over.
constexpr std::size_t kWakeBatch = 4096;
constexpr std::string_view kGenesis = "0000000000000000000000000000000000000000000000000000000000000000";

// Splits a line into its hash and the hashed body ("{" + rest).
bool split_line(const std::string& line, std::string* hash, std::string* body) {
  if (line.size() < kPrefix.size() + 64 + 3 || line.compare(0, kPrefix.size(), kPrefix) != 0) return false;
  *hash = line.substr(kPrefix.size(), 64);
  if (line.compare(kPrefix.size() + 64, 2, "\",") != 0) return false;
  *body = "{" + line.substr(kPrefix.size() + 66);
  return true;
}

std::string last_line(const std::string& path) {
  std::ifstream f(path);
  std::string line, last;
  while (std::getline(f, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

}  // namespace

AuditLog::AuditLog(AuditOptions options) : opt_(std::move(options)) {}

AuditLog::~AuditLog() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

Status AuditLog::open() {
  auto dir = std::filesystem::path(opt_.path).parent_path();
  if (!dir.empty()) {
    if (Status s = fs::make_dirs(dir.string(), 0750); !s.ok()) return s;
  }
  prev_hash_ = std::string(kGenesis);
  for (const auto& f : audit_files(opt_.path)) {
    std::string last = last_line(f);
    std::string hash, body;
    if (!last.empty() && split_line(last, &hash, &body)) prev_hash_ = hash;
  }
  fd_ = ::open(opt_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) return io_error("cannot open audit log " + opt_.path + ": " + std::strerror(errno));
  struct stat st{};
  ::fstat(fd_, &st);
  size_ = static_cast<std::uint64_t>(st.st_size);
  thread_ = std::thread([this] { run(); });
  return {};
}

void AuditLog::append(boost::json::object record) {
  record.erase("hash");
  record.erase("prev");
  append(boost::json::serialize(record));
}

void AuditLog::append(std::string record) {
  if (record.size() < 3 || record.front() != '{' || record.back() != '}') {
    log::error("audit record is not a non-empty JSON object; not written", {{"path", opt_.path}});
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= opt_.max_queue) {
      if (dropped_.fetch_add(1, std::memory_order_relaxed) == 0) {
        log::error("audit log queue full; dropping records (see spectra_ai_audit_dropped_records)",
                   {{"path", opt_.path}, {"max_queue", std::to_string(opt_.max_queue)}});
      }
      return;
    }
    // The writer sleeps only on an empty queue (or gathers a batch for at
    // most sync_interval), so only the first record of a batch wakes it.
    queue_.push_back(std::move(record));
    wake = queue_.size() == 1 || queue_.size() == kWakeBatch;
    ++queued_;
  }
  if (wake) cv_.notify_one();
}

void AuditLog::flush() {
  std::unique_lock lock(mu_);
  std::uint64_t target = queued_;
  if (written_ >= target) return;
  flush_target_ = std::max(flush_target_, target);
  cv_.notify_one();
  flushed_.wait(lock, [&] { return written_ >= target || stop_; });
}

std::uint64_t AuditLog::written() const {
  std::lock_guard lock(mu_);
  return written_;
}

Status AuditLog::rotate() {
  ::fsync(fd_);
  ::close(fd_);
  fd_ = -1;
  for (int i = opt_.keep_files - 1; i >= 1; --i) {
    std::string from = opt_.path + (i == 1 ? "" : "." + std::to_string(i - 1));
    std::string to = opt_.path + "." + std::to_string(i);
    if (fs::exists(from)) std::filesystem::rename(from, to);
  }
  if (opt_.keep_files <= 1) std::filesystem::remove(opt_.path);
  fd_ = ::open(opt_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) return io_error("cannot reopen audit log " + opt_.path);
  size_ = 0;
  return {};
}

Status AuditLog::write_all(std::string_view bytes) {
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return io_error(std::string("audit write failed: ") + std::strerror(errno));
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  size_ += bytes.size();
  return {};
}

// The hashed body is the record with `"prev":"<previous hash>"` as its last
// member; the line is that body with `"hash":"<its hash>"` as the first.
void AuditLog::add_line(const std::string& record, std::string& out) {
  std::string body;
  body.reserve(record.size() + 12 + prev_hash_.size());
  body.append(record, 0, record.size() - 1);
  body += ",\"prev\":\"";
  body += prev_hash_;
  body += "\"}";
  std::string hash = crypto::sha256_hex(prev_hash_ + body);
  std::size_t line_size = kPrefix.size() + hash.size() + 2 + body.size();  // "...",  + body[1:] + \n
  if (size_ + out.size() > 0 && size_ + out.size() + line_size > opt_.max_file_bytes) {
    // The batch so far belongs to the current file; the new line starts the next.
    Status s = write_all(out);
    out.clear();
    if (s.ok()) s = rotate();
    if (!s.ok()) log::error("audit log rotation failed", {{"error", s.to_string()}});
  }
  out += kPrefix;
  out += hash;
  out += "\",";
  out.append(body, 1);
  out += '\n';
  prev_hash_ = std::move(hash);
}

void AuditLog::run() {
  std::vector<std::string> batch;
  std::string buf;
  for (;;) {
    bool stopping = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty() || flush_target_ > written_; });
      // Group commit: gather what arrives within one sync interval.
      auto deadline = std::chrono::steady_clock::now() + opt_.sync_interval;
      cv_.wait_until(lock, deadline,
                     [&] { return stop_ || flush_target_ > written_ || queue_.size() >= kWakeBatch; });
      batch.swap(queue_);
      stopping = stop_;
    }
    if (!batch.empty()) {
      buf.clear();
      for (auto& r : batch) add_line(r, buf);
      Status s = write_all(buf);
      if (s.ok() && ::fdatasync(fd_) != 0) s = io_error(std::string("audit fdatasync failed: ") + std::strerror(errno));
      if (!s.ok() && !write_failing_) log::error("audit log write failed", {{"error", s.to_string()}});
      write_failing_ = !s.ok();
    }
    {
      std::lock_guard lock(mu_);
      written_ += batch.size();
    }
    batch.clear();
    flushed_.notify_all();
    if (stopping) {
      std::lock_guard lock(mu_);
      if (queue_.empty()) break;
    }
  }
}

std::vector<std::string> audit_files(const std::string& path) {
  std::vector<std::string> rotated;
  for (int i = 1; fs::exists(path + "." + std::to_string(i)); ++i) rotated.push_back(path + "." + std::to_string(i));
  std::vector<std::string> out(rotated.rbegin(), rotated.rend());
  if (fs::exists(path)) out.push_back(path);
  return out;
}

AuditVerdict verify_audit(const std::vector<std::string>& files) {
  AuditVerdict v;
  std::string prev;
  bool first = true;
  for (const auto& f : files) {
    std::ifstream in(f);
    if (!in) {
      v = {false, v.lines, f, 0, "cannot read the file"};
      return v;
    }
    std::string line;
    std::uint64_t n = 0;
    while (std::getline(in, line)) {
      ++n;
      std::string hash, body;
      if (!split_line(line, &hash, &body)) {
        v = {false, v.lines, f, n, "line is not an audit record"};
        return v;
      }
      auto pos = body.rfind(",\"prev\":\"");
      if (pos == std::string::npos || body.size() < pos + 9 + 64 + 2) {
        v = {false, v.lines, f, n, "record has no prev hash"};
        return v;
      }
      std::string claimed_prev = body.substr(pos + 9, 64);
      // The oldest kept file may start mid-chain (older files were rotated away).
      if (!first && claimed_prev != prev) {
        v = {false, v.lines, f, n, "chain broken: a line before this one was removed, added or changed"};
        return v;
      }
      if (crypto::sha256_hex(claimed_prev + body) != hash) {
        v = {false, v.lines, f, n, "hash mismatch: this line was changed"};
        return v;
      }
      prev = hash;
      first = false;
      ++v.lines;
    }
  }
  return v;
}

}  // namespace spectra::ai
