// Unit tests of the gateway's parts: cache storage (TTL, LRU eviction under
// a byte budget), limits (RPM, TPM, budget), audit rotation, the request
// parser, and the whole<->stream conversion.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <list>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "ai/anthropic_beta.h"
#include "ai/audit_log.h"
#include "ai/cache_storage.h"
#include "ai/chat_request.h"
#include "ai/endpoint_walk.h"
#include "ai/exact_cache.h"
#include "ai/health_prober.h"
#include "ai/limits.h"
#include "ai/messages_dialect.h"
#include "ai/metering.h"
#include "ai/openai_adapter.h"
#include "ai/response_owners.h"
#include "ai/responses_replay.h"
#include "ai/stream_codec.h"
#include "ai/upstream_client.h"
#include "ai/upstream_health.h"
#include "scratch_dir.h"

namespace spectra::ai {
namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;

TEST(MemoryCacheStorage, TtlAndLruEvictionUnderTheByteBudget) {
  FakeClock clock;
  MemoryCacheStorage cache(10 * 1024, &clock, /*shards=*/1);
  std::string kb(1000, 'x');
  for (int i = 0; i < 9; ++i) cache.put("k" + std::to_string(i), kb, 60s);
  ASSERT_TRUE(cache.lookup("k0").has_value());  // k0 is now the most recent
  for (int i = 9; i < 12; ++i) cache.put("k" + std::to_string(i), kb, 60s);
  auto st = cache.stats();
  EXPECT_LE(st.bytes, 10u * 1024);
  EXPECT_GT(st.evictions, 0u);
  EXPECT_TRUE(cache.lookup("k0").has_value());   // recently used: kept
  EXPECT_FALSE(cache.lookup("k1").has_value());  // least recently used: evicted
  EXPECT_TRUE(cache.lookup("k11").has_value());
  clock.advance(61s);
  EXPECT_FALSE(cache.lookup("k11").has_value());  // expired
  EXPECT_GT(cache.stats().expirations, 0u);
  cache.put("huge", std::string(20 * 1024, 'y'), 60s);  // larger than the budget: not stored
  EXPECT_FALSE(cache.lookup("huge").has_value());
}

// The index and the LRU list against a plain model, through many random
// puts, lookups, erases and expiries over a small key space (so slots are
// reused, probe runs collide and deletions shift entries back), and the
// index growing from empty; one shard, so the LRU order is the model's.
TEST(MemoryCacheStorage, AgreesWithAPlainModelThroughRandomOperations) {
  FakeClock clock;
  constexpr std::uint64_t kBudget = 64 * 1024;
  MemoryCacheStorage cache(kBudget, &clock, /*shards=*/1);
  struct Kept {
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };
  std::list<std::string> order;  // most recent first
  std::map<std::string, Kept> model;
  std::uint64_t bytes = 0;
  auto cost = [](const std::string& k, const std::string& v) { return k.size() + v.size() + 96; };
  auto forget = [&](const std::string& k) {
    auto it = model.find(k);
    if (it == model.end()) return;
    bytes -= cost(k, it->second.value);
    model.erase(it);
    order.remove(k);
  };
  std::mt19937 rng(20261128);
  for (int step = 0; step < 40'000; ++step) {
    const std::string key = "key-" + std::to_string(rng() % 300);
    const unsigned op = rng() % 10;
    if (op < 4) {
      std::string value(rng() % 700, static_cast<char>('a' + step % 26));
      const auto ttl = std::chrono::seconds(1 + rng() % 50);
      cache.put(key, value, ttl);
      forget(key);
      model[key] = {value, clock.steady_now() + ttl};
      order.push_front(key);
      bytes += cost(key, value);
      while (bytes > kBudget) forget(order.back());
    } else if (op < 8) {
      auto got = cache.lookup(key);
      auto it = model.find(key);
      const bool live = it != model.end() && clock.steady_now() < it->second.expires;
      if (it != model.end() && !live) forget(key);
      ASSERT_EQ(got.has_value(), live) << "step " << step << " " << key;
      if (live) {
        ASSERT_EQ(*got, it->second.value) << "step " << step;
        order.remove(key);
        order.push_front(key);
      }
    } else if (op < 9) {
      cache.erase(key);
      forget(key);
    } else {
      clock.advance(std::chrono::seconds(rng() % 3));
    }
    ASSERT_EQ(cache.stats().bytes, bytes) << "step " << step;
    ASSERT_EQ(cache.stats().entries, model.size()) << "step " << step;
  }
  cache.set_max_bytes(4 * 1024);  // eviction from the oldest end, at once
  while (bytes > 4 * 1024) forget(order.back());
  EXPECT_EQ(cache.stats().entries, model.size());
  for (const auto& k : order) {
    const bool live = clock.steady_now() < model.at(k).expires;
    EXPECT_EQ(cache.lookup(k).has_value(), live) << k;
  }
}

TEST(MemoryCacheStorage, ABudgetChangeEvictsAtOnceAndZeroStoresNothing) {
  FakeClock clock;
  MemoryCacheStorage cache(100 * 1024, &clock, /*shards=*/1);
  std::string kb(1000, 'x');
  for (int i = 0; i < 50; ++i) cache.put("k" + std::to_string(i), kb, 60s);
  EXPECT_EQ(cache.stats().entries, 50u);
  cache.set_max_bytes(10 * 1024);  // ai.cache.max_bytes lowered at run time
  auto st = cache.stats();
  EXPECT_LE(st.bytes, 10u * 1024);
  EXPECT_GE(st.entries, 5u);
  EXPECT_TRUE(cache.lookup("k49").has_value());  // the most recent survive
  EXPECT_FALSE(cache.lookup("k0").has_value());
  cache.set_max_bytes(0);
  EXPECT_EQ(cache.stats().entries, 0u);
  cache.put("k", kb, 60s);
  EXPECT_FALSE(cache.lookup("k").has_value());
  cache.set_max_bytes(1 << 20);
  cache.put("k", kb, 60s);
  EXPECT_TRUE(cache.lookup("k").has_value());
}

// A peek says what is left without taking any of it, and keeps nothing
// for a key it has not seen.
TEST(Limiter, APeekTakesNothing) {
  FakeClock clock;
  Limiter l(&clock);
  LimitVerdict unseen = l.peek("q", 4, 100);
  EXPECT_EQ(unseen.requests.remaining, 4);
  EXPECT_EQ(unseen.tokens.remaining, 100);
  EXPECT_EQ(l.buckets(), 0u);
  ASSERT_TRUE(l.admit("q", 4, 100, 0, 0).allowed);
  l.charge_tokens("q", 100, 60);
  for (int i = 0; i < 3; ++i) {
    LimitVerdict v = l.peek("q", 4, 100);
    EXPECT_EQ(v.requests.remaining, 3);
    EXPECT_EQ(v.tokens.remaining, 40);
    EXPECT_EQ(v.requests.reset.count(), 15'000) << "one request's refill";
  }
  clock.advance(std::chrono::seconds(15));
  EXPECT_EQ(l.peek("q", 4, 100).requests.remaining, 4);
  EXPECT_EQ(l.peek("q", 4, 100).tokens.remaining, 65);
  EXPECT_EQ(l.admit("q", 4, 100, 0, 0).requests.remaining, 3) << "the peeks took nothing";
}

TEST(Limiter, RequestsTokensAndBudget) {
  FakeClock clock;
  Limiter l(&clock);
  EXPECT_TRUE(l.admit("k", 0, 1000, 0, 0).allowed);
  l.charge_tokens("k", 1000, 1500);  // overdraw the minute's tokens
  auto tpm = l.admit("k", 0, 1000, 0, 0);
  EXPECT_FALSE(tpm.allowed);
  EXPECT_EQ(tpm.limit, "tpm");
  EXPECT_NE(tpm.message.find("tpm 1000"), std::string::npos);
  EXPECT_GT(tpm.retry_after_seconds, 0);
  clock.advance(29s);  // +483 tokens: still below zero
  EXPECT_FALSE(l.admit("k", 0, 1000, 0, 0).allowed);
  clock.advance(2s);  // +33: positive again
  EXPECT_TRUE(l.admit("k", 0, 1000, 0, 0).allowed);
  auto budget = l.admit("b", 0, 0, 5.0, 5.01);
  EXPECT_FALSE(budget.allowed);
  EXPECT_EQ(budget.limit, "budget");
  EXPECT_TRUE(l.admit("b", 0, 0, 5.0, 4.99).allowed);
  // Keys do not share buckets.
  EXPECT_TRUE(l.admit("other", 1, 0, 0, 0).allowed);
  EXPECT_FALSE(l.admit("other", 1, 0, 0, 0).allowed);
  EXPECT_TRUE(l.admit("third", 1, 0, 0, 0).allowed);
}

// Keys without a bound (end users) cost memory only while limited: once
// the buckets double, those refilled to full are forgotten; one still
// limited is kept and still limits.
TEST(Limiter, ForgetsBucketsThatHaveRefilled) {
  FakeClock clock;
  Limiter l(&clock);
  EXPECT_TRUE(l.admit("limited", 1, 0, 0, 0).allowed);  // its one request a minute, taken
  l.charge_tokens("overdrawn", 100, 1000);                // ten minutes' tokens
  for (int i = 0; i < 1500; ++i) EXPECT_TRUE(l.admit("user-" + std::to_string(i), 60, 0, 0, 0).allowed);
  EXPECT_GE(l.buckets(), 1024u) << "not swept before its first threshold";
  clock.advance(2s);  // users refilled (1 a second); "limited" has 1/30 of its request back
  EXPECT_TRUE(l.admit("one-more", 60, 0, 0, 0).allowed);
  for (int i = 0; i < 600; ++i) l.admit("later-" + std::to_string(i), 60, 0, 0, 0);  // pass the doubled threshold
  clock.advance(2s);
  EXPECT_TRUE(l.admit("trigger", 60, 0, 0, 0).allowed);
  EXPECT_LT(l.buckets(), 1024u) << "refilled users forgotten";
  EXPECT_FALSE(l.admit("limited", 1, 0, 0, 0).allowed) << "kept: still limited";
  EXPECT_FALSE(l.admit("overdrawn", 0, 100, 0, 0).allowed) << "kept: still overdrawn";
}

// A UTC time from its calendar parts, for the budget period tests.
std::chrono::system_clock::time_point utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
  using namespace std::chrono;
  return sys_days(year(y) / month(mo) / day(d)) + hours(h) + minutes(mi);
}

TEST(BudgetPeriod, CalendarPeriodsInUtc) {
  using P = BudgetPeriod;
  const auto fri = utc(2026, 11, 27, 15, 30);
  EXPECT_EQ(budget_period_at(P::kDaily, fri).id, "d2026-11-27");
  EXPECT_EQ(budget_period_at(P::kDaily, fri).end, utc(2026, 11, 28));
  EXPECT_EQ(budget_period_at(P::kWeekly, fri).id, "w2026-11-23");  // its Monday
  EXPECT_EQ(budget_period_at(P::kWeekly, fri).end, utc(2026, 11, 30));
  EXPECT_EQ(budget_period_at(P::kMonthly, fri).id, "m2026-11");
  EXPECT_EQ(budget_period_at(P::kMonthly, fri).end, utc(2026, 12, 1));
  EXPECT_EQ(budget_period_at(P::kTotal, fri).id, "");
  EXPECT_EQ(budget_period_at(P::kTotal, fri).end, std::chrono::system_clock::time_point::max());
  // Edges: Sunday night and Monday midnight, a year's end, a leap day.
  EXPECT_EQ(budget_period_at(P::kWeekly, utc(2026, 11, 29, 23, 59)).id, "w2026-11-23");
  EXPECT_EQ(budget_period_at(P::kWeekly, utc(2026, 11, 30)).id, "w2026-11-30");
  EXPECT_EQ(budget_period_at(P::kWeekly, utc(2027, 1, 1)).id, "w2026-12-28");
  EXPECT_EQ(budget_period_at(P::kMonthly, utc(2026, 12, 31, 23, 59)).end, utc(2027, 1, 1));
  EXPECT_EQ(budget_period_at(P::kDaily, utc(2028, 2, 29, 12)).id, "d2028-02-29");
  EXPECT_EQ(budget_period_at(P::kDaily, utc(2028, 2, 29, 12)).end, utc(2028, 3, 1));
  EXPECT_EQ(parse_budget_period("monthly"), P::kMonthly);
  EXPECT_EQ(parse_budget_period("total"), P::kTotal);
  EXPECT_FALSE(parse_budget_period("yearly").has_value());
}

// Provider prompt caches bill reads and writes apart from other input:
// each at its own price (the input price when the table has none), and the
// meter counts writes, keeps them across a restart and exports them.
TEST(Meter, PromptCacheReadsAndWritesAtTheirOwnPrices) {
  const Usage u{.prompt_tokens = 10'000, .completion_tokens = 1'000, .cached_prompt_tokens = 6'000,
                .cache_write_tokens = 3'000, .reported = true};
  const Price claude{.input_per_mtok = 3, .output_per_mtok = 15, .cached_input_per_mtok = 0.3, .cache_write_per_mtok = 3.75};
  EXPECT_DOUBLE_EQ(cost_of(u, claude), (1'000 * 3 + 6'000 * 0.3 + 3'000 * 3.75 + 1'000 * 15) / 1e6);
  const Price flat{.input_per_mtok = 3, .output_per_mtok = 15, .cached_input_per_mtok = 3, .cache_write_per_mtok = 3};
  EXPECT_DOUBLE_EQ(cost_of(u, flat), (10'000 * 3 + 1'000 * 15) / 1e6);
  // Counts a provider got wrong never make a negative share.
  const Usage odd{.prompt_tokens = 100, .completion_tokens = 0, .cached_prompt_tokens = 80, .cache_write_tokens = 50, .reported = true};
  EXPECT_DOUBLE_EQ(cost_of(odd, claude), (80 * 0.3 + 20 * 3.75) / 1e6);

  metrics::Registry registry;
  Meter meter(&registry);
  meter.record("k", "aws", "claude", u, cost_of(u, claude));
  EXPECT_EQ(meter.totals("k", "aws", "claude").cache_write_tokens, 3'000);
  EXPECT_NE(registry.render().find("spectra_ai_cache_write_prompt_tokens_total{key=\"k\",provider=\"aws\",model=\"claude\",result=\"upstream\"} 3000"),
            std::string::npos) << registry.render();
  Meter restarted(nullptr);
  restarted.restore(meter.state());
  EXPECT_EQ(restarted.totals("k", "aws", "claude").cache_write_tokens, 3'000);
  EXPECT_EQ(restarted.snapshot().at(0).at("cache_write_tokens"), 3'000);

  // The price table: unset cache prices are the input price.
  auto cfg = make_gateway_config(bj::parse(R"({"enabled":true,"prices":[
      {"model":"aws/claude","input_per_mtok_usd":3,"output_per_mtok_usd":15,"cached_input_per_mtok_usd":0.3,"cache_write_per_mtok_usd":3.75},
      {"model":"gpt","input_per_mtok_usd":2,"output_per_mtok_usd":8}]})").as_object());
  ASSERT_NE(cfg->price("aws", "claude"), nullptr);
  EXPECT_EQ(cfg->price("aws", "claude")->cache_write_per_mtok, 3.75);
  EXPECT_EQ(cfg->price("openai", "gpt")->cached_input_per_mtok, 2);
  EXPECT_EQ(cfg->price("openai", "gpt")->cache_write_per_mtok, 2);
}

// A profile's id names no model: base_models says what it runs, which the
// adapters read from the target; its price is the base model's unless it
// has its own.
TEST(GatewayConfig, BaseModelsGiveTargetsAndPrices) {
  auto cfg = make_gateway_config(bj::parse(R"({"enabled":true,
      "providers":[{"name":"aws","kind":"bedrock","region":"us-east-1","base_models":[
          {"model":"arn:p/team-a","base_model":"anthropic.claude-opus-4-7-v1:0"},
          {"model":"arn:p/team-b","base_model":"anthropic.claude-opus-4-7-v1:0"},
          {"model":"arn:p/team-c","base_model":"amazon.nova-pro-v1:0"}]}],
      "prices":[{"model":"aws/anthropic.claude-opus-4-7-v1:0","input_per_mtok_usd":5,"output_per_mtok_usd":25},
                {"model":"aws/arn:p/team-b","input_per_mtok_usd":4,"output_per_mtok_usd":20}]})").as_object());
  const ProviderConfig& aws = cfg->providers.at("aws");
  const ModelTarget t = aws.target("arn:p/team-a", "http://127.0.0.1:1");
  EXPECT_EQ(t.model, "arn:p/team-a");
  EXPECT_EQ(t.base(), "anthropic.claude-opus-4-7-v1:0");
  EXPECT_EQ(t.base_url, "http://127.0.0.1:1");
  EXPECT_EQ(t.region, "us-east-1");
  EXPECT_EQ(aws.target("anthropic.claude-3-haiku", "").base(), "anthropic.claude-3-haiku");
  ASSERT_NE(cfg->price("aws", "arn:p/team-a"), nullptr);
  EXPECT_EQ(cfg->price("aws", "arn:p/team-a")->input_per_mtok, 5);
  EXPECT_EQ(cfg->price("aws", "arn:p/team-b")->input_per_mtok, 4) << "its own price first";
  EXPECT_EQ(cfg->price("aws", "arn:p/team-c"), nullptr) << "nova-pro has no price";
  EXPECT_EQ(cfg->price("other", "arn:p/team-a"), nullptr);
}

TEST(GatewayConfig, BetaFlagsAreListedPerModelOrPerBaseModel) {
  auto cfg = make_gateway_config(bj::parse(R"({"enabled":true,
      "providers":[{"name":"aws","kind":"bedrock","region":"us-east-1",
          "base_models":[{"model":"arn:p/team-a","base_model":"anthropic.claude-sonnet-4-5-v1:0"},
                         {"model":"arn:p/team-b","base_model":"anthropic.claude-sonnet-4-5-v1:0"}],
          "anthropic_betas":[{"model":"anthropic.claude-sonnet-4-5-v1:0",
                              "betas":["context-1m-2025-08-07","interleaved-thinking-2025-05-14"]},
                             {"model":"arn:p/team-b","betas":["interleaved-thinking-2025-05-14"]}]}]})").as_object());
  const ProviderConfig& aws = cfg->providers.at("aws");
  const std::vector<std::string> both = {"context-1m-2025-08-07", "interleaved-thinking-2025-05-14"};
  EXPECT_EQ(aws.target("anthropic.claude-sonnet-4-5-v1:0", "").anthropic_betas, both);
  EXPECT_EQ(aws.target("arn:p/team-a", "").anthropic_betas, both) << "a profile has its base model's list";
  EXPECT_EQ(aws.target("arn:p/team-b", "").anthropic_betas, std::vector<std::string>{"interleaved-thinking-2025-05-14"})
      << "its own list first";
  EXPECT_TRUE(aws.target("anthropic.claude-haiku-4-5-v1:0", "").anthropic_betas.empty());
}

TEST(GatewayConfig, ThinkingKwargsAreNamedPerModelOrPerBaseModel) {
  auto cfg = make_gateway_config(bj::parse(R"({"enabled":true,
      "providers":[{"name":"local","kind":"vllm","endpoints":["http://127.0.0.1:1/v1"],
          "base_models":[{"model":"team-chat","base_model":"Qwen/Qwen3-32B"}],
          "thinking_kwargs":[{"model":"Qwen/Qwen3-32B","kwarg":"enable_thinking"},
                             {"model":"deepseek-v3.1","kwarg":"thinking"}]}]})").as_object());
  const ProviderConfig& local = cfg->providers.at("local");
  ASSERT_NE(local.thinking_kwarg("Qwen/Qwen3-32B"), nullptr);
  EXPECT_EQ(*local.thinking_kwarg("Qwen/Qwen3-32B"), "enable_thinking");
  ASSERT_NE(local.thinking_kwarg("team-chat"), nullptr) << "a deployment's name has its base model's keyword";
  EXPECT_EQ(*local.thinking_kwarg("team-chat"), "enable_thinking");
  EXPECT_EQ(*local.thinking_kwarg("deepseek-v3.1"), "thinking");
  EXPECT_EQ(local.thinking_kwarg("llama-3"), nullptr);
}

TEST(GatewayConfig, QuotasAreCountedPerModelOrPerBaseModel) {
  auto cfg = make_gateway_config(bj::parse(R"({"enabled":true,
      "providers":[{"name":"aws","kind":"bedrock","region":"us-east-1",
          "base_models":[{"model":"arn:p/team-a","base_model":"anthropic.claude-sonnet-4-5-v1:0"},
                         {"model":"arn:p/team-b","base_model":"anthropic.claude-sonnet-4-5-v1:0"}],
          "quotas":[{"model":"anthropic.claude-sonnet-4-5-v1:0","rpm":200,"tpm":2000000},
                    {"model":"arn:p/team-b","rpm":20}]}]})").as_object());
  const ProviderConfig& aws = cfg->providers.at("aws");
  const auto* sonnet = aws.quota("anthropic.claude-sonnet-4-5-v1:0");
  ASSERT_NE(sonnet, nullptr);
  EXPECT_EQ(sonnet->bucket, "quota:aws/anthropic.claude-sonnet-4-5-v1:0");
  EXPECT_EQ(sonnet->rpm, 200);
  EXPECT_EQ(sonnet->tpm, 2000000);
  EXPECT_EQ(aws.quota("arn:p/team-a"), sonnet) << "a profile counts against its base model's quota";
  ASSERT_NE(aws.quota("arn:p/team-b"), nullptr);
  EXPECT_EQ(aws.quota("arn:p/team-b")->bucket, "quota:aws/arn:p/team-b") << "its own quota first";
  EXPECT_EQ(aws.quota("anthropic.claude-haiku-4-5-v1:0"), nullptr);
}

TEST(GatewayConfig, GuardrailUnitsCostWhatTheirPoliciesArePriced) {
  auto cfg = make_gateway_config(bj::parse(R"({"enabled":true,
      "providers":[{"name":"guarded","kind":"bedrock","region":"us-east-1",
                    "guardrail":{"id":"gr1abc","version":"1","prices":[{"policy":"contentPolicy","per_1k_units_usd":0.15},
                                                                        {"policy":"sensitiveInformationPolicy","per_1k_units_usd":0.1}]}},
                   {"name":"plain","kind":"bedrock","region":"us-east-1","guardrail":{"id":"gr1abc","version":"1"}}]})").as_object());
  Usage u;
  u.guardrail_policy_units = {{"contentPolicy", 3}, {"wordPolicy", 5}, {"sensitiveInformationPolicy", 2}};
  const auto cost = cfg->providers.at("guarded").guardrail_cost(u);
  ASSERT_TRUE(cost.has_value());
  EXPECT_DOUBLE_EQ(*cost, (3 * 0.15 + 2 * 0.1) / 1000) << "word filters unpriced: free";
  EXPECT_FALSE(cfg->providers.at("plain").guardrail_cost(u).has_value()) << "no prices: no cost said";
  u.guardrail_policy_units = {{"wordPolicy", 5}};
  EXPECT_FALSE(cfg->providers.at("guarded").guardrail_cost(u).has_value()) << "none of its units priced";
}

TEST(GatewayConfig, BalancedRoutesTakeTurnsByWeight) {
  auto cfg = make_gateway_config(bj::parse(R"({"enabled":true,
      "providers":[{"name":"east","kind":"openai"},{"name":"west","kind":"openai"},{"name":"north","kind":"openai"}],
      "routes":[{"alias":"b","target":"east/m","weight":3,"balance":[{"target":"west/m"}],"fallbacks":["north/m"]},
                {"alias":"three","target":"east/m","weight":2,"balance":[{"target":"west/m","weight":2},{"target":"north/m"}]},
                {"alias":"ab","target":"east/m","balance":[{"target":"west/other"}]},
                {"alias":"plain","target":"east/m","fallbacks":["west/m"]}]})").as_object());
  const RouteConfig& b = cfg->routes.at("b");
  const std::vector<std::string> east_first = {"east/m", "west/m", "north/m"}, west_first = {"west/m", "east/m", "north/m"};
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(b.next_targets(), east_first);
    EXPECT_EQ(b.next_targets(), east_first);
    EXPECT_EQ(b.next_targets(), west_first) << "the other first, then the rest in order, then the fallbacks";
    EXPECT_EQ(b.next_targets(), east_first);
  }
  std::map<std::string, int> firsts;
  const RouteConfig& three = cfg->routes.at("three");
  std::string previous;
  for (int i = 0; i < 50; ++i) {
    auto t = three.next_targets();
    ASSERT_EQ(t.size(), 3u);
    EXPECT_EQ(std::set<std::string>(t.begin(), t.end()).size(), 3u);
    if (previous == "north/m") {
      EXPECT_NE(t.front(), "north/m") << "the lightest never twice in a row";
    }
    previous = t.front();
    ++firsts[t.front()];
  }
  EXPECT_EQ(firsts["east/m"], 20);
  EXPECT_EQ(firsts["west/m"], 20);
  EXPECT_EQ(firsts["north/m"], 10);
  EXPECT_TRUE(b.one_model);
  EXPECT_FALSE(cfg->routes.at("ab").one_model) << "two models: each keeps its own cache entries";
  const std::vector<std::string> plain = {"east/m", "west/m"};
  EXPECT_EQ(cfg->routes.at("plain").next_targets(), plain);
  EXPECT_EQ(cfg->routes.at("plain").next_targets(), plain);

  // Many threads at once: the proportions hold exactly over whole periods.
  std::atomic<int> east{0}, west{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) (b.next_targets().front() == "east/m" ? east : west).fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(east.load(), 3000);
  EXPECT_EQ(west.load(), 1000);
}

TEST(GatewayConfig, AGuardrailScopesItsProvidersCacheAndSplitsABalance) {
  auto cfg = make_gateway_config(bj::parse(R"({"enabled":true,
      "providers":[{"name":"aws","kind":"bedrock","region":"us-east-1","guardrail":{"id":"gr1abc","version":"2"}},
                   {"name":"aws-2","kind":"bedrock","region":"us-west-2","guardrail":{"id":"gr1abc","version":"2"}},
                   {"name":"open","kind":"bedrock","region":"us-west-2"}],
      "routes":[{"alias":"same","target":"aws/m","balance":[{"target":"aws-2/m"}]},
                {"alias":"unguarded","target":"aws/m","balance":[{"target":"open/m"}]}]})").as_object());
  const ProviderConfig& aws = cfg->providers.at("aws");
  EXPECT_EQ(aws.target("m", "").guardrail.id, "gr1abc");
  EXPECT_EQ(aws.target("m", "").guardrail.stream_mode, "sync");
  EXPECT_EQ(aws.cache_scope(), "aws+guardrail:gr1abc:2");
  EXPECT_EQ(cfg->providers.at("open").cache_scope(), "open");
  EXPECT_TRUE(cfg->providers.at("open").target("m", "").guardrail.id.empty());
  EXPECT_TRUE(cfg->routes.at("same").one_model);
  EXPECT_FALSE(cfg->routes.at("unguarded").one_model) << "an unguarded answer is not served under a guardrail";
}

TEST(AnthropicBeta, HeaderFlagsAreTokensOnceEachInOrder) {
  auto flags = anthropic_beta::from_header(" claude-code-20250219 ,interleaved-thinking-2025-05-14,,\t"
                                           "claude-code-20250219, context-1m-2025-08-07 ");
  ASSERT_TRUE(flags.ok()) << flags.status().to_string();
  EXPECT_EQ(bj::value(*flags),
            bj::parse(R"(["claude-code-20250219","interleaved-thinking-2025-05-14","context-1m-2025-08-07"])"));
  EXPECT_TRUE(anthropic_beta::from_header("")->empty());
  EXPECT_TRUE(anthropic_beta::from_header(" , ")->empty());
  EXPECT_FALSE(anthropic_beta::from_header("a b").ok());
  EXPECT_FALSE(anthropic_beta::from_header("ok,x:y").ok());
  EXPECT_FALSE(anthropic_beta::from_header(std::string(anthropic_beta::kMaxFlagBytes + 1, 'a')).ok());
  EXPECT_TRUE(anthropic_beta::from_header(std::string(anthropic_beta::kMaxFlagBytes, 'a')).ok());
  std::string many;
  for (std::size_t i = 0; i <= anthropic_beta::kMaxFlags; ++i) many += "f" + std::to_string(i) + ",";
  EXPECT_FALSE(anthropic_beta::from_header(many).ok());
  EXPECT_TRUE(anthropic_beta::from_header(many.substr(0, many.rfind(",f"))).ok());

  // The chat field: checked when the request is, with the param named.
  RequestError e;
  EXPECT_FALSE(parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"x"}],"anthropic_beta":"x"})", &e).ok());
  EXPECT_EQ(e.param, "anthropic_beta");
  EXPECT_FALSE(parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"x"}],"anthropic_beta":["a\nb"]})", &e).ok());
  EXPECT_EQ(e.param, "anthropic_beta");
  EXPECT_TRUE(parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"x"}],"anthropic_beta":["a-1"]})", &e).ok());
  EXPECT_EQ(anthropic_beta::header_value({"a", "b-2"}), "a,b-2");
}

