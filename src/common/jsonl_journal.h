#pragma once
// An append-only file of JSON lines from which a component rebuilds its
// state at start (the response owners, the kept Responses answers): one
// write() per line to an O_APPEND file, so a crash leaves at most a torn
// last line, which the replay skips; rewritten whole and atomically with
// the live state when it has grown past a multiple of it. Not thread-safe:
// its owner serializes the calls (under the lock that guards its state, so
// that the journal's order is the state's) — but for write_next(), which
// touches only the rewrite under way and may run on a thread of its own
// while append() goes on.
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
  // Appends whole lines (each ending in '\n') in one write; a failed
  // write is logged and ends the journaling (the state goes on in memory).
  void append(std::string_view lines);

  // A rewrite that does not hold up the appends, in two steps: write_next()
  // writes the live state as it was taken to "<path>.next" (durable) on
  // any thread, while append() goes on with the current file; then
  // commit_next(), serialized with append(), adds the lines appended since
  // the state was taken and puts the new file in place of the old; then
  // finish_next(), on the thread that wrote the next file, makes the rename
  // durable (a crash of the process sees it at once; of the machine, only
  // after this) and closes the old file (freeing its blocks: milliseconds
  // for tens of megabytes). append_next(), before the commit, adds lines
  // appended meanwhile to the next file, so that what commit_next() writes
  // while the owner's lock is held stays small. (JournalCompactor runs
  // them on a thread of its own.)
  Status write_next(const std::string& text, std::size_t lines);
  Status append_next(std::string_view lines);
  Status commit_next(std::string_view tail);
  void finish_next();
  void abandon_next();

  bool is_open() const { return fd_ >= 0; }
  const std::string& what() const { return what_; }
  std::size_t lines() const { return lines_; }
  std::uint64_t bytes() const { return bytes_; }

 private:
  std::string what_;
  std::string path_;
  int fd_ = -1;
  std::size_t lines_ = 0;    // in the file now
  std::uint64_t bytes_ = 0;  // in the file now
  int next_fd_ = -1;         // the rewrite under way, if any
  int retired_fd_ = -1;      // the file it replaced, until finish_next()
  std::size_t next_lines_ = 0;
  std::uint64_t next_bytes_ = 0;
};

}  // namespace spectra
