// Credentials providers: environment, chain order, the refreshing cache.
#include "aws/credentials.h"

#include <gtest/gtest.h>

#include <atomic>
#include <sstream>
#include <thread>

#include "aws/credentials_imds.h"
#include "common/log.h"

namespace spectra::aws {
namespace {

using namespace std::chrono_literals;

Environment env_of(std::map<std::string, std::string> vars) {
  Environment env;
  env.getenv = [vars = std::move(vars)](const std::string& n) -> std::optional<std::string> {
    auto it = vars.find(n);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  env.read_file = [](const std::string& path) -> Result<std::string> {
    return not_found("no such file " + path);
  };
  return env;
}

TEST(EnvironmentCredentials, ReadsTheThreeVariables) {
  EnvironmentCredentialsProvider p(env_of({{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                                           {"AWS_SECRET_ACCESS_KEY", "envsecret"},
                                           {"AWS_SESSION_TOKEN", "envtoken"}}));
  auto c = p.get();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->keys.access_key_id, "AKIDENV");
  EXPECT_EQ(c->keys.secret_access_key, "envsecret");
  EXPECT_EQ(c->keys.session_token, "envtoken");
  EXPECT_EQ(c->source, "environment");
  EXPECT_FALSE(c->expiration);
}

TEST(EnvironmentCredentials, UnsetOrHalfSet) {
  EXPECT_EQ(EnvironmentCredentialsProvider(env_of({})).get().status().code(), Code::kNotFound);
  // Empty counts as unset.
  EXPECT_EQ(
      EnvironmentCredentialsProvider(env_of({{"AWS_ACCESS_KEY_ID", ""}})).get().status().code(),
      Code::kNotFound);
  auto half = EnvironmentCredentialsProvider(env_of({{"AWS_ACCESS_KEY_ID", "AKID"}})).get();
  EXPECT_EQ(half.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(EnvironmentCredentialsProvider(env_of({{"AWS_SECRET_ACCESS_KEY", "s"}}))
                .get()
                .status()
                .code(),
            Code::kInvalidArgument);
}

TEST(Credentials, PrintingMasksSecrets) {
  Credentials c;
  c.keys = {"AKIDPRINT", "very-secret-key", "very-secret-token"};
  c.source = "test";
  c.expiration = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  std::ostringstream os;
  os << c;
  EXPECT_EQ(os.str().find("very-secret"), std::string::npos) << os.str();
  EXPECT_NE(os.str().find("AKIDPRINT"), std::string::npos);
  EXPECT_NE(os.str().find("secret=***"), std::string::npos);
  EXPECT_NE(os.str().find("20231114T221320Z"), std::string::npos) << os.str();
  std::ostringstream gtest_print;
  PrintTo(c, &gtest_print);
  EXPECT_EQ(gtest_print.str(), os.str());
}

// A provider that answers from a script and counts calls.
class ScriptedProvider final : public CredentialsProvider {
 public:
  explicit ScriptedProvider(std::string name, std::atomic<int>* calls = nullptr)
      : name_(std::move(name)), calls_(calls) {}
  std::vector<Result<Credentials>> answers;  // the last one repeats
  Result<Credentials> get() override {
    if (calls_) ++*calls_;
    const std::size_t i = std::min(next_++, answers.size() - 1);
    return answers[i];
  }
  std::string name() const override { return name_; }

 private:
  std::string name_;
  std::atomic<int>* calls_;
  std::size_t next_ = 0;
};

Credentials creds(std::string id, std::optional<std::chrono::system_clock::time_point> exp = {}) {
  Credentials c;
  const std::string secret = "secret-of-" + id;
  c.keys = {std::move(id), secret, "token"};
  c.expiration = exp;
  c.source = "scripted";
  return c;
}

std::unique_ptr<ScriptedProvider> scripted(std::string name, std::vector<Result<Credentials>> a,
                                           std::atomic<int>* calls = nullptr) {
  auto p = std::make_unique<ScriptedProvider>(std::move(name), calls);
  p->answers = std::move(a);
  return p;
}

TEST(ChainCredentials, FirstConfiguredSourceWinsInOrder) {
  std::atomic<int> env_calls{0}, files_calls{0}, imds_calls{0};
  std::vector<std::unique_ptr<CredentialsProvider>> ps;
  ps.push_back(scripted("environment", {not_found("unset")}, &env_calls));
  ps.push_back(scripted("shared-files", {creds("AKIDFILES")}, &files_calls));
  ps.push_back(scripted("imds", {creds("AKIDIMDS")}, &imds_calls));
  ChainCredentialsProvider chain(std::move(ps));
  auto c = chain.get();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->keys.access_key_id, "AKIDFILES");
  EXPECT_EQ(env_calls.load(), 1);
  EXPECT_EQ(files_calls.load(), 1);
  EXPECT_EQ(imds_calls.load(), 0);  // never asked
}

TEST(ChainCredentials, BrokenSourceStopsTheChain) {
  std::atomic<int> imds_calls{0};
  std::vector<std::unique_ptr<CredentialsProvider>> ps;
  ps.push_back(scripted("environment", {invalid_argument("only one of the pair set")}));
  ps.push_back(scripted("imds", {creds("AKIDIMDS")}, &imds_calls));
  auto c = ChainCredentialsProvider(std::move(ps)).get();
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("environment: only one"), std::string::npos);
  EXPECT_EQ(imds_calls.load(), 0);
}

TEST(ChainCredentials, NothingConfiguredNamesEverySource) {
  std::vector<std::unique_ptr<CredentialsProvider>> ps;
  ps.push_back(scripted("environment", {not_found("unset")}));
  ps.push_back(scripted("imds", {not_found("not on EC2")}));
  auto c = ChainCredentialsProvider(std::move(ps)).get();
  EXPECT_EQ(c.status().code(), Code::kNotFound);
  EXPECT_NE(c.status().message().find("environment: unset; imds: not on EC2"), std::string::npos);
}

TEST(ChainCredentials, DefaultChainPrefersTheEnvironment) {
  auto chain = default_credentials_chain(
      env_of({{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "s"}}), nullptr,
      SystemClock::instance());
  auto c = chain->get();
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->source, "environment");
  // No variables, no files, no IMDS fetcher: nothing found, each source named.
  auto none = default_credentials_chain(env_of({{"AWS_EC2_METADATA_DISABLED", "true"}}), nullptr,
                                        SystemClock::instance())
                  ->get();
  EXPECT_EQ(none.status().code(), Code::kNotFound);
  EXPECT_NE(none.status().message().find("imds: AWS_EC2_METADATA_DISABLED"), std::string::npos)
      << none.status().message();
}

class CacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::set_sink([this](std::string_view line) {
      std::lock_guard lock(mu_);
      logs_.emplace_back(line);
    });
  }
  void TearDown() override { log::set_sink({}); }

  std::vector<std::string> logs() {
    std::lock_guard lock(mu_);
    return logs_;
  }

  FakeClock clock_;
  std::atomic<int> calls_{0};
  std::mutex mu_;
  std::vector<std::string> logs_;
};