// The meter keeps what each key spent in its life and in the current day,
// week and month; a new period starts at zero; state() survives a restart,
// and the usage array earlier versions persisted still restores.
TEST(Meter, SpendPerBudgetPeriodRollsAndPersists) {
  FakeClock clock;
  clock.advance(utc(2026, 11, 27, 22) - clock.system_now());  // Friday 22:00 UTC
  Meter m(nullptr, &clock);
  Usage u;
  u.prompt_tokens = 10;
  m.record("team", "remote", "gpt-4o", u, 1.0);
  m.record("other", "remote", "gpt-4o", u, 0.25);
  for (auto p : {BudgetPeriod::kTotal, BudgetPeriod::kDaily, BudgetPeriod::kWeekly, BudgetPeriod::kMonthly}) {
    EXPECT_DOUBLE_EQ(m.spent("team", p), 1.0) << to_string(p);
  }
  clock.advance(std::chrono::hours(3));  // Saturday 01:00
  EXPECT_DOUBLE_EQ(m.spent("team", BudgetPeriod::kDaily), 0.0);
  EXPECT_DOUBLE_EQ(m.spent("team", BudgetPeriod::kWeekly), 1.0);
  m.record("team", "remote", "gpt-4o", u, 2.0);
  EXPECT_DOUBLE_EQ(m.spent("team", BudgetPeriod::kDaily), 2.0);
  EXPECT_DOUBLE_EQ(m.spent("team", BudgetPeriod::kWeekly), 3.0);
  EXPECT_DOUBLE_EQ(m.spent("team", BudgetPeriod::kMonthly), 3.0);
  EXPECT_DOUBLE_EQ(m.spent("team", BudgetPeriod::kTotal), 3.0);

  Meter again(nullptr, &clock);
  again.restore(bj::parse(bj::serialize(m.state())));
  for (auto p : {BudgetPeriod::kTotal, BudgetPeriod::kDaily, BudgetPeriod::kWeekly, BudgetPeriod::kMonthly}) {
    EXPECT_DOUBLE_EQ(again.spent("team", p), m.spent("team", p)) << to_string(p);
  }
  EXPECT_EQ(again.totals("team", "remote", "gpt-4o").requests, 2);
  EXPECT_DOUBLE_EQ(again.spent("other", BudgetPeriod::kMonthly), 0.25);

  Meter old(nullptr, &clock);
  old.restore(m.snapshot());  // a bare usage array: totals, no periods
  EXPECT_DOUBLE_EQ(old.spent("team", BudgetPeriod::kTotal), 3.0);
  EXPECT_DOUBLE_EQ(old.spent("team", BudgetPeriod::kMonthly), 0.0);

  clock.advance(utc(2026, 12, 1, 0, 1) - clock.system_now());  // a new week and month
  EXPECT_DOUBLE_EQ(again.spent("team", BudgetPeriod::kWeekly), 0.0);
  EXPECT_DOUBLE_EQ(again.spent("team", BudgetPeriod::kMonthly), 0.0);
  EXPECT_DOUBLE_EQ(again.spent("team", BudgetPeriod::kTotal), 3.0);
}

