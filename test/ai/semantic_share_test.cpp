// The fleet's semantic index: entries one gateway indexes reach the others
// (and a restarted one) through a real redis-server; records that do not
// decode are skipped and counted.
#include "ai/semantic_share.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "cache_test_util.h"
#include "redis_server.h"

namespace spectra::ai {
namespace {

using namespace std::chrono_literals;
using spectra::testing::RedisServer;

// A unit vector pointing mostly along axis `axis` of `dims`.
std::vector<float> unit(std::size_t dims, std::size_t axis) {
  std::vector<float> v(dims, 0.01f);
  v[axis] = 1.0f;
  double n = 0;
  for (float x : v) n += static_cast<double>(x) * x;
  for (float& x : v) x = static_cast<float>(x / std::sqrt(n));
  return v;
}

SemanticShare::Options manual(std::size_t catch_up = 20'000) {
  SemanticShare::Options o;
  o.interval = 1h;  // only the start-up sync runs by itself; the test syncs by hand
  o.catch_up = catch_up;
  return o;
}

TEST(SemanticRecord, RoundTripsAndRefusesWhatIsNotOne) {
  SemanticRecord r{"inst", "embedder\npartition:with:colons", "key", unit(8, 3)};
  std::string bytes = encode_semantic_record(r);
  auto back = decode_semantic_record(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->instance, r.instance);
  EXPECT_EQ(back->partition, r.partition);
  EXPECT_EQ(back->key, r.key);
  EXPECT_EQ(back->vector, r.vector);

  EXPECT_FALSE(decode_semantic_record(""));
  EXPECT_FALSE(decode_semantic_record("s2 " + bytes.substr(3)));                // another version
  EXPECT_FALSE(decode_semantic_record(bytes.substr(0, bytes.size() - 1)));      // not whole floats
  EXPECT_FALSE(decode_semantic_record(bytes.substr(0, 12)));                    // cut in a field
  EXPECT_FALSE(decode_semantic_record(encode_semantic_record({"i", "p", "k", {}})));  // no vector
  EXPECT_FALSE(decode_semantic_record(encode_semantic_record({"i", "", "k", unit(4, 0)})));
  EXPECT_FALSE(decode_semantic_record(encode_semantic_record({"i", "p", "", unit(4, 0)})));
  EXPECT_FALSE(decode_semantic_record(encode_semantic_record({"i", "p", "k", {2.0f, 0.0f}})));  // not unit
  EXPECT_FALSE(decode_semantic_record(
      encode_semantic_record({"i", "p", "k", {std::numeric_limits<float>::quiet_NaN(), 1.0f}})));
  EXPECT_FALSE(decode_semantic_record(encode_semantic_record({"i", "p", "k", unit(4097, 0)})));
  EXPECT_TRUE(decode_semantic_record(encode_semantic_record({"i", "p", "k", unit(4096, 0)})));
  EXPECT_FALSE(decode_semantic_record("s1 99999999:x"));  // a length beyond the record
  EXPECT_FALSE(decode_semantic_record("s1 -1:x"));
}

// What one instance indexes, the others find after a sync; its own records
// are not indexed twice; a late starter catches up on the newest entries.
TEST(SemanticShare, EntriesReachTheOtherInstancesAndALateStarter) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  auto index_a = std::make_shared<SemanticIndex>();
  auto index_b = std::make_shared<SemanticIndex>();
  SemanticShare a(test::redis_storage_for(redis), index_a, manual());
  SemanticShare b(test::redis_storage_for(redis), index_b, manual());
  EXPECT_NE(a.instance(), b.instance());

  const auto v = unit(16, 2);
  a.publish("part", v, "answer-1", 60s);
  ASSERT_TRUE(a.sync());
  EXPECT_EQ(a.stats().published, 1u);
  EXPECT_EQ(a.stats().received, 0u);  // its own record is not indexed again
  EXPECT_FALSE(index_a->nearest("part", v));
  ASSERT_TRUE(b.sync());
  EXPECT_EQ(b.stats().received, 1u);
  auto hit = index_b->nearest("part", v);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->first, "answer-1");
  EXPECT_GT(hit->second, 0.999f);
  EXPECT_FALSE(index_b->nearest("other-part", v));  // partitions stay apart
  // The entry expires with the answer it points to.
  EXPECT_EQ(redis.command({"TTL", "spectra:ai:sem:1"}).substr(0, 1), ":");
  EXPECT_NE(redis.command({"TTL", "spectra:ai:sem:1"}), ":-1\r\n");

  // A second entry, and an instance that starts after both (a restart):
  // its start-up sync reads the newest `catch_up` of them.
  b.publish("part", unit(16, 5), "answer-2", 60s);
  ASSERT_TRUE(b.sync());
  auto index_c = std::make_shared<SemanticIndex>();
  SemanticShare c(test::redis_storage_for(redis), index_c, manual(/*catch_up=*/1));
  ASSERT_TRUE(c.sync());
  EXPECT_EQ(c.stats().received, 1u);
  auto newest = index_c->nearest("part", unit(16, 5));
  ASSERT_TRUE(newest);
  EXPECT_EQ(newest->first, "answer-2");
  EXPECT_LT(index_c->nearest("part", v)->second, 0.9f);  // answer-1 was before the catch-up window
  ASSERT_TRUE(a.sync());
  EXPECT_EQ(a.stats().received, 1u);
  EXPECT_EQ(index_a->nearest("part", unit(16, 5))->first, "answer-2");
}

// A record some other writer left under the same numbering is skipped and
// counted; an entry that expired is skipped; neither stops the reading.
TEST(SemanticShare, ForeignRecordsAreSkippedAndCounted) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  auto index = std::make_shared<SemanticIndex>();
  SemanticShare reader(test::redis_storage_for(redis), index, manual());
  ASSERT_TRUE(reader.sync());
  ASSERT_EQ(redis.command({"SET", "spectra:ai:sem:1", "not a record"}), "+OK\r\n");
  ASSERT_EQ(redis.command({"SET", "spectra:ai:sem:2", "s1 1:x1:p1:k" + std::string(8, '\xff')}), "+OK\r\n");
  // 3 never written (expired); 4 a good record of another instance.
  std::string good = encode_semantic_record({"elsewhere", "part", "answer", unit(8, 1)});
  ASSERT_EQ(redis.command({"SET", "spectra:ai:sem:4", good}), "+OK\r\n");
  ASSERT_EQ(redis.command({"SET", "spectra:ai:sem:seq", "4"}), "+OK\r\n");
  ASSERT_TRUE(reader.sync());
  EXPECT_EQ(reader.stats().rejected, 2u);
  EXPECT_EQ(reader.stats().received, 1u);
  ASSERT_TRUE(index->nearest("part", unit(8, 1)));
  EXPECT_EQ(index->nearest("part", unit(8, 1))->first, "answer");
}

// Redis down: publishing fails and is counted, the sync says so, and
// nothing waits longer than the backend's timeout.
TEST(SemanticShare, ARedisThatIsDownFailsTheSyncOnly) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  auto index = std::make_shared<SemanticIndex>();
  SemanticShare a(test::redis_storage_for(redis), index, manual());
  redis.stop();
  a.publish("part", unit(8, 0), "k", 60s);
  EXPECT_FALSE(a.sync());
  EXPECT_EQ(a.stats().published, 0u);
  EXPECT_EQ(a.stats().dropped, 1u);
}

}  // namespace
}  // namespace spectra::ai
