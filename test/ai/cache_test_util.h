#pragma once
// Helpers shared by the cache storage tests (conformance suite and the Redis
// backend's own tests).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <thread>

#include "ai/cache_storage.h"
#include "ai/redis_cache_storage.h"
#include "redis_server.h"

namespace spectra::ai::test {

// get() from a test thread: runs it on a private io_context, bounded.
inline std::optional<std::string> get_now(CacheStorage& s, const std::string& key) {
  using namespace std::chrono_literals;
  boost::asio::io_context io;
  auto result = boost::asio::co_spawn(io, s.get(key), boost::asio::use_future);
  io.run_for(10s);
  if (result.wait_for(0s) != std::future_status::ready) {
    ADD_FAILURE() << "get() did not complete within 10 s";
    return std::nullopt;
  }
  return result.get();
}

// A Redis backend on `redis` (1 s timeout), shared as the gateway holds it.
inline std::shared_ptr<CacheStorage> redis_storage_for(const spectra::testing::RedisServer& redis) {
  RedisCacheOptions o;
  o.url = redis.url();
  o.timeout = std::chrono::seconds(1);
  auto s = make_redis_cache_storage(std::move(o));
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  return s.ok() ? std::shared_ptr<CacheStorage>(std::move(*s)) : nullptr;
}

// Polls `cond` until it holds or `within` passes.
inline bool eventually(const std::function<bool()>& cond,
                       std::chrono::milliseconds within = std::chrono::seconds(3)) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return cond();
}

}  // namespace spectra::ai::test