TEST(Limiter, APeriodicBudgetNamesWhenItRenews) {
  FakeClock clock;
  clock.advance(utc(2026, 11, 27, 22) - clock.system_now());
  Limiter l(&clock);
  auto v = l.admit("team", 0, 0, 500, 500.5, BudgetPeriod::kMonthly);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.limit, "budget");
  EXPECT_EQ(v.message, "monthly budget of $500.00 for key 'team' is spent; it renews at 2026-12-01T00:00:00Z");
  EXPECT_EQ(v.retry_after_seconds, 3 * 86400 + 2 * 3600);
  auto d = l.admit("team", 0, 0, 5, 5, BudgetPeriod::kDaily);
  EXPECT_EQ(d.retry_after_seconds, 2 * 3600);
  EXPECT_TRUE(l.admit("team", 0, 0, 5, 4.99, BudgetPeriod::kDaily).allowed);
}

// Headroom for OpenAI's x-ratelimit-* headers: what is left after this
// request and how long until the bucket is whole, in OpenAI's duration
// format; only for the limits a key has; the tighter of two views.
TEST(Limiter, HeadroomAsOpenAiRateLimitHeaders) {
  FakeClock clock;
  Limiter l(&clock);
  auto header = [](const LimitVerdict& v, const std::string& name) {
    for (const auto& [n, value] : ratelimit_headers(v)) {
      if (n == name) return value;
    }
    return std::string("(none)");
  };
  auto first = l.admit("k", 4, 1000, 0, 0);
  EXPECT_EQ(header(first, "x-ratelimit-limit-requests"), "4");
  EXPECT_EQ(header(first, "x-ratelimit-remaining-requests"), "3");
  EXPECT_EQ(header(first, "x-ratelimit-reset-requests"), "15s");  // one of four per minute
  EXPECT_EQ(header(first, "x-ratelimit-limit-tokens"), "1000");
  EXPECT_EQ(header(first, "x-ratelimit-remaining-tokens"), "1000");
  EXPECT_EQ(header(first, "x-ratelimit-reset-tokens"), "0ms");
  l.charge_tokens("k", 1000, 1025);
  auto second = l.admit("k", 4, 1000, 0, 0);  // tokens overdrawn: refused, both reported
  EXPECT_FALSE(second.allowed);
  EXPECT_EQ(header(second, "x-ratelimit-remaining-tokens"), "0");
  EXPECT_EQ(header(second, "x-ratelimit-reset-tokens"), "1m1.5s");
  EXPECT_EQ(header(second, "x-ratelimit-remaining-requests"), "3");
  clock.advance(std::chrono::milliseconds(1520));  // +25.33 tokens: 0.33 left
  auto third = l.admit("k", 4, 1000, 0, 0);
  EXPECT_TRUE(third.allowed);
  EXPECT_EQ(header(third, "x-ratelimit-remaining-tokens"), "0");
  EXPECT_EQ(header(third, "x-ratelimit-remaining-requests"), "2");
  EXPECT_TRUE(ratelimit_headers(l.admit("free", 0, 0, 0, 0)).empty());  // no limits, no headers
  // A spent budget's refusal carries the key's headroom too, and takes no
  // request from its bucket.
  auto spent = l.admit("k", 4, 1000, 5.0, 5.0);
  EXPECT_FALSE(spent.allowed);
  EXPECT_EQ(spent.limit, "budget");
  EXPECT_EQ(header(spent, "x-ratelimit-limit-requests"), "4");
  EXPECT_EQ(header(spent, "x-ratelimit-remaining-requests"), "2");
  EXPECT_EQ(header(spent, "x-ratelimit-limit-tokens"), "1000");

  LimitVerdict a, b;
  a.requests = {100, 40, std::chrono::milliseconds(20)};
  b.requests = {100, 7, std::chrono::milliseconds(3'723'004)};
  b.tokens = {5000, 4000, std::chrono::milliseconds(999)};
  merge_headroom(a, b);
  EXPECT_EQ(header(a, "x-ratelimit-remaining-requests"), "7");
  EXPECT_EQ(header(a, "x-ratelimit-reset-requests"), "1h2m3.004s");
  EXPECT_EQ(header(a, "x-ratelimit-remaining-tokens"), "4000");
  EXPECT_EQ(header(a, "x-ratelimit-reset-tokens"), "999ms");
}

