// One conformance suite for every CacheStorage backend: what the AI caches
// rely on, whatever stores the bytes. Memory runs on the real clock; Redis
// against a real redis-server on a free loopback port. put() may store in
// the background, so the tests poll (bounded) until a put is visible.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ai/cache_storage.h"
#include "ai/redis_cache_storage.h"
#include "common/clock.h"
#include "cache_test_util.h"
#include "redis_server.h"

namespace spectra::ai {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using spectra::testing::RedisServer;
using SteadyClock = std::chrono::steady_clock;

using test::eventually;
using test::get_now;

class CacheStorageConformance : public ::testing::TestWithParam<std::string> {
 protected:
  static void TearDownTestSuite() { redis_.reset(); }

  void SetUp() override {
    if (GetParam() == "memory") {
      storage_ = std::make_unique<MemoryCacheStorage>(64u << 20, &SystemClock::instance());
      return;
    }
    if (!redis_) {
      auto server = std::make_unique<RedisServer>();
      ASSERT_TRUE(server->start());
      redis_ = std::move(server);
    }
    ASSERT_EQ(redis_->command({"FLUSHALL"}), "+OK\r\n");
    RedisCacheOptions o;
    o.url = redis_->url();
    o.timeout = 2s;  // generous: sanitizer builds on a busy machine; failures are tested elsewhere
    auto made = make_redis_cache_storage(o);
    ASSERT_TRUE(made.ok()) << made.status().to_string();
    storage_ = std::move(*made);
  }

  std::optional<std::string> get(const std::string& key) { return get_now(*storage_, key); }
  bool becomes(const std::string& key, const std::string& value,
               std::chrono::milliseconds within = 3s) {
    return eventually([&] { return get(key) == value; }, within);
  }
  bool goes(const std::string& key, std::chrono::milliseconds within = 3s) {
    return eventually([&] { return !get(key).has_value(); }, within);
  }

  static inline std::unique_ptr<RedisServer> redis_;  // one server for the suite, flushed per test
  std::unique_ptr<CacheStorage> storage_;
};

TEST_P(CacheStorageConformance, NamesItsBackend) {
  EXPECT_EQ(std::string(storage_->backend()), GetParam());
}

TEST_P(CacheStorageConformance, AnEmptyCacheMisses) {
  EXPECT_EQ(get("absent"), std::nullopt);
  EXPECT_EQ(get(""), std::nullopt);
}

TEST_P(CacheStorageConformance, PutThenGetReturnsTheExactBytes) {
  storage_->put("k", "hello, cache", 60s);
  EXPECT_TRUE(becomes("k", "hello, cache"));
  EXPECT_EQ(get("k"), "hello, cache");  // and stays
  storage_->put("empty", "", 60s);
  EXPECT_TRUE(becomes("empty", ""));  // an empty value is a hit, not a miss
}

TEST_P(CacheStorageConformance, APutOverwrites) {
  storage_->put("k", "first", 60s);
  ASSERT_TRUE(becomes("k", "first"));
  storage_->put("k", "second", 60s);
  EXPECT_TRUE(becomes("k", "second"));
  EXPECT_EQ(get("k"), "second");  // never back to the old value
}

TEST_P(CacheStorageConformance, EraseRemoves) {
  storage_->put("k", "v", 60s);
  storage_->put("kept", "v2", 60s);
  ASSERT_TRUE(becomes("k", "v"));
  ASSERT_TRUE(becomes("kept", "v2"));
  storage_->erase("k");
  EXPECT_TRUE(goes("k"));
  EXPECT_EQ(get("kept"), "v2");
  storage_->erase("never-there");  // harmless
  EXPECT_EQ(get("kept"), "v2");
}

TEST_P(CacheStorageConformance, AnEntryExpiresAfterItsTtl) {
  const auto put_at = SteadyClock::now();
  storage_->put("short", "v", 1s);
  storage_->put("long", "w", 60s);
  ASSERT_TRUE(becomes("short", "v", 900ms));  // visible before it expires
  EXPECT_TRUE(goes("short", 3s));
  EXPECT_GE(SteadyClock::now() - put_at, 900ms);  // not before its time (Redis rounds to ms)
  EXPECT_EQ(get("long"), "w");                    // the TTL is per entry
}

TEST_P(CacheStorageConformance, AZeroTtlStoresNothing) {
  storage_->put("k", "v", 60s);
  ASSERT_TRUE(becomes("k", "v"));
  storage_->put("k", "new", 0s);  // expired on arrival: the old value goes too
  EXPECT_TRUE(goes("k"));
}

TEST_P(CacheStorageConformance, ValuesAndKeysAreBinarySafe) {
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte.push_back(static_cast<char>(b));
  const std::string framing = std::string("a\r\nb\0c\r\n\r\n$5\r\n*1\r\n", 19);
  std::string big(1u << 20, '\0');
  std::mt19937 rng(42);
  for (char& c : big) c = static_cast<char>(rng());
  const std::string binary_key = std::string("key\0\r\n\xff", 7);

  storage_->put("every-byte", every_byte, 60s);
  storage_->put("framing", framing, 60s);
  storage_->put("big", big, 60s);
  storage_->put(binary_key, "binary key", 60s);
  EXPECT_TRUE(becomes("every-byte", every_byte));
  EXPECT_TRUE(becomes("framing", framing));
  EXPECT_TRUE(becomes("big", big, 5s));
  EXPECT_TRUE(becomes(binary_key, "binary key"));
  EXPECT_EQ(get("key"), std::nullopt);  // the key does not stop at its NUL
}

TEST_P(CacheStorageConformance, KeysDifferingInOneByteAreSeparate) {
  const std::vector<std::string> keys = {"key-a", "key-b", "key-A", std::string("key-\0", 5),
                                         "key-",  "key-a "};
  for (std::size_t i = 0; i < keys.size(); ++i)
    storage_->put(keys[i], "value " + std::to_string(i), 60s);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_TRUE(becomes(keys[i], "value " + std::to_string(i))) << "key #" << i;
  }
  storage_->erase("key-a");
  EXPECT_TRUE(goes("key-a"));
  EXPECT_EQ(get("key-b"), "value 1");
  EXPECT_EQ(get("key-a "), "value 5");
}

