// The Responses answers the gateway keeps itself (translated calls with
// store): bounded by bytes, expiring by the wall clock, and journaled so
// that a restart or a crash keeps them — erasures included.
#include "ai/kept_responses.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <vector>

#include "scratch_dir.h"

namespace spectra::ai {
namespace {

std::size_t lines_of(const std::string& path) {
  std::ifstream f(path);
  std::size_t n = 0;
  for (std::string line; std::getline(f, line);) ++n;
  return n;
}

TEST(KeptResponses, BoundedByBytesAndExpiring) {
  FakeClock clock;
  KeptResponses kept(&clock, 100);
  kept.put("resp_a", R"({"a":"0123456789012345678901234567890123456789"})", std::chrono::seconds(60));
  kept.put("resp_b", R"({"b":"0123456789012345678901234567890123456789"})", std::chrono::seconds(60));
  EXPECT_EQ(kept.size(), 2u);
  ASSERT_TRUE(kept.get("resp_a"));  // a is now the most recent
  kept.put("resp_c", R"({"c":"0123456789012345678901234567890123456789"})", std::chrono::seconds(60));
  EXPECT_TRUE(kept.get("resp_a"));
  EXPECT_FALSE(kept.get("resp_b")) << "the least recently used went first";
  EXPECT_LE(kept.bytes(), 100u);
  kept.put("resp_big", std::string(101, ' '), std::chrono::seconds(60));
  EXPECT_FALSE(kept.get("resp_big")) << "a record over the whole budget is not kept";
  EXPECT_TRUE(kept.get("resp_c"));
  kept.put("../etc", "{}", std::chrono::seconds(60));
  EXPECT_FALSE(kept.get("../etc"));
  clock.advance(std::chrono::seconds(61));
  EXPECT_FALSE(kept.get("resp_a"));
  EXPECT_EQ(kept.size(), 1u);
  // A smaller budget (the config changed) evicts at once; 0 keeps none.
  kept.put("resp_d", R"({"d":1})", std::chrono::seconds(60));
  kept.set_max_bytes(10);
  EXPECT_EQ(kept.size(), 1u);
  EXPECT_TRUE(kept.get("resp_d"));
  kept.set_max_bytes(0);
  EXPECT_EQ(kept.size(), 0u);
  kept.put("resp_e", "{}", std::chrono::seconds(60));
  EXPECT_EQ(kept.size(), 0u);
}

TEST(KeptResponses, TheJournalKeepsThemAcrossARestart) {
  spectra::test::ScratchDir scratch("kept");
  const std::string path = scratch.file("kept.jsonl");
  FakeClock clock;
  {
    KeptResponses kept(&clock);
    ASSERT_TRUE(kept.open_journal(path).ok());
    kept.put("resp_a", R"({"response":{"id":"resp_a"},"conversation":[{"role":"user","content":"line\nbreak"}]})",
             std::chrono::seconds(60));
    kept.put("resp_b", R"({"response":{"id":"resp_b"}})", std::chrono::seconds(60));
    kept.put("resp_gone", R"({"response":{"id":"resp_gone"}})", std::chrono::seconds(60));
    kept.put("resp_window", R"({"response":{"id":"resp_window"}})", std::chrono::seconds(60), /*durable=*/false);
    kept.erase("resp_gone");
    EXPECT_EQ(lines_of(path), 4u) << "three puts and an erasure; the copy kept for the fleet's write is not journaled";
  }
  {  // a crash mid-write: a torn last line, and garbage
    std::ofstream f(path, std::ios::app);
    f << "not json\n{\"id\":\"resp_x\",\"expires\":99999999999,\"record\":\"not an object\"}\n{\"id\":\"resp_torn\",\"rec";
  }
  clock.advance(std::chrono::seconds(30));
  {
    KeptResponses kept(&clock);
    ASSERT_TRUE(kept.open_journal(path).ok());
    ASSERT_TRUE(kept.get("resp_a"));
    EXPECT_EQ(*kept.get("resp_a"), R"({"response":{"id":"resp_a"},"conversation":[{"role":"user","content":"line\nbreak"}]})");
    EXPECT_TRUE(kept.get("resp_b"));
    EXPECT_FALSE(kept.get("resp_gone")) << "an erased record came back";
    EXPECT_FALSE(kept.get("resp_window"));
    EXPECT_FALSE(kept.get("resp_x"));
    EXPECT_FALSE(kept.get("resp_torn"));
    EXPECT_EQ(kept.size(), 2u);
    EXPECT_EQ(lines_of(path), 2u) << "rewritten with the live records";
    kept.put("resp_c", R"({"response":{"id":"resp_c"}})", std::chrono::seconds(60));
  }
  clock.advance(std::chrono::seconds(31));  // a and b are 61 s old: expired
  {
    KeptResponses kept(&clock);
    ASSERT_TRUE(kept.open_journal(path).ok());
    EXPECT_FALSE(kept.get("resp_a"));
    EXPECT_TRUE(kept.get("resp_c"));
    EXPECT_EQ(lines_of(path), 1u);
    // The journal is compacted as it grows past 4x the live bytes (and 1 MB).
    for (int i = 0; i < 8; ++i) {
      kept.put("resp_same", R"({"n":)" + std::to_string(i) + R"(,"pad":")" + std::string(300 << 10, 'x') + R"("})",
               std::chrono::seconds(60));
    }
    kept.wait_for_compaction();
    EXPECT_LT(lines_of(path), 8u);
    EXPECT_LT(std::filesystem::file_size(path), 2u << 20);
  }
  KeptResponses reopened(&clock);
  ASSERT_TRUE(reopened.open_journal(path).ok());
  ASSERT_TRUE(reopened.get("resp_same"));
  EXPECT_TRUE(reopened.get("resp_same")->starts_with(R"({"n":7,)")) << "the put that set off the compaction is in it";
}

// Puts and erasures from several threads while compactions run behind
// them: what a restart reads back is exactly what was live.
TEST(KeptResponses, CompactionsUnderConcurrentWritesLoseNothing) {
  spectra::test::ScratchDir scratch("kept-mt");
  const std::string path = scratch.file("kept.jsonl");
  FakeClock clock;
  constexpr int kThreads = 4, kEach = 300;
  std::map<std::string, std::string> live;
  {
    KeptResponses kept(&clock, 8 << 20);
    ASSERT_TRUE(kept.open_journal(path).ok());
    std::vector<std::thread> writers;
    std::vector<std::map<std::string, std::string>> mine(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          const std::string id = "resp_t" + std::to_string(t) + "_" + std::to_string(i % 40);
          if (i % 7 == 3) {
            kept.erase(id);
            mine[t].erase(id);
            continue;
          }
          // ~16 KB records: the journal passes 4x the live bytes and 1 MB often.
          std::string record = R"({"i":)" + std::to_string(i) + R"(,"pad":")" + std::string(16 << 10, 'a' + t) + R"("})";
          kept.put(id, record, std::chrono::seconds(600));
          mine[t][id] = std::move(record);
        }
      });
    }
    for (auto& w : writers) w.join();
    kept.wait_for_compaction();
    for (const auto& m : mine) live.insert(m.begin(), m.end());
    for (const auto& [id, record] : live) ASSERT_EQ(kept.get(id), record) << id;
    EXPECT_EQ(kept.size(), live.size());
  }
  EXPECT_LT(std::filesystem::file_size(path), 4 * (live.size() * (17 << 10)) + (2 << 20)) << "compacted as it grew";
  KeptResponses again(&clock, 8 << 20);
  ASSERT_TRUE(again.open_journal(path).ok());
  EXPECT_EQ(again.size(), live.size());
  for (const auto& [id, record] : live) EXPECT_EQ(again.get(id), record) << id;
}

}  // namespace
}  // namespace spectra::ai