using spectra::test::ScratchDir;

TEST(AuditLog, RotatesBySizeAndTheChainSpansFiles) {
  ScratchDir scratch("audit");
  const std::string path = scratch.file("a.jsonl");
  {
    AuditLog log({path, 2048, 5});
    ASSERT_TRUE(log.open().ok());
    for (int i = 0; i < 40; ++i) log.append(bj::object{{"n", i}, {"pad", std::string(100, 'p')}});
    log.flush();
  }
  auto files = audit_files(path);
  ASSERT_GE(files.size(), 3u);
  EXPECT_LE(files.size(), 5u);
  for (const auto& f : files) EXPECT_LE(std::filesystem::file_size(f), 2048u);
  auto v = verify_audit(files);
  EXPECT_TRUE(v.ok) << v.file << ":" << v.line << " " << v.reason;
  // Reopening continues the chain.
  {
    AuditLog log({path, 2048, 5});
    ASSERT_TRUE(log.open().ok());
    log.append(bj::object{{"n", 99}});
    log.flush();
  }
  EXPECT_TRUE(verify_audit(audit_files(path)).ok);
  // Dropping a whole middle file is detected.
  files = audit_files(path);
  std::filesystem::remove(files[1]);
  files.erase(files.begin() + 1);
  EXPECT_FALSE(verify_audit(files).ok);
}

// Group commit: records from many threads land in one chain, each within
// about one sync interval even without flush(); a full queue drops and
// counts instead of blocking the caller.
TEST(AuditLog, GroupCommitFromManyThreadsKeepsOneChain) {
  ScratchDir scratch("audit-gc");
  const std::string path = scratch.file("a.jsonl");
  AuditOptions opt{path, 64 << 20, 5};  // one file: the order check reads it
  opt.sync_interval = 20ms;
  AuditLog log(opt);
  ASSERT_TRUE(log.open().ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < 2500; ++i) log.append(bj::object{{"t", t}, {"n", i}});
    });
  }
  for (auto& th : threads) th.join();
  // No flush(): the writer commits on its own within a sync interval or two.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (log.written() < 10000 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(log.written(), 10000u);
  EXPECT_EQ(log.dropped(), 0u);
  auto v = verify_audit(audit_files(path));
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.lines, 10000u);
  // Each thread's records keep their order inside the one chain.
  std::ifstream in(path);
  std::string line;
  std::vector<int> next(4, 0);
  while (std::getline(in, line)) {
    auto o = bj::parse(line).as_object();
    int t = static_cast<int>(o.at("t").as_int64());
    EXPECT_EQ(o.at("n").as_int64(), next[static_cast<std::size_t>(t)]++);
  }
}

// Records arrive as text serialized by the caller: only a non-empty JSON
// object can be chained; anything else is refused and counted as dropped.
TEST(AuditLog, TextRecordsMustBeNonEmptyObjects) {
  ScratchDir scratch("audit-text");
  const std::string path = scratch.file("a.jsonl");
  AuditLog log({path, 1 << 20, 5});
  ASSERT_TRUE(log.open().ok());
  log.append(std::string("[1]"));
  log.append(std::string("{}"));
  log.append(std::string(""));
  log.append(std::string(R"({"n":1,"s":"x"})"));
  log.append(bj::object{{"n", 2}, {"prev", "forged"}, {"hash", "forged"}});
  log.flush();
  EXPECT_EQ(log.dropped(), 3u);
  EXPECT_EQ(log.written(), 2u);
  auto v = verify_audit(audit_files(path));
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.lines, 2u);
  std::ifstream in(path);
  std::string first, second;
  std::getline(in, first);
  std::getline(in, second);
  auto a = bj::parse(first).as_object();
  EXPECT_EQ(a.at("n").as_int64(), 1);
  EXPECT_EQ(a.at("s").as_string(), "x");
  EXPECT_EQ(a.at("prev").as_string().size(), 64u);
  auto b = bj::parse(second).as_object();
  EXPECT_EQ(b.at("prev").as_string(), a.at("hash").as_string());
}

TEST(AuditLog, AFullQueueDropsAndCountsWithoutBlocking) {
  ScratchDir scratch("audit-full");
  const std::string path = scratch.file("a.jsonl");
  AuditOptions opt{path, 1 << 20, 5};
  opt.sync_interval = 30s;  // the writer gathers for 30 s unless flushed
  opt.max_queue = 10;
  AuditLog log(opt);
  ASSERT_TRUE(log.open().ok());
  for (int i = 0; i < 100; ++i) log.append(bj::object{{"n", i}});
  EXPECT_EQ(log.dropped(), 90u);
  auto t0 = std::chrono::steady_clock::now();
  log.flush();  // forces the commit at once
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  EXPECT_EQ(log.written(), 10u);
  auto v = verify_audit(audit_files(path));
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.lines, 10u);
}

TEST(CachedAnswer, RoundTripsAndRefusesForeignBytes) {
  Usage u;
  u.prompt_tokens = 12;
  u.completion_tokens = 345;
  u.cached_prompt_tokens = 6;
  std::string json = R"({"id":"x","choices":[{"message":{"content":"a\nb"}}]})";
  std::string enc = encode_cached_answer(u, json);
  auto d = decode_cached_answer(enc);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->json, json);
  EXPECT_EQ(d->usage.prompt_tokens, 12);
  EXPECT_EQ(d->usage.completion_tokens, 345);
  EXPECT_EQ(d->usage.cached_prompt_tokens, 6);
  EXPECT_EQ(d->usage.cache_write_tokens, 0);
  EXPECT_EQ(enc.substr(0, enc.find('\n')), "a1 12 345 6") << "no writes: the header as before";
  u.cache_write_tokens = 4;
  enc = encode_cached_answer(u, json);
  d = decode_cached_answer(enc);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->json, json);
  EXPECT_EQ(d->usage.cached_prompt_tokens, 6);
  EXPECT_EQ(d->usage.cache_write_tokens, 4);
  EXPECT_EQ(d->finish_reason, "");
  // The finish reason, after the writes or the reads; one that is not
  // chat's word is left out.
  enc = encode_cached_answer(u, json, "content_filter");
  EXPECT_EQ(enc.substr(0, enc.find('\n')), "a1 12 345 6 4 f:content_filter");
  d = decode_cached_answer(enc);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->finish_reason, "content_filter");
  EXPECT_EQ(d->usage.cache_write_tokens, 4);
  EXPECT_EQ(d->json, json);
  u.cache_write_tokens = 0;
  enc = encode_cached_answer(u, json, "length");
  d = decode_cached_answer(enc);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->finish_reason, "length");
  EXPECT_EQ(d->usage.cached_prompt_tokens, 6);
  EXPECT_EQ(d->usage.cache_write_tokens, 0);
  enc = encode_cached_answer(u, json, "stop\nf:x");
  EXPECT_EQ(enc.substr(0, enc.find('\n')), "a1 12 345 6");
  for (std::string bad : {std::string(), json, std::string("a1 1 2\n{}"), std::string("a1 1 2 3\n"),
                          std::string("a1 1 2 3 \n{}"), std::string("a1 1 2 3 4 5\n{}"), std::string("a1 1 2 3 x\n{}"),
                          std::string("a1 1 2 3 4\n"), std::string("a1 1 2 3 f:\n{}"), std::string("a1 1 2 3 f:Stop\n{}"),
                          std::string("a1 1 2 f:stop\n{}"), std::string("a1 1 2 3 f:stop f:stop\n{}"),
                          std::string("a1 1 2 3 4 f:stop\n"),
                          std::string("a1 -1 2 3\n{}"), std::string("a1 1 2 x\n{}"), std::string("a2 1 2 3\n{}"),
                          std::string("a1 99999999999999999999 2 3\n{}")}) {
    EXPECT_FALSE(decode_cached_answer(bad).has_value()) << bad;
  }
}

