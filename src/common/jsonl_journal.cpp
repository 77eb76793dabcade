#include "common/jsonl_journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/file_util.h"
#include "common/log.h"

namespace spectra {

JsonlJournal::~JsonlJournal() {
  if (fd_ >= 0) ::close(fd_);
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

void JsonlJournal::append(std::string_view line) {
  if (fd_ < 0) return;
  if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    log::error("cannot append to the " + what_ + "; its state is kept in memory only",
               {{"path", path_}, {"error", std::strerror(errno)}});
    ::close(fd_);
    fd_ = -1;
    return;
  }
  ++lines_;
  bytes_ += line.size();
}

}  // namespace spectra
