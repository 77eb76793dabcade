#include "common/journal_compactor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include "scratch_dir.h"

namespace spectra {
namespace {

using namespace std::chrono_literals;

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class JournalCompactorTest : public ::testing::Test {
 protected:
  test::ScratchDir scratch_{std::string("compactor-") + ::testing::UnitTest::GetInstance()->current_test_info()->name()};
  std::string path_ = scratch_.file("state.jsonl");
};

// While the compactor renders and writes the snapshot, the owner's lock is
// free: appends go on, into the current file and into the new one, which
// then holds the snapshot followed by them.
TEST_F(JournalCompactorTest, AppendsGoOnWhileItWrites) {
  std::mutex mu;
  JsonlJournal journal("test journal");
  JournalCompactor compactor(journal, mu);
  ASSERT_TRUE(journal.replay(path_, [](std::string_view) { return true; }).ok());
  ASSERT_TRUE(journal.rewrite("a\nb\nc\n", 3).ok());
  compactor.start();
  std::promise<void> rendering, release;
  std::shared_future<void> released = release.get_future().share();
  {
    std::lock_guard lock(mu);
    compactor.compact([&rendering, released] {
      rendering.set_value();
      released.wait();
      return std::pair{std::string("c\n"), std::size_t(1)};
    });
    EXPECT_TRUE(compactor.busy());
  }
  rendering.get_future().wait();
  // Another thread appends under the owner's lock while the render waits;
  // were the lock held for the rewrite, this would not finish. (More than
  // the 64 KB the commit writes under the lock: the rest goes before it.)
  std::string big;
  for (int i = 0; i < 2000; ++i) big += "line " + std::to_string(i) + std::string(30, '.') + "\n";
  auto appended = std::async(std::launch::async, [&] {
    std::lock_guard lock(mu);
    compactor.append("d\n");
    compactor.append("e\nf\n");
    compactor.append(big);
    compactor.compact([] { return std::pair{std::string("never\n"), std::size_t(1)}; });  // one at a time: ignored
  });
  ASSERT_EQ(appended.wait_for(10s), std::future_status::ready) << "an append waited for the compaction";
  EXPECT_EQ(read_all(path_), "a\nb\nc\nd\ne\nf\n" + big) << "the current file has every line meanwhile";
  release.set_value();
  compactor.wait_idle();
  EXPECT_EQ(read_all(path_), "c\nd\ne\nf\n" + big);
  EXPECT_EQ(journal.lines(), 2004u);
  EXPECT_EQ(journal.bytes(), 8u + big.size());
  EXPECT_FALSE(std::filesystem::exists(path_ + ".next"));
  {
    std::lock_guard lock(mu);
    EXPECT_FALSE(compactor.busy());
    compactor.append("g\n");  // to the new file, and no longer to a tail
  }
  EXPECT_EQ(read_all(path_), "c\nd\ne\nf\n" + big + "g\n");
}

// A rewrite that cannot be written is abandoned: the journal goes on with
// the old file, losing nothing, and a later compaction can run.
TEST_F(JournalCompactorTest, AFailedRewriteKeepsTheOldFile) {
  std::mutex mu;
  JsonlJournal journal("test journal");
  JournalCompactor compactor(journal, mu);
  ASSERT_TRUE(journal.replay(path_, [](std::string_view) { return true; }).ok());
  ASSERT_TRUE(journal.rewrite("a\n", 1).ok());
  compactor.start();
  std::filesystem::create_directories(path_ + ".next");  // cannot be opened as the next file
  {
    std::lock_guard lock(mu);
    compactor.append("b\n");
    compactor.compact([] { return std::pair{std::string("b\n"), std::size_t(1)}; });
  }
  compactor.wait_idle();
  EXPECT_EQ(read_all(path_), "a\nb\n");
  EXPECT_EQ(journal.lines(), 2u);
  std::filesystem::remove_all(path_ + ".next");
  {
    std::lock_guard lock(mu);
    compactor.append("c\n");
    compactor.compact([] { return std::pair{std::string("b\nc\n"), std::size_t(2)}; });
  }
  compactor.wait_idle();
  EXPECT_EQ(read_all(path_), "b\nc\n");
}

// Four threads change a keyed state and journal each change while the
// journal is compacted whenever it passes twice the live state: replayed,
// the file gives back exactly the final state. Each thread makes at least
// kEach changes and goes on until three compactions have run (a slow disk
// makes each take longer), up to kMost.
TEST_F(JournalCompactorTest, ConcurrentChangesAcrossCompactionsReplayExactly) {
  constexpr int kThreads = 4, kEach = 2000, kMost = 100000;
  std::mutex mu;
  std::map<std::string, std::string> state;  // guarded by mu
  {
    JsonlJournal journal("test journal");
    JournalCompactor compactor(journal, mu);
    ASSERT_TRUE(journal.replay(path_, [](std::string_view) { return true; }).ok());
    ASSERT_TRUE(journal.rewrite("", 0).ok());
    compactor.start();
    int compactions = 0;
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 0;; ++i) {
          const std::string key = "k" + std::to_string(t) + "_" + std::to_string(i % 50);
          std::lock_guard lock(mu);
          if (i >= kEach && (compactions >= 3 || i >= kMost)) break;
          if (i % 5 == 4) {
            state.erase(key);
            compactor.append("-" + key + "\n");
          } else {
            state[key] = std::to_string(i);
            compactor.append("+" + key + "=" + std::to_string(i) + "\n");
          }
          if (!compactor.busy() && journal.lines() > 2 * state.size() + 16) {
            ++compactions;
            compactor.compact([snapshot = state] {
              std::string text;
              for (const auto& [k, v] : snapshot) text += "+" + k + "=" + v + "\n";
              return std::pair{std::move(text), snapshot.size()};
            });
          }
        }
      });
    }
    for (auto& w : writers) w.join();
    compactor.wait_idle();
    EXPECT_GE(compactions, 3) << "compacted as it grew";
    // How much was appended while the last compaction ran depends on the
    // scheduler; one more, with nothing appended meanwhile, leaves exactly
    // the state.
    {
      std::lock_guard lock(mu);
      compactor.compact([snapshot = state] {
        std::string text;
        for (const auto& [k, v] : snapshot) text += "+" + k + "=" + v + "\n";
        return std::pair{std::move(text), snapshot.size()};
      });
    }
    compactor.wait_idle();
    EXPECT_EQ(journal.lines(), state.size());
  }
  std::map<std::string, std::string> replayed;
  JsonlJournal again("test journal");
  ASSERT_TRUE(again
                  .replay(path_,
                          [&](std::string_view line) {
                            if (line.starts_with('-')) {
                              replayed.erase(std::string(line.substr(1)));
                            } else {
                              const auto eq = line.find('=');
                              replayed[std::string(line.substr(1, eq - 1))] = std::string(line.substr(eq + 1));
                            }
                            return true;
                          })
                  .ok());
  EXPECT_EQ(replayed, state);
  std::uintmax_t bytes = 0;
  for (const auto& [k, v] : state) bytes += 1 + k.size() + 1 + v.size() + 1;
  EXPECT_EQ(std::filesystem::file_size(path_), bytes) << "the last compaction's snapshot, nothing else (uncompacted: ~90 KB)";
}

}  // namespace
}  // namespace spectra