TEST(ChatRequest, RefusalsNameTheParam) {
  RequestError e;
  EXPECT_FALSE(parse_chat_request(R"({"messages":[{"role":"user","content":"x"}]})", &e).ok());
  EXPECT_EQ(e.param, "model");
  EXPECT_FALSE(parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":3})", &e).ok());
  EXPECT_EQ(e.param, "temperature");
  EXPECT_EQ(e.message, "'temperature' must be between 0 and 2");
  EXPECT_FALSE(parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":-5})", &e).ok());
  EXPECT_EQ(e.message, "'max_tokens' must be between 1 and 1000000000");
  EXPECT_FALSE(parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"x"}],"top_p":1.5})", &e).ok());
  EXPECT_EQ(e.message, "'top_p' must be between 0 and 1");
  EXPECT_FALSE(parse_chat_request(R"({"model":"m","messages":[{"role":"tool","content":"x"}]})", &e).ok());
  EXPECT_EQ(e.param, "messages[0].tool_call_id");
  EXPECT_FALSE(parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]})", &e).ok());
  EXPECT_FALSE(parse_chat_request(R"({"model":"m","messages":[{"role":"assistant"}]})", &e).ok());
  EXPECT_FALSE(parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"})", &e).ok());
  EXPECT_FALSE(parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]})", &e).ok());
  auto ok = parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true},"vendor_extra":1})", &e);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->stream);
  EXPECT_TRUE(ok->include_usage);
}

TEST(ChatRequest, CacheKeysIgnoreWhatDoesNotChangeTheAnswer) {
  auto a = bj::parse(R"({"model":"x","messages":[{"role":"user","content":"q"}],"stream":true,"user":"u1"})").as_object();
  auto b = bj::parse(R"({"user":"u2","messages":[{"content":"q","role":"user"}],"model":"y"})").as_object();
  EXPECT_EQ(exact_cache_key("t", "p", "m", a), exact_cache_key("t", "p", "m", b));
  EXPECT_NE(exact_cache_key("t", "p", "m", a), exact_cache_key("t2", "p", "m", a));
  EXPECT_NE(exact_cache_key("t", "p", "m", a), exact_cache_key("t", "p", "m2", a));
  auto c = bj::parse(R"({"model":"x","messages":[{"role":"user","content":"different words"}]})").as_object();
  EXPECT_EQ(semantic_partition_key("t", "p", "m", a), semantic_partition_key("t", "p", "m", c));
  auto d = bj::parse(R"({"model":"x","seed":7,"messages":[{"role":"user","content":"q"}]})").as_object();
  EXPECT_NE(semantic_partition_key("t", "p", "m", a), semantic_partition_key("t", "p", "m", d));
  EXPECT_EQ(last_user_text(c), "different words");
}

TEST(StreamCodec, WholeToChunksAndBack) {
  auto completion = bj::parse(R"({"id":"c1","object":"chat.completion","created":5,"model":"m",
    "choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
      {"id":"t1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"finish_reason":"tool_calls"}],
    "usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}})").as_object();
  auto chunks = completion_to_chunks(completion, true);
  ASSERT_GE(chunks.size(), 3u);
  EXPECT_TRUE(chunks.back().at("choices").as_array().empty());
  ChunkAssembler asm_;
  for (const auto& c : chunks) asm_.add(c);
  auto back = asm_.completion();
  EXPECT_EQ(back.at("choices").at(0).at("message").at("tool_calls"), completion.at("choices").at(0).at("message").at("tool_calls"));
  EXPECT_EQ(back.at("choices").at(0).at("finish_reason"), "tool_calls");
  EXPECT_EQ(back.at("usage"), completion.at("usage"));
  EXPECT_TRUE(back.at("choices").at(0).at("message").at("content").is_null());
}


// The upstream request head is written by hand (no header container per
// request): it must be what an HTTP parser reads back, with the framing
// ours and nothing a header value could smuggle in.
TEST(StreamCodec, FirstChoiceAndToolCallPartsReadUntrustedJsonFieldByField) {
  EXPECT_EQ(first_choice(bj::parse(R"({"choices":[7]})").as_object()), nullptr);
  EXPECT_EQ(first_choice(bj::parse(R"({"choices":{}})").as_object()), nullptr);
  EXPECT_EQ(first_choice(bj::parse(R"({})").as_object()), nullptr);
  const auto chunk = bj::parse(R"({"choices":[{"index":0,"delta":{}}]})").as_object();
  ASSERT_NE(first_choice(chunk), nullptr);
  EXPECT_TRUE(first_choice(chunk)->contains("delta"));
  const auto call = bj::parse(R"({"index":2,"id":"c","function":{"name":"f","arguments":"{}"}})").as_object();
  const ToolCallParts t = tool_call_parts(call);
  EXPECT_EQ(t.index, 2);
  EXPECT_EQ(t.id, "c");
  EXPECT_EQ(t.name, "f");
  EXPECT_EQ(t.arguments, "{}");
  const ToolCallParts odd = tool_call_parts(bj::parse(R"({"index":"x","id":5,"function":"g"})").as_object());
  EXPECT_EQ(odd.index, 0);
  EXPECT_EQ(odd.id, "");
  EXPECT_EQ(odd.name, "");
  EXPECT_EQ(odd.arguments, "");
}

TEST(UpstreamRequestHead, ParsesBackWithOurFramingAndRefusesSplitting) {
  auto url = parse_url("http://127.0.0.1:8000/v1/chat/completions?x=1");
  ASSERT_TRUE(url.ok());
  UpstreamRequest r;
  r.method = "POST";
  r.url = "http://127.0.0.1:8000/v1/chat/completions?x=1";
  r.headers = {{"content-type", "text/plain"}, {"Accept", "a"}, {"Content-Length", "999"},
               {"connection", "close"}, {"CONTENT-TYPE", "application/json"}};
  r.body = R"({"model":"m"})";
  auto head = render_request_head(r, *url);
  ASSERT_TRUE(head.ok()) << head.status().to_string();
  boost::beast::http::request_parser<boost::beast::http::string_body> p;
  boost::system::error_code ec;
  std::string wire = *head + r.body;
  std::size_t used = 0;
  while (!ec && !p.is_done() && used < wire.size()) used += p.put(boost::asio::buffer(wire.data() + used, wire.size() - used), ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(p.is_done());
  EXPECT_EQ(used, wire.size());
  const auto& m = p.get();
  EXPECT_EQ(m.method_string(), "POST");
  EXPECT_EQ(m.target(), "/v1/chat/completions?x=1");
  EXPECT_EQ(m[boost::beast::http::field::host], "127.0.0.1:8000");
  EXPECT_EQ(m[boost::beast::http::field::content_type], "application/json");  // the later one
  EXPECT_EQ(std::distance(m.equal_range("content-type").first, m.equal_range("content-type").second), 1);
  EXPECT_EQ(m[boost::beast::http::field::content_length], std::to_string(r.body.size()));
  EXPECT_TRUE(m.keep_alive());
  EXPECT_EQ(m.body(), r.body);

  // A caller's Host (a signed request's) replaces the default; port 80 and
  // IPv6 literals are written as HTTP wants them.
  r.headers = {{"host", "signed.example"}};
  EXPECT_NE(render_request_head(r, *url)->find("\r\nhost: signed.example\r\n"), std::string::npos);
  EXPECT_EQ(render_request_head(r, *url)->find("Host: 127.0.0.1"), std::string::npos);
  r.headers = {};
  EXPECT_NE(render_request_head(r, *parse_url("http://example.test/v1"))->find("\r\nHost: example.test\r\n"), std::string::npos);
  EXPECT_NE(render_request_head(r, *parse_url("http://[::1]:9000/v1"))->find("\r\nHost: [::1]:9000\r\n"), std::string::npos);

  // GET without a body has no Content-Length; POST without one says 0.
  r.body.clear();
  r.method = "GET";
  EXPECT_EQ(render_request_head(r, *url)->find("Content-Length"), std::string::npos);
  r.method = "POST";
  EXPECT_NE(render_request_head(r, *url)->find("\r\nContent-Length: 0\r\n"), std::string::npos);

  // Nothing that would split the request goes out.
  r.headers = {{"x-evil", "a\r\nX-Injected: 1"}};
  EXPECT_EQ(render_request_head(r, *url).status().code(), Code::kInvalidArgument);
  r.headers = {{"x-evil", std::string("a\0b", 3)}};
  EXPECT_EQ(render_request_head(r, *url).status().code(), Code::kInvalidArgument);
  r.headers = {{"bad name", "v"}};
  EXPECT_EQ(render_request_head(r, *url).status().code(), Code::kInvalidArgument);
  r.headers = {{"x:y", "v"}};
  EXPECT_EQ(render_request_head(r, *url).status().code(), Code::kInvalidArgument);
  r.headers = {};
  r.method = "PO ST";
  EXPECT_EQ(render_request_head(r, *url).status().code(), Code::kInvalidArgument);
}

// The OpenAI-compatible request is the client's, member for member, with
// the resolved model, our stream flag and (streaming) include_usage.
TEST(OpenAiRequest, KeepsTheClientsMembersAndSetsModelStreamAndUsage) {
  OpenAiAdapter a;
  ModelTarget t{"openai", "openai", "gpt-4o", "http://127.0.0.1:9/v1/", ""};
  auto req = bj::parse(R"({"model":"gpt","messages":[{"role":"user","content":"h\u00e9 \"x\""}],"temperature":0.5,)"
                       R"("tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"stream":false,)"
                       R"("stream_options":{"include_usage":false,"x":1},"seed":7})").as_object();
  auto s = a.build_chat(req, t, true);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->url, "http://127.0.0.1:9/v1/chat/completions");
  auto body = bj::parse(s->body).as_object();
  EXPECT_EQ(body.at("model").as_string(), "gpt-4o");
  EXPECT_EQ(body.at("stream").as_bool(), true);
  EXPECT_EQ(body.at("stream_options").as_object(), (bj::object{{"x", 1}, {"include_usage", true}}));
  for (const char* k : {"messages", "temperature", "tools", "seed"}) EXPECT_EQ(body.at(k), req.at(k)) << k;
  EXPECT_EQ(body.size(), req.size());

  auto n = a.build_chat(req, t, false);
  ASSERT_TRUE(n.ok());
  auto nb = bj::parse(n->body).as_object();
  EXPECT_EQ(nb.at("stream").as_bool(), false);
  EXPECT_FALSE(nb.contains("stream_options"));  // OpenAI refuses it without stream
  EXPECT_EQ(nb.size(), req.size() - 1);

  // Members the client left out are added.
  auto bare = bj::parse(R"({"messages":[{"role":"user","content":"h"}]})").as_object();
  auto b = bj::parse(a.build_chat(bare, t, true)->body).as_object();
  EXPECT_EQ(b.at("model").as_string(), "gpt-4o");
  EXPECT_EQ(b.at("stream").as_bool(), true);
  EXPECT_EQ(b.at("stream_options").as_object(), (bj::object{{"include_usage", true}}));
}

