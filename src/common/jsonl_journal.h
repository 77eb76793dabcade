#pragma once
// An append-only file of JSON lines from which a component rebuilds its
// state at start (the response owners, the kept Responses answers): one
// write() per line to an O_APPEND file, so a crash leaves at most a torn
// last line, which the replay skips; rewritten whole and atomically with
// the live state when it has grown past a multiple of it. Not thread-safe:
// its owner serializes the calls (under the lock that guards its state, so
// that the journal's order is the state's).
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace spectra {

class JsonlJournal {
 public:
  // `what` names the journal in logs ("response owners journal").
  explicit JsonlJournal(std::string what) : what_(std::move(what)) {}
  ~JsonlJournal();
  JsonlJournal(const JsonlJournal&) = delete;
  JsonlJournal& operator=(const JsonlJournal&) = delete;

  // Hands every complete line of the file at `path` (if it exists) to
  // `replay`, which returns false for a line it cannot read; logs how many
  // were skipped (unreadable or torn). Then the owner rewrites it with its
  // live state (rewrite()), which also opens it for appending.
  Status replay(const std::string& path, const std::function<bool(std::string_view line)>& replay);
  // Replaces the file with `text`, `lines` lines (the live state), and
  // appends to it from then on.
  Status rewrite(const std::string& text, std::size_t lines);
  // Appends one line (ending in '\n'); a failed write is logged and ends
  // the journaling (the state goes on in memory).
  void append(std::string_view line);

  bool is_open() const { return fd_ >= 0; }
  std::size_t lines() const { return lines_; }
  std::uint64_t bytes() const { return bytes_; }

 private:
  std::string what_;
  std::string path_;
  int fd_ = -1;
  std::size_t lines_ = 0;    // in the file now
  std::uint64_t bytes_ = 0;  // in the file now
};

}  // namespace spectra
