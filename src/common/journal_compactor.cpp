#include "common/journal_compactor.h"

#include "common/log.h"

namespace spectra {

namespace {

// At most this much of the lines appended during a compaction is written
// under the owner's lock.
constexpr std::size_t kSmallTail = 64 << 10;

}  // namespace

JournalCompactor::~JournalCompactor() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void JournalCompactor::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
}

void JournalCompactor::append(std::string_view lines) {
  if (!journal_.is_open()) return;
  journal_.append(lines);
  if (busy_) tail_ += lines;  // for the new file too
}

void JournalCompactor::compact(Render render) {
  if (busy_ || stopping_ || !thread_.joinable() || !journal_.is_open()) return;
  busy_ = true;
  job_ = std::move(render);
  work_.notify_one();
}

void JournalCompactor::wait_idle() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [&] { return !busy_; });
}

void JournalCompactor::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    work_.wait(lock, [&] { return busy_ || stopping_; });
    if (!busy_) return;  // stopping, nothing under way
    Render render = std::move(job_);
    job_ = nullptr;
    lock.unlock();
    Status st;
    {
      auto [text, lines] = render();
      render = nullptr;  // (the snapshot, freed without the lock)
      st = journal_.write_next(text, lines);
    }
    lock.lock();
    // What was appended meanwhile goes to the new file without the lock
    // too, until what is left for commit_next() to write under it is small.
    while (st.ok() && tail_.size() > kSmallTail) {
      std::string lines = std::move(tail_);
      tail_.clear();
      lock.unlock();
      st = journal_.append_next(lines);
      lock.lock();
    }
    if (st.ok()) st = journal_.commit_next(tail_);
    if (!st.ok()) {
      journal_.abandon_next();
      log::error("cannot compact the " + journal_.what(), {{"error", st.to_string()}});
    }
    tail_.clear();
    busy_ = false;
    idle_.notify_all();
    if (st.ok()) {
      lock.unlock();
      journal_.finish_next();  // the rename made durable, the old file closed, without holding up appends
      lock.lock();
    }
  }
}

}  // namespace spectra