// Outlier ejection: three failures in a row eject for the cool-down; after
// it, one failure ejects again for twice as long (capped); a success
// clears; failures of calls that started before the ejection do not
// extend it; max_failures 0 turns it off.
TEST(UpstreamHealth, EjectsAfterFailuresInARowWithADoublingCoolDown) {
  FakeClock clock;
  UpstreamHealth h(&clock);
  h.set_options({.max_failures = 3, .ejection = std::chrono::milliseconds(1000), .max_ejection = std::chrono::milliseconds(3000)});
  const std::string p = "p", a = "http://a", b = "http://b";
  EXPECT_FALSE(h.failure(p, a));
  EXPECT_FALSE(h.failure(p, a));
  h.success(p, a);  // not in a row any more
  EXPECT_FALSE(h.failure(p, a));
  EXPECT_FALSE(h.failure(p, a));
  EXPECT_TRUE(h.available(p, a));
  EXPECT_TRUE(h.failure(p, a));
  EXPECT_FALSE(h.available(p, a));
  EXPECT_TRUE(h.available(p, b));
  EXPECT_EQ(h.ejected_now(), 1u);
  EXPECT_FALSE(h.failure(p, a));  // a call from before the ejection: no longer
  clock.advance(std::chrono::milliseconds(999));
  EXPECT_FALSE(h.available(p, a));
  clock.advance(std::chrono::milliseconds(1));
  EXPECT_TRUE(h.available(p, a));
  EXPECT_TRUE(h.failure(p, a));  // one failure after a cool-down is enough
  clock.advance(std::chrono::milliseconds(1999));
  EXPECT_FALSE(h.available(p, a));  // 2 s this time
  clock.advance(std::chrono::milliseconds(1));
  EXPECT_TRUE(h.available(p, a));
  EXPECT_TRUE(h.failure(p, a));
  clock.advance(std::chrono::milliseconds(2999));
  EXPECT_FALSE(h.available(p, a));  // 4 s, capped at 3 s
  clock.advance(std::chrono::milliseconds(1));
  EXPECT_TRUE(h.available(p, a));
  h.success(p, a);
  EXPECT_FALSE(h.failure(p, a));  // restored: three in a row again
  EXPECT_EQ(h.ejections(), 3u);

  h.set_options({.max_failures = 0});
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(h.failure(p, b));
  EXPECT_TRUE(h.available(p, b));
}

// With an active health check, an ejected endpoint is not put back by the
// end of its cool-down (no client request is spent on it) but by a passing
// check; a pass during the cool-down or against failures of requests does
// not end either; a failed check after the cool-down ejects again, longer.
TEST(UpstreamHealth, ActivelyCheckedEndpointsReturnOnlyWithAPassingCheck) {
  FakeClock clock;
  UpstreamHealth h(&clock);
  h.set_options({.max_failures = 2, .ejection = std::chrono::milliseconds(1000), .max_ejection = std::chrono::milliseconds(8000)});
  const std::string p = "pool", a = "http://a/v1", b = "http://b/v1";
  h.set_checked({{p, a}});
  using E = UpstreamHealth::CheckEffect;
  EXPECT_EQ(h.checked(p, a, true), E::kNone);  // nothing to restore
  EXPECT_EQ(h.checked(p, a, false, "HTTP 503"), E::kNone);
  EXPECT_EQ(h.checked(p, a, true), E::kNone);  // checks in a row start again
  EXPECT_EQ(h.checked(p, a, false, "HTTP 503"), E::kNone);
  EXPECT_EQ(h.state(p, a)->failures, 1);  // not 2
  EXPECT_FALSE(h.failure(p, a, "status 500"));
  EXPECT_EQ(h.checked(p, a, true), E::kNone);  // answers its checks...
  EXPECT_TRUE(h.failure(p, a, "status 500"));  // ...but requests failing in a row still eject
  EXPECT_EQ(h.checked(p, a, true), E::kNone);   // the ejection stands for its cool-down
  EXPECT_FALSE(h.available(p, a));
  clock.advance(std::chrono::milliseconds(1000));
  EXPECT_FALSE(h.available(p, a));  // cool-down over: waits for a check
  auto st = h.state(p, a);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->awaiting_check);
  EXPECT_EQ(st->ejected_for.count(), 0);
  EXPECT_EQ(h.ejected_now(), 1u);
  EXPECT_EQ(h.checked(p, a, false, "connection refused"), E::kEjected);  // again, 2 s
  clock.advance(std::chrono::milliseconds(1999));
  EXPECT_FALSE(h.state(p, a)->awaiting_check);
  clock.advance(std::chrono::milliseconds(1));
  EXPECT_TRUE(h.state(p, a)->awaiting_check);
  EXPECT_EQ(h.checked(p, a, true), E::kRestored);
  EXPECT_TRUE(h.available(p, a));
  EXPECT_FALSE(h.state(p, a).has_value());
  EXPECT_EQ(h.ejected_now(), 0u);
  // Without a check the passive rule holds: back after the cool-down.
  EXPECT_FALSE(h.failure(p, b));
  EXPECT_TRUE(h.failure(p, b));
  clock.advance(std::chrono::milliseconds(1000));
  EXPECT_TRUE(h.available(p, b));
  EXPECT_FALSE(h.state(p, b)->awaiting_check);
  // No longer checked: the cool-down alone brings it back.
  EXPECT_FALSE(h.failure(p, a));
  EXPECT_TRUE(h.failure(p, a));
  h.set_checked({});
  clock.advance(std::chrono::milliseconds(1000));
  EXPECT_TRUE(h.available(p, a));
}

TEST(HealthCheckUrl, PathOnTheEndpointsOrigin) {
  EXPECT_EQ(origin_url("http://10.0.3.10:8000/v1", "/health"), "http://10.0.3.10:8000/health");
  EXPECT_EQ(origin_url("https://vllm.internal/v1/", "/ping"), "https://vllm.internal/ping");
  EXPECT_EQ(origin_url("http://127.0.0.1:9", "/health"), "http://127.0.0.1:9/health");
}

// With conversation affinity a conversation always starts at the same
// replica whatever the round-robin or the list's order; its walk on a
// failure visits every other replica once; when its replica is ejected
// only its conversations move (others keep theirs).
// What a walk needs: health that ejects at the first failure for a
// second, a round-robin, and a provider "pool" (its endpoints: the test's).
struct WalkSetup {
  FakeClock clock;
  UpstreamHealth h{&clock};
  RoundRobin rr;
  ProviderConfig p;
  WalkSetup() {
    h.set_options({.max_failures = 1, .ejection = std::chrono::milliseconds(1000)});
    p.name = "pool";
  }
};

TEST(EndpointWalk, AConversationKeepsItsReplica) {
  WalkSetup setup;
  auto& [clock, h, rr, p] = setup;
  p.conversation_affinity = true;
  p.endpoints = {"http://a/v1", "http://b/v1", "http://c/v1", "http://d/v1"};
  ProviderConfig reordered = p;
  reordered.endpoints = {"http://d/v1", "http://b/v1", "http://a/v1", "http://c/v1"};
  auto body = [](const std::string& first) {
    return bj::parse(R"({"messages":[{"role":"system","content":"terse"},{"role":"user","content":")" + first +
                     R"("},{"role":"assistant","content":"ok"},{"role":"user","content":"more"}]})").as_object();
  };
  // Later turns repeat the first: the same conversation.
  EXPECT_EQ(conversation_affinity(body("q1"), ""), conversation_affinity(bj::parse(
      R"({"messages":[{"role":"system","content":"terse"},{"role":"user","content":"q1"}]})").as_object(), ""));
  EXPECT_NE(conversation_affinity(body("q1"), ""), conversation_affinity(body("q1"), "alice")) << "another user's";
  EXPECT_NE(conversation_affinity(body("q1"), ""), conversation_affinity(body("q2"), ""));
  EXPECT_NE(conversation_affinity(bj::object(), ""), 0u);
  std::map<std::string, std::string> home;  // conversation -> replica
  std::set<std::string> used;
  for (int i = 0; i < 40; ++i) {
    const std::uint64_t a = conversation_affinity(body("q" + std::to_string(i)), "");
    const std::string first = EndpointWalk(h, rr, p, a).endpoint();
    for (int k = 0; k < 3; ++k) EXPECT_EQ(EndpointWalk(h, rr, p, a).endpoint(), first);
    EXPECT_EQ(EndpointWalk(h, rr, reordered, a).endpoint(), first) << "by URL, not by position";
    EndpointWalk w(h, rr, p, a);
    std::set<std::string> visited{w.endpoint()};
    while (w.advance()) EXPECT_TRUE(visited.insert(w.endpoint()).second);
    EXPECT_EQ(visited.size(), 4u);
    home["q" + std::to_string(i)] = first;
    used.insert(first);
  }
  EXPECT_EQ(used.size(), 4u) << "40 conversations over 4 replicas";
  EXPECT_EQ(EndpointWalk(h, rr, p, 0).endpoint(), "http://a/v1") << "no affinity: round-robin";
  EXPECT_EQ(EndpointWalk(h, rr, p, 0).endpoint(), "http://b/v1");
  // b ejected: b's conversations move, every other stays.
  h.failure("pool", "http://b/v1");
  for (const auto& [q, replica] : home) {
    const std::string now = EndpointWalk(h, rr, p, conversation_affinity(body(q), "")).endpoint();
    if (replica == "http://b/v1") {
      EXPECT_NE(now, replica) << q;
    } else {
      EXPECT_EQ(now, replica) << q;
    }
  }
  ProviderConfig off = p;
  off.conversation_affinity = false;
  EXPECT_EQ(EndpointWalk(h, rr, off, 12345).endpoint(), "http://c/v1") << "the provider's choice: round-robin";
}

// A walk starts at the round-robin pick among endpoints not ejected, moves
// on to endpoints neither ejected nor tried, and tries none twice.
TEST(EndpointWalk, RoundRobinSkipsEjectedAndNeverRetriesAnEndpoint) {
  WalkSetup setup;
  auto& [clock, h, rr, p] = setup;
  p.endpoints = {"http://a/v1/", "http://b/v1", "http://c/v1"};
  EXPECT_EQ(EndpointWalk(h, rr, p).endpoint(), "http://a/v1/");
  EXPECT_EQ(EndpointWalk(h, rr, p).endpoint(), "http://b/v1");
  EndpointWalk third(h, rr, p);
  EXPECT_EQ(third.endpoint(), "http://c/v1");
  EndpointWalk w(h, rr, p);  // a again
  EXPECT_EQ(w.openai_base(), "http://a/v1");
  h.failure("pool", "http://b/v1");  // b ejected
  w.record(false, true, "status 503");  // a ejected too (max_failures 1)
  ASSERT_TRUE(w.advance());
  EXPECT_EQ(w.endpoint(), "http://c/v1");
  w.record(false, false, "status 400");  // the client's error: c stays healthy
  EXPECT_FALSE(w.advance());  // a was tried, b is ejected
  EXPECT_EQ(w.endpoint(), "http://c/v1");
  EXPECT_TRUE(h.available("pool", "http://c/v1"));
  EndpointWalk only_c(h, rr, p);
  EXPECT_EQ(only_c.endpoint(), "http://c/v1");
  EXPECT_FALSE(only_c.all_ejected());
  only_c.record(false, true, "timeout");
  EndpointWalk none(h, rr, p);  // all three ejected: one of them anyway
  EXPECT_TRUE(none.all_ejected());
  EXPECT_FALSE(none.endpoint().empty());
  EXPECT_FALSE(none.advance());
  clock.advance(std::chrono::milliseconds(1000));
  EndpointWalk after(h, rr, p);
  EXPECT_FALSE(after.all_ejected());
  after.record(true, false, "");
  EXPECT_FALSE(h.state("pool", after.endpoint()).has_value());  // restored

  ProviderConfig single;  // no endpoint list: its base URL
  single.name = "remote";
  single.kind = "openai";
  single.base_url = "https://api.example/v1/";
  EndpointWalk s(h, rr, single);
  EXPECT_EQ(s.endpoint(), "https://api.example/v1/");
  EXPECT_EQ(s.openai_base(), "https://api.example/v1");
  EXPECT_FALSE(s.advance());
}