TEST_F(CacheTest, RefreshesInsideTheMarginBeforeExpiry) {
  const auto t0 = clock_.system_now();
  auto inner = scripted("imds", {creds("AKID1", t0 + 1h), creds("AKID2", t0 + 2h)}, &calls_);
  CachingCredentialsProvider cache(std::move(inner), clock_);  // 5 min margin
  EXPECT_EQ(cache.get()->keys.access_key_id, "AKID1");
  clock_.advance(54min);  // 6 min left: still outside the margin
  EXPECT_EQ(cache.get()->keys.access_key_id, "AKID1");
  EXPECT_EQ(calls_.load(), 1);
  clock_.advance(2min);  // 4 min left: refresh now, before anything expires
  EXPECT_EQ(cache.get()->keys.access_key_id, "AKID2");
  EXPECT_EQ(calls_.load(), 2);
  EXPECT_EQ(cache.get()->keys.access_key_id, "AKID2");
  EXPECT_EQ(calls_.load(), 2);
}

TEST_F(CacheTest, FailedRefreshKeepsServingUntilExpiryThenFails) {
  const auto t0 = clock_.system_now();
  auto inner = scripted("imds", {creds("AKID1", t0 + 1h), unavailable("imds down")}, &calls_);
  CachingCredentialsProvider cache(std::move(inner), clock_, {5min, 10s});
  ASSERT_TRUE(cache.get().ok());
  clock_.advance(57min);  // inside the margin; the refresh fails
  EXPECT_EQ(cache.get()->keys.access_key_id, "AKID1");
  EXPECT_EQ(calls_.load(), 2);
  clock_.advance(5s);  // within the retry interval: no new attempt
  EXPECT_EQ(cache.get()->keys.access_key_id, "AKID1");
  EXPECT_EQ(calls_.load(), 2);
  clock_.advance(6s);  // retry interval passed: try again (fails again)
  EXPECT_EQ(cache.get()->keys.access_key_id, "AKID1");
  EXPECT_EQ(calls_.load(), 3);
  clock_.advance(3min);  // expired now
  auto after = cache.get();
  EXPECT_EQ(after.status().code(), Code::kUnavailable);
  // The log said what happened and never printed a secret.
  bool warned = false;
  for (const std::string& line : logs()) {
    EXPECT_EQ(line.find("secret-of"), std::string::npos) << line;
    EXPECT_EQ(line.find("\"token\""), std::string::npos) << line;
    if (line.find("refresh failed") != std::string::npos) warned = true;
  }
  EXPECT_TRUE(warned);
}

TEST_F(CacheTest, LongLivedKeysAreFetchedOnceAndInvalidateForcesAFetch) {
  CachingCredentialsProvider cache(scripted("files", {creds("AKIDSTATIC")}, &calls_), clock_);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(cache.get().ok());
    clock_.advance(24h);
  }
  EXPECT_EQ(calls_.load(), 1);
  cache.invalidate();
  ASSERT_TRUE(cache.get().ok());
  EXPECT_EQ(calls_.load(), 2);
  EXPECT_EQ(cache.name(), "cached files");
}

TEST_F(CacheTest, NoCachedKeysAndAFailureIsAnError) {
  CachingCredentialsProvider cache(scripted("imds", {not_found("not on EC2")}, &calls_), clock_);
  EXPECT_EQ(cache.get().status().code(), Code::kNotFound);
  // Without cached keys there is nothing to serve: every call asks again.
  EXPECT_EQ(cache.get().status().code(), Code::kNotFound);
  EXPECT_EQ(calls_.load(), 2);
}

TEST_F(CacheTest, ConcurrentCallersShareOneRefresh) {
  const auto t0 = clock_.system_now();
  CachingCredentialsProvider cache(scripted("imds", {creds("AKID", t0 + 6h)}, &calls_), clock_);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 100; ++j) {
        if (cache.get().ok()) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 800);
  EXPECT_EQ(calls_.load(), 1);
}

}  // namespace
}  // namespace spectra::aws
