#pragma once
// Rewrites a JsonlJournal on a thread of its own, so that a compaction
// (tens of megabytes and an fsync) never runs on a request's thread nor
// under the lock that guards its owner's state while it writes.
//
// The owner keeps calling append() under its lock. When its journal has
// grown past what it wants, it hands compact() a snapshot of its live
// state that is safe to read without the lock (copies, or records shared
// immutably) and a function that renders it; the compactor renders and
// writes it to "<path>.next" without the lock while appends go on (and are
// kept for the new file too), then takes the lock to add those and put the
// new file in place. One compaction at a time; a request for one while
// another is under way is ignored (the owner asks again as it appends).
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "common/jsonl_journal.h"

namespace spectra {

class JournalCompactor {
 public:
  // The live state's text (whole lines) and how many lines it is.
  using Render = std::function<std::pair<std::string, std::size_t>()>;

  // `mu` is the owner's lock, under which it calls append() and compact().
  JournalCompactor(JsonlJournal& journal, std::mutex& mu) : journal_(journal), mu_(mu) {}
  ~JournalCompactor();  // waits for a compaction under way, then stops
  JournalCompactor(const JournalCompactor&) = delete;
  JournalCompactor& operator=(const JournalCompactor&) = delete;

  // Starts the thread (once the journal is open). Without it compact()
  // does nothing and the journal is only appended to.
  void start();
  // mu held: appends to the journal (and to the compaction under way).
  void append(std::string_view lines);
  // mu held: true while a compaction is under way.
  bool busy() const { return busy_; }
  // mu held: compacts the journal with what `render` returns.
  void compact(Render render);
  // Returns once no compaction is under way (tests, shutdown). Takes mu.
  void wait_idle();

 private:
  void loop();

  JsonlJournal& journal_;
  std::mutex& mu_;
  bool busy_ = false, stopping_ = false;  // guarded by mu_
  Render job_;                            // guarded by mu_
  std::string tail_;                      // lines appended since the snapshot; guarded by mu_
  std::condition_variable work_, idle_;
  std::thread thread_;
};

}  // namespace spectra