// Who made each stored Responses API answer: found by id until it expires,
// the least recently used dropped past the bound, ids that could not be a
// path segment refused.
TEST(ResponseOwners, BoundedTimedAndStrictAboutIds) {
  FakeClock clock;
  ResponseOwners owners(&clock, /*max_entries=*/2, std::chrono::seconds(60));
  auto find = [&](const std::string& id) {
    boost::asio::io_context io;
    auto f = boost::asio::co_spawn(io, owners.find(id, nullptr), boost::asio::use_future);
    io.run();
    return f.get();
  };
  owners.record("resp_a", {"team-a", "openai", "https://api.openai.com/v1"}, nullptr);
  owners.record("resp_b", {"team-b", "local", "http://10.0.3.10:8000/v1"}, nullptr);
  ASSERT_TRUE(find("resp_a"));
  EXPECT_EQ(find("resp_a")->key, "team-a");
  EXPECT_EQ(find("resp_b")->endpoint, "http://10.0.3.10:8000/v1");
  (void)find("resp_a");  // a is now the most recent: c pushes b out
  owners.record("resp_c", {"team-a", "openai", "https://api.openai.com/v1"}, nullptr);
  EXPECT_EQ(owners.size(), 2u);
  EXPECT_FALSE(find("resp_b"));
  EXPECT_TRUE(find("resp_a"));
  owners.forget("resp_a", nullptr);
  EXPECT_FALSE(find("resp_a"));
  clock.advance(std::chrono::seconds(61));
  EXPECT_FALSE(find("resp_c")) << "expired";

  EXPECT_TRUE(valid_response_id("resp_67cb71b351908190a308f3859487620d06981a8637e6e5fb"));
  for (const char* bad : {"", "../models", "resp/x", "resp?x=1", "resp%2F", "resp x", "r\nx"}) {
    EXPECT_FALSE(valid_response_id(bad)) << bad;
    owners.record(bad, {"team-a", "openai", "x"}, nullptr);
  }
  EXPECT_EQ(owners.size(), 0u) << "an invalid id was recorded";
  EXPECT_FALSE(valid_response_id(std::string(129, 'a')));
}

// The journal: what a gateway recorded and did not forget is there after a
// restart (a new ResponseOwners on the same file), expired and unreadable
// lines are skipped, and the file is rewritten with the live records only.
TEST(ResponseOwners, TheJournalKeepsRecordsAcrossARestart) {
  ScratchDir scratch("owners");
  const std::string path = scratch.file("owners.jsonl");
  FakeClock clock;
  clock.advance(std::chrono::hours(24 * 365 * 56));  // a wall clock in this century
  auto find = [](ResponseOwners& owners, const std::string& id) {
    boost::asio::io_context io;
    auto f = boost::asio::co_spawn(io, owners.find(id, nullptr), boost::asio::use_future);
    io.run();
    return f.get();
  };
  auto lines = [&] {
    std::ifstream f(path);
    std::size_t n = 0;
    for (std::string line; std::getline(f, line);) ++n;
    return n;
  };
  {
    ResponseOwners owners(&clock, 100, std::chrono::seconds(60));
    ASSERT_TRUE(owners.open_journal(path).ok());
    owners.record("resp_a", {"team-a", "openai", "https://api.openai.com/v1"}, nullptr);
    owners.record("resp_b", {"team-b", "local", "http://10.0.3.10:8000/v1"}, nullptr);
    owners.record("resp_short", {"team-b", "local", "http://10.0.3.11:8000/v1"}, nullptr);
    owners.forget("resp_a", nullptr);
    EXPECT_EQ(lines(), 4u);
  }
  {  // a crash mid-write: a torn last line, and garbage
    std::ofstream f(path, std::ios::app);
    f << "not json\n{\"id\":\"../x\",\"key\":\"k\"}\n{\"id\":\"resp_torn\",\"key\":\"te";
  }
  clock.advance(std::chrono::seconds(30));
  {
    ResponseOwners owners(&clock, 100, std::chrono::seconds(60));
    ASSERT_TRUE(owners.open_journal(path).ok());
    EXPECT_FALSE(find(owners, "resp_a")) << "a forgotten record came back";
    ASSERT_TRUE(find(owners, "resp_b"));
    EXPECT_EQ(find(owners, "resp_b")->endpoint, "http://10.0.3.10:8000/v1");
    EXPECT_EQ(find(owners, "resp_b")->key, "team-b");
    EXPECT_FALSE(find(owners, "resp_torn"));
    EXPECT_EQ(owners.size(), 2u);
    EXPECT_EQ(lines(), 2u) << "rewritten with the live records";
    owners.record("resp_c", {"team-a", "openai", "https://api.openai.com/v1"}, nullptr);
  }
  clock.advance(std::chrono::seconds(31));  // resp_b and resp_short are 61 s old: expired
  ResponseOwners owners(&clock, 100, std::chrono::seconds(60));
  ASSERT_TRUE(owners.open_journal(path).ok());
  EXPECT_FALSE(find(owners, "resp_b"));
  EXPECT_TRUE(find(owners, "resp_c"));
  EXPECT_EQ(lines(), 1u);
  // Past 4x its records the journal is compacted as it goes.
  ResponseOwners small(&clock, 2, std::chrono::seconds(60));
  ASSERT_TRUE(small.open_journal(path).ok());
  for (int i = 0; i < 8; ++i) small.record("resp_n" + std::to_string(i), {"k", "p", "e"}, nullptr);
  small.wait_for_compaction();
  EXPECT_EQ(lines(), 2u) << "1 loaded + 8 records with room for 2: rewritten at its 9th line";
  EXPECT_FALSE(std::filesystem::exists(path + ".next"));
}


// A whole Responses answer replayed as OpenAI's typed event stream: the
// events in order, numbered from 0, the text and the arguments whole, and
// the answer itself in response.completed.
TEST(ResponsesReplay, EventsInOpenAisOrder) {
  const auto response = bj::parse(R"({"id":"resp_1","object":"response","status":"completed","model":"m",
      "output":[{"type":"message","id":"msg_1","status":"completed","role":"assistant",
                 "content":[{"type":"output_text","text":"hi there","annotations":[]}]},
                {"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":"{\"a\":1}","status":"completed"}],
      "usage":{"input_tokens":3,"output_tokens":2,"total_tokens":5}})").as_object();
  const std::string events = responses_events(response);
  std::vector<std::string> types;
  std::vector<bj::object> data;
  for (std::size_t at = 0; (at = events.find("data: ", at)) != std::string::npos;) {
    const auto end = events.find("\n\n", at);
    data.push_back(bj::parse(events.substr(at + 6, end - at - 6)).as_object());
    types.emplace_back(data.back().at("type").as_string());
    at = end;
  }
  EXPECT_EQ(types, (std::vector<std::string>{
                       "response.created", "response.in_progress", "response.output_item.added",
                       "response.content_part.added", "response.output_text.delta", "response.output_text.done",
                       "response.content_part.done", "response.output_item.done", "response.output_item.added",
                       "response.function_call_arguments.delta", "response.function_call_arguments.done",
                       "response.output_item.done", "response.completed"}));
  for (std::size_t i = 0; i < data.size(); ++i) EXPECT_EQ(data[i].at("sequence_number"), static_cast<std::int64_t>(i));
  EXPECT_EQ(data[0].at("response").at("status"), "in_progress");
  EXPECT_TRUE(data[0].at("response").at("output").as_array().empty());
  EXPECT_TRUE(data[2].at("item").at("content").as_array().empty());
  EXPECT_EQ(data[4].at("delta"), "hi there");
  EXPECT_EQ(data[4].at("item_id"), "msg_1");
  EXPECT_EQ(data[8].at("item").at("arguments"), "");
  EXPECT_EQ(data[9].at("delta"), "{\"a\":1}");
  EXPECT_EQ(data[12].at("response"), response);
  EXPECT_NE(events.find("event: response.completed\ndata: "), std::string::npos);
}

// A refusal is replayed as refusal events, an incomplete answer ends with
// response.incomplete (what the SDK's stream helpers wait for), and a
// client resuming at starting_after gets only the events after it.
TEST(ResponsesReplay, RefusalsIncompleteAnswersAndResuming) {
  const auto response = bj::parse(R"({"id":"resp_2","object":"response","status":"incomplete",
      "incomplete_details":{"reason":"max_output_tokens"},"model":"m",
      "output":[{"type":"message","id":"msg_2","status":"incomplete","role":"assistant",
                 "content":[{"type":"refusal","refusal":"I cannot help with that"}]}]})").as_object();
  auto parse_events = [](const std::string& events) {
    std::vector<bj::object> data;
    for (std::size_t at = 0; (at = events.find("data: ", at)) != std::string::npos;) {
      const auto end = events.find("\n\n", at);
      data.push_back(bj::parse(events.substr(at + 6, end - at - 6)).as_object());
      at = end;
    }
    return data;
  };
  const auto all = parse_events(responses_events(response));
  std::vector<std::string> types;
  for (const auto& d : all) types.emplace_back(d.at("type").as_string());
  EXPECT_EQ(types, (std::vector<std::string>{"response.created", "response.in_progress", "response.output_item.added",
                                             "response.content_part.added", "response.refusal.delta",
                                             "response.refusal.done", "response.content_part.done",
                                             "response.output_item.done", "response.incomplete"}));
  EXPECT_EQ(all[3].at("part"), bj::parse(R"({"type":"refusal","refusal":""})"));
  EXPECT_EQ(all[4].at("delta"), "I cannot help with that");
  EXPECT_EQ(all[5].at("refusal"), "I cannot help with that");
  EXPECT_EQ(all.back().at("response"), response);
  const auto resumed = parse_events(responses_events(response, 5));
  ASSERT_EQ(resumed.size(), all.size() - 6);
  for (std::size_t i = 0; i < resumed.size(); ++i) EXPECT_EQ(resumed[i], all[i + 6]);
  EXPECT_TRUE(responses_events(response, 8).empty()) << "after the last event there is nothing left";
  EXPECT_EQ(responses_events(response, -1), responses_events(response));
}

}  // namespace
}  // namespace spectra::ai

