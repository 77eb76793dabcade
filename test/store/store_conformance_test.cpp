// One conformance suite for every Store backend: the SSM backend will be
// added to the same parameter list.
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <thread>

#include "store/memory_store.h"
#include "store/sqlite_store.h"

namespace spectra::store {
namespace {

struct Backend {
  std::string name;
  std::function<std::unique_ptr<Store>(const std::string& dir)> make;
};

class StoreConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("spectra-store-" + std::to_string(::getpid()) + "-" + GetParam().name);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store_ = GetParam().make(dir_.string());
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreConformance, PutGetVersions) {
  EXPECT_EQ(store_->get("/a/b").status().code(), Code::kNotFound);
  auto e1 = store_->put("/a/b", "one");
  ASSERT_TRUE(e1.ok()) << e1.status().to_string();
  EXPECT_EQ(e1->version, 1u);
  auto e2 = store_->put("/a/b", "two");
  ASSERT_TRUE(e2.ok());
  EXPECT_EQ(e2->version, 2u);
  auto g = store_->get("/a/b");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->value, "two");
  EXPECT_EQ(g->version, 2u);
  EXPECT_GT(g->modified_unix_ms, 0);
}

TEST_P(StoreConformance, Preconditions) {
  ASSERT_TRUE(store_->put("/k", "v", Precondition::must_not_exist()).ok());
  EXPECT_EQ(store_->put("/k", "w", Precondition::must_not_exist()).status().code(), Code::kConflict);
  EXPECT_EQ(store_->put("/k", "w", Precondition::version_is(7)).status().code(), Code::kConflict);
  EXPECT_TRUE(store_->put("/k", "w", Precondition::version_is(1)).ok());
  EXPECT_EQ(store_->get("/k")->value, "w");
}

TEST_P(StoreConformance, ListIsPrefixScopedAndSorted) {
  for (const char* k : {"/cfg/b", "/cfg/a/x", "/cfg/a/y", "/cfg0", "/cfgx/z", "/other"}) {
    ASSERT_TRUE(store_->put(k, k).ok());
  }
  auto l = store_->list("/cfg", true);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 3u);
  EXPECT_EQ((*l)[0].key, "/cfg/a/x");
  EXPECT_EQ((*l)[0].value, "/cfg/a/x");
  EXPECT_EQ((*l)[2].key, "/cfg/b");
  auto nv = store_->list("/cfg/a/", false);
  ASSERT_TRUE(nv.ok());
  ASSERT_EQ(nv->size(), 2u);
  EXPECT_TRUE((*nv)[0].value.empty());
}

TEST_P(StoreConformance, RejectsBadKeysAndValues) {
  for (const char* k : {"", "/", "a/b", "/a//b", "/a/", "/a b", "/a\n"}) {
    EXPECT_EQ(store_->put(k, "v").status().code(), Code::kInvalidArgument) << k;
  }
  std::string big(store_->max_value_bytes() + 1, 'x');
  EXPECT_EQ(store_->put("/big", big).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(store_->put("/max", std::string(store_->max_value_bytes(), 'x')).ok());
  EXPECT_EQ(store_->put("/bin", std::string("\xff\xfe", 2)).status().code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(store_->put("/utf8", "gr\xc3\xbc\xc3\x9f").ok());
}

TEST_P(StoreConformance, RemoveIsIdempotent) {
  ASSERT_TRUE(store_->put("/x", "1").ok());
  EXPECT_TRUE(store_->remove("/x").ok());
  EXPECT_TRUE(store_->remove("/x").ok());
  EXPECT_EQ(store_->get("/x").status().code(), Code::kNotFound);
  // A key re-created after removal starts again at version 1.
  EXPECT_EQ(store_->put("/x", "2")->version, 1u);
}

TEST_P(StoreConformance, ConcurrentCreateOnlyHasOneWinner) {
  constexpr int kThreads = 8;
  std::atomic<int> wins{0}, conflicts{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < kThreads; ++i) {
    ts.emplace_back([&, i] {
      auto r = store_->put("/race", std::to_string(i), Precondition::must_not_exist());
      if (r.ok()) ++wins;
      else if (r.status().code() == Code::kConflict) ++conflicts;
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
}

INSTANTIATE_TEST_SUITE_P(
    Backends, StoreConformance,
    ::testing::Values(Backend{"memory", [](const std::string&) -> std::unique_ptr<Store> {
                                return std::make_unique<MemoryStore>();
                              }},
                      Backend{"sqlite",
                              [](const std::string& dir) -> std::unique_ptr<Store> {
                                auto r = SqliteStore::open(dir + "/store.db");
                                if (!r.ok()) return nullptr;
                                return std::move(r).value();
                              }}),
    [](const auto& info) { return info.param.name; });

TEST(SqliteStore, DataSurvivesReopen) {
  auto dir = std::filesystem::temp_directory_path() / ("spectra-reopen-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "s.db").string();
  {
    auto s = SqliteStore::open(path);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->put("/p", "persisted", Precondition::none()).ok());
  }
  auto s = SqliteStore::open(path);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->get("/p")->value, "persisted");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spectra::store