// Two threads (two io_contexts, as the gateway's I/O threads) with many
// coroutines each: every key reads as nothing or as exactly what was put
// for it, and each coroutine's own put becomes visible to it.
TEST_P(CacheStorageConformance, ConcurrentGetsAndPutsStayConsistent) {
  constexpr int kThreads = 2;
  constexpr int kPerThread = 40;
  auto key_of = [](int t, int i) { return "conc-" + std::to_string(t) + "-" + std::to_string(i); };
  auto value_of = [](int t, int i) {
    return "value-" + std::to_string(t) + "-" + std::to_string(i) + ":" +
           std::string(static_cast<std::size_t>(i * 37), 'x');
  };
  std::atomic<int> wrong{0}, unseen{0}, finished{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      asio::io_context io;
      for (int i = 0; i < kPerThread; ++i) {
        asio::co_spawn(
            io,
            [&, t, i]() -> asio::awaitable<void> {
              const std::string key = key_of(t, i);
              const std::string value = value_of(t, i);
              storage_->put(key, value, 60s);
              const auto deadline = SteadyClock::now() + 5s;
              bool seen = false;
              while (!seen && SteadyClock::now() < deadline) {
                std::optional<std::string> got = co_await storage_->get(key);
                if (got == value) {
                  seen = true;
                } else {
                  if (got) ++wrong;
                  asio::steady_timer pause(io, 2ms);
                  co_await pause.async_wait(asio::use_awaitable);
                }
              }
              if (!seen) ++unseen;
              for (int j = 1; j <= 10; ++j) {  // others' keys, put or not yet put
                const int ot = (t + j) % kThreads;
                const int oi = (i + j * 7) % kPerThread;
                const std::string other = key_of(ot, oi);
                std::optional<std::string> got = co_await storage_->get(other);
                if (got && *got != value_of(ot, oi)) ++wrong;
              }
              ++finished;
            },
            asio::detached);
      }
      io.run_for(30s);  // every coroutine is bounded well below this
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(finished.load(), kThreads * kPerThread);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(unseen.load(), 0);
  EXPECT_EQ(storage_->stats().errors, 0u);
}

TEST_P(CacheStorageConformance, StatsCountHitsAndMisses) {
  const CacheStats s0 = storage_->stats();
  EXPECT_EQ(get("absent"), std::nullopt);
  const CacheStats s1 = storage_->stats();
  EXPECT_EQ(s1.misses, s0.misses + 1);
  EXPECT_EQ(s1.hits, s0.hits);
  storage_->put("k", "v", 60s);
  ASSERT_TRUE(becomes("k", "v"));  // polling moves the counters: start again from here
  const CacheStats s2 = storage_->stats();
  EXPECT_EQ(get("k"), "v");
  EXPECT_EQ(get("k"), "v");
  const CacheStats s3 = storage_->stats();
  EXPECT_EQ(s3.hits, s2.hits + 2);
  EXPECT_EQ(s3.misses, s2.misses);
  EXPECT_EQ(s3.errors, 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, CacheStorageConformance, ::testing::Values("memory", "redis"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace spectra::ai