namespace spectra::ai {
namespace {

// The Messages API's translation, field by field, where the gateway tests'
// fakes do not reach (images, tool_choice kinds, stop reasons, cache reads).
TEST(MessagesDialect, RequestFieldsMapToChat) {
  std::string param;
  auto chat = messages::to_chat_request(bj::parse(R"({"model":"m","max_tokens":9,"top_k":5,"thinking":{"type":"enabled"},
      "stop_sequences":["END"],"tool_choice":{"type":"any"},
      "tools":[{"name":"f","input_schema":{"type":"object"}}],
      "messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAA="}},
                                            {"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}]},
                  {"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"s"},
                                                 {"type":"redacted_thinking","data":"r"},
                                                 {"type":"thinking","thinking":"unsigned","signature":""},
                                                 {"type":"tool_use","id":"t","name":"f","input":{}}]},
                  {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","is_error":true,"content":"boom"},
                                            {"type":"text","text":"go on"}]}]})").as_object(), &param);
  ASSERT_TRUE(chat.ok()) << chat.status().to_string();
  EXPECT_EQ(bj::value(*chat), bj::parse(R"({"model":"m","messages":[
      {"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAA="}},
                                {"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]},
      {"role":"assistant","content":null,"tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}],
       "thinking_blocks":[{"type":"thinking","thinking":"hm","signature":"s"},{"type":"redacted_thinking","data":"r"}]},
      {"role":"tool","tool_call_id":"t","content":"Error: boom"},
      {"role":"user","content":[{"type":"text","text":"go on"}]}],
      "max_tokens":9,"top_k":5,"thinking":{"type":"enabled"},"stop":["END"],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],
      "tool_choice":"required"})")) << bj::serialize(*chat);
  auto named = messages::to_chat_request(bj::parse(R"({"model":"m","max_tokens":1,"tool_choice":{"type":"tool","name":"f"},
      "messages":[{"role":"user","content":"x"}]})").as_object(), &param);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->at("tool_choice"), bj::parse(R"({"type":"function","function":{"name":"f"}})"));
  auto refused = messages::to_chat_request(bj::parse(R"({"model":"m","max_tokens":1,"mcp_servers":[{}],
      "messages":[{"role":"user","content":"x"}]})").as_object(), &param);
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(param, "mcp_servers");
  refused = messages::to_chat_request(bj::parse(R"({"model":"m","max_tokens":1,"messages":[{"role":"system","content":"x"}]})").as_object(), &param);
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(param, "messages[0].role");
  refused = messages::to_chat_request(bj::parse(R"({"model":"m","max_tokens":1,"top_k":-1,"messages":[{"role":"user","content":"x"}]})").as_object(), &param);
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(param, "top_k");
  for (const auto& [request, field] : std::vector<std::pair<std::string, std::string>>{
           {R"({"model":"m","max_tokens":1,"thinking":"on","messages":[{"role":"user","content":"x"}]})", "thinking"},
           {R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"},
               {"role":"assistant","content":[{"type":"thinking","thinking":"t"}]}]})", "messages[1].content[0]"},
           {R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"redacted_thinking","data":"d"}]}]})",
            "messages[0].content[0].type"}}) {
    EXPECT_FALSE(messages::to_chat_request(bj::parse(request).as_object(), &param).ok()) << request;
    EXPECT_EQ(param, field) << request;
  }
}

// Prompt-caching marks survive the translation on the parts and tools
// made from the marked blocks (a marked system prompt stays in parts).
TEST(MessagesDialect, CacheControlIsKept) {
  std::string param;
  auto chat = messages::to_chat_request(bj::parse(R"({"model":"m","max_tokens":9,
      "system":[{"type":"text","text":"a"},{"type":"text","text":"b","cache_control":{"type":"ephemeral"}}],
      "tools":[{"name":"f","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}],
      "messages":[{"role":"user","content":[{"type":"text","text":"q","cache_control":{"type":"ephemeral","ttl":"1h"}}]},
                  {"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]},
                  {"role":"user","content":[{"type":"tool_result","tool_use_id":"t",
                      "content":[{"type":"text","text":"r","cache_control":{"type":"ephemeral"}}]}]}]})").as_object(), &param);
  ASSERT_TRUE(chat.ok()) << chat.status().to_string();
  const auto& msgs = chat->at("messages").as_array();
  EXPECT_EQ(msgs.at(0), bj::parse(R"({"role":"system","content":[{"type":"text","text":"a"},
      {"type":"text","text":"b","cache_control":{"type":"ephemeral"}}]})"));
  EXPECT_EQ(msgs.at(1).at("content").at(0).at("cache_control"), bj::parse(R"({"type":"ephemeral","ttl":"1h"})"));
  EXPECT_EQ(msgs.at(3), bj::parse(R"({"role":"tool","tool_call_id":"t",
      "content":[{"type":"text","text":"r","cache_control":{"type":"ephemeral"}}]})"));
  EXPECT_EQ(chat->at("tools").at(0).at("cache_control"), bj::parse(R"({"type":"ephemeral"})"));
  auto plain = messages::to_chat_request(bj::parse(R"({"model":"m","max_tokens":9,
      "system":[{"type":"text","text":"a"},{"type":"text","text":"b"}],"messages":[{"role":"user","content":"q"}]})").as_object(), &param);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->at("messages").at(0).at("content"), "a\n\nb") << "unmarked: one string, as before";
}

// What an OpenAI-compatible upstream gets of a translated request: none of
// Claude's own fields.
TEST(ChatRequest, AnOpenAiUpstreamGetsNoneOfClaudesFields) {
  const auto chat = bj::parse(R"({"model":"m","thinking":{"type":"adaptive"},"output_config":{"effort":"low"},
      "anthropic_beta":["interleaved-thinking-2025-05-14"],"tools":[{"type":"function","function":{"name":"f"},"cache_control":{"type":"ephemeral"}}],
      "messages":[{"role":"system","content":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}]},
                  {"role":"user","content":"q"},
                  {"role":"assistant","content":"a","thinking_blocks":[{"type":"redacted_thinking","data":"d"}]},
                  {"role":"user","content":[{"type":"text","text":"r","cache_control":{"type":"ephemeral"}}]}]})").as_object();
  bj::object out;
  ASSERT_TRUE(without_claude_fields(chat, &out));
  EXPECT_EQ(out, bj::parse(R"({"model":"m","tools":[{"type":"function","function":{"name":"f"}}],
      "messages":[{"role":"system","content":[{"type":"text","text":"s"}]},{"role":"user","content":"q"},
                  {"role":"assistant","content":"a"},{"role":"user","content":[{"type":"text","text":"r"}]}]})").as_object());
  for (const char* one : {R"({"messages":[{"role":"assistant","content":"a","thinking_blocks":[]}]})",
                          R"({"messages":[{"role":"user","content":[{"type":"text","text":"r","cache_control":{}}]}]})",
                          R"({"output_config":{"effort":"low"},"messages":[]})",
                          R"({"anthropic_beta":["context-1m-2025-08-07"],"messages":[]})"}) {
    EXPECT_TRUE(without_claude_fields(bj::parse(one).as_object(), &out)) << one;
  }
  bj::object untouched{{"sentinel", 1}};
  EXPECT_FALSE(without_claude_fields(bj::parse(R"({"model":"m","reasoning_effort":"low",
      "messages":[{"role":"user","content":[{"type":"text","text":"q"}]}]})").as_object(), &untouched));
  EXPECT_EQ(untouched, bj::parse(R"({"sentinel":1})").as_object());

  // top_k: vLLM takes it, OpenAI's own API refuses it.
  const auto with_top_k = bj::parse(R"({"model":"m","top_k":5,"thinking":{"type":"adaptive"},"messages":[]})").as_object();
  ASSERT_TRUE(for_openai_api(with_top_k, "vllm", &out));
  EXPECT_EQ(out, bj::parse(R"({"model":"m","top_k":5,"messages":[]})").as_object());
  ASSERT_TRUE(for_openai_api(with_top_k, "openai", &out));
  EXPECT_EQ(out, bj::parse(R"({"model":"m","messages":[]})").as_object());
  const auto only_top_k = bj::parse(R"({"model":"m","top_k":5,"messages":[]})").as_object();
  EXPECT_FALSE(for_openai_api(only_top_k, "vllm", &untouched));
  ASSERT_TRUE(for_openai_api(only_top_k, "openai", &out));
  EXPECT_EQ(out, bj::parse(R"({"model":"m","messages":[]})").as_object());
}

TEST(MessagesDialect, AnswersAndStopReasons) {
  auto completion = [](const char* finish, const char* content) {
    return bj::parse(std::string(R"({"choices":[{"index":0,"message":{"role":"assistant","content":")") + content +
                     R"("},"finish_reason":")" + finish + R"("}],
        "usage":{"prompt_tokens":100,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":60}}})").as_object();
  };
  auto m = messages::to_message(completion("length", "cut"), "msg_1", "llama");
  EXPECT_EQ(m.at("stop_reason"), "max_tokens");
  EXPECT_EQ(m.at("usage"), bj::parse(R"({"input_tokens":40,"output_tokens":7,"cache_creation_input_tokens":0,
      "cache_read_input_tokens":60})"));
  EXPECT_EQ(messages::to_message(completion("content_filter", "no"), "msg_1", "llama").at("stop_reason"), "refusal");
  EXPECT_EQ(messages::to_message(completion("stop", "ok"), "msg_1", "llama").at("stop_reason"), "end_turn");
  // A stream: text, then two tool calls (each its own block), then the end.
  messages::EventWriter w("msg_2", "llama");
  std::string out = w.chunk(bj::parse(R"({"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"}}]})").as_object());
  out += w.chunk(bj::parse(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{}"}}]}}]})").as_object());
  out += w.chunk(bj::parse(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"b","function":{"name":"g","arguments":"{\"x\""}}]}}]})").as_object());
  out += w.chunk(bj::parse(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":":1}"}}]}}]})").as_object());
  out += w.chunk(bj::parse(R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})").as_object());
  out += w.end(Usage{.prompt_tokens = 3, .completion_tokens = 2, .cached_prompt_tokens = 0, .reported = true});
  std::vector<std::string> types;
  std::vector<std::int64_t> starts;
  for (std::size_t at = 0; (at = out.find("data: ", at)) != std::string::npos; at += 6) {
    auto e = bj::parse(out.substr(at + 6, out.find('\n', at) - at - 6)).as_object();
    types.emplace_back(e.at("type").as_string());
    if (types.back() == "content_block_start") starts.push_back(e.at("index").as_int64());
    if (types.back() == "message_delta") {
      EXPECT_EQ(e.at("delta").at("stop_reason"), "tool_use");
      EXPECT_EQ(e.at("usage").at("output_tokens"), 2);
    }
  }
  EXPECT_EQ(types, (std::vector<std::string>{"message_start", "content_block_start", "content_block_delta",
                                             "content_block_stop", "content_block_start", "content_block_delta",
                                             "content_block_stop", "content_block_start", "content_block_delta",
                                             "content_block_delta", "content_block_stop", "message_delta", "message_stop"}));
  EXPECT_EQ(starts, (std::vector<std::int64_t>{0, 1, 2}));
}

}  // namespace
}  // namespace spectra::ai
