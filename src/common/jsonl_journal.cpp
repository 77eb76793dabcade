#include "common/jsonl_journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "common/file_util.h"
#include "common/log.h"

namespace spectra {

JsonlJournal::~JsonlJournal() {
  if (fd_ >= 0) ::close(fd_);
  if (retired_fd_ >= 0) ::close(retired_fd_);
  abandon_next();
}

Status JsonlJournal::replay(const std::string& path, const std::function<bool(std::string_view line)>& replay) {
  path_ = path;
  if (!fs::exists(path)) return {};
  auto text = fs::read_file(path, std::size_t(1) << 30);
  if (!text.ok()) return text.status();
  std::size_t at = 0, skipped = 0;
  while (at < text->size()) {
    const auto eol = text->find('\n', at);
    if (eol == std::string::npos) {  // a torn last line
      ++skipped;
      break;
    }
    if (!replay(std::string_view(*text).substr(at, eol - at))) ++skipped;
    at = eol + 1;
  }
  if (skipped) log::warn("skipped unreadable lines of the " + what_, {{"path", path}, {"lines", std::to_string(skipped)}});
  return {};
}

Status JsonlJournal::rewrite(const std::string& text, std::size_t lines) {
  if (Status st = fs::write_file_atomic(path_, text, 0600); !st.ok()) return st;
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) return Status(Code::kInternal, path_ + ": " + std::strerror(errno));
  lines_ = lines;
  bytes_ = text.size();
  return {};
}

void JsonlJournal::append(std::string_view lines) {
  if (fd_ < 0) return;
  if (::write(fd_, lines.data(), lines.size()) != static_cast<ssize_t>(lines.size())) {
    log::error("cannot append to the " + what_ + "; its state is kept in memory only",
               {{"path", path_}, {"error", std::strerror(errno)}});
    ::close(fd_);
    fd_ = -1;
    return;
  }
  lines_ += static_cast<std::size_t>(std::count(lines.begin(), lines.end(), '\n'));
  bytes_ += lines.size();
}

namespace {

Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status(Code::kInternal, path + ": " + std::strerror(errno));
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace

Status JsonlJournal::write_next(const std::string& text, std::size_t lines) {
  abandon_next();
  const std::string next = path_ + ".next";
  next_fd_ = ::open(next.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (next_fd_ < 0) return Status(Code::kInternal, next + ": " + std::strerror(errno));
  Status st = write_all(next_fd_, text, next);
  if (st.ok() && ::fdatasync(next_fd_) != 0) st = Status(Code::kInternal, next + ": " + std::strerror(errno));
  if (!st.ok()) {
    abandon_next();
    return st;
  }
  next_lines_ = lines;
  next_bytes_ = text.size();
  return {};
}

Status JsonlJournal::append_next(std::string_view lines) {
  if (next_fd_ < 0) return Status(Code::kInternal, "no rewrite under way");
  Status st = write_all(next_fd_, lines, path_ + ".next");
  if (!st.ok()) return st;
  next_lines_ += static_cast<std::size_t>(std::count(lines.begin(), lines.end(), '\n'));
  next_bytes_ += lines.size();
  return {};
}

Status JsonlJournal::commit_next(std::string_view tail) {
  if (next_fd_ < 0) return Status(Code::kInternal, "no rewrite under way");
  const std::string next = path_ + ".next";
  Status st = write_all(next_fd_, tail, next);
  if (st.ok() && ::rename(next.c_str(), path_.c_str()) != 0) st = Status(Code::kInternal, path_ + ": " + std::strerror(errno));
  if (!st.ok()) {
    abandon_next();
    return st;
  }
  if (retired_fd_ >= 0) ::close(retired_fd_);
  retired_fd_ = std::exchange(fd_, std::exchange(next_fd_, -1));
  lines_ = next_lines_ + static_cast<std::size_t>(std::count(tail.begin(), tail.end(), '\n'));
  bytes_ = next_bytes_ + tail.size();
  return {};
}

// The rename itself made durable (as fs::write_file_atomic does), and the
// old file closed.
void JsonlJournal::finish_next() {
  const auto slash = path_.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path_.substr(0, slash));
  if (int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
    (void)::fsync(d);
    ::close(d);
  }
  if (retired_fd_ >= 0) ::close(std::exchange(retired_fd_, -1));
}

void JsonlJournal::abandon_next() {
  if (next_fd_ < 0) return;
  ::close(next_fd_);
  next_fd_ = -1;
  (void)::unlink((path_ + ".next").c_str());
}

}  // namespace spectra
