// IMDSv2 credentials against a fake instance metadata service on loopback,
// through the real socket fetcher; and edge cases through a scripted fetcher.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>

#include "aws/credentials_imds.h"
#include "aws/net_fetcher.h"
#include "http/router.h"
#include "http/server.h"

namespace spectra::aws {
namespace {

using namespace std::chrono_literals;
namespace asio = http::asio;

// A tiny IMDSv2: PUT a token, then GET the role and its keys with it.
class FakeImds {
 public:
  FakeImds() {
    router_.add(http::Verb::put, "/latest/api/token",
                [this](http::Exchange& ex, const http::Params&) -> asio::awaitable<void> {
                  http::Response res = token(ex.request());
                  co_await ex.respond(std::move(res));
                });
    router_.add(http::Verb::get, "/latest/meta-data/iam/security-credentials/",
                [this](http::Exchange& ex, const http::Params&) -> asio::awaitable<void> {
                  http::Response res = guarded(ex.request(), role_ + "\n");
                  co_await ex.respond(std::move(res));
                });
    router_.add(http::Verb::get, "/latest/meta-data/iam/security-credentials/{role}",
                [this](http::Exchange& ex, const http::Params& p) -> asio::awaitable<void> {
                  http::Response res = p.at("role") == role_ ? guarded(ex.request(), document())
                                                             : plain(404, "Not Found");
                  co_await ex.respond(std::move(res));
                });
    server_ = std::make_unique<http::Server>(
        pool_, http::ServerOptions{}, [this](http::Exchange& ex) { return router_.dispatch(ex); },
        nullptr);
  }
  ~FakeImds() {
    server_->stop(1s);
    pool_.stop();
    pool_.join();
  }
  Status start() {
    Status s = server_->start();
    pool_.start();
    return s;
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

  void set_keys(std::string id, std::string expiration) {
    std::lock_guard lock(mu_);
    key_id_ = std::move(id);
    expiration_ = std::move(expiration);
  }
  int tokens_issued() const { return tokens_.load(); }
  int unauthorized() const { return unauthorized_.load(); }
  std::string last_ttl() const {
    std::lock_guard lock(mu_);
    return last_ttl_;
  }

 private:
  static http::Response plain(unsigned status, std::string body) {
    return http::text_response(static_cast<http::HttpStatus>(status), std::move(body));
  }
  http::Response token(const http::Request& req) {
    const std::string ttl(req["X-aws-ec2-metadata-token-ttl-seconds"]);
    if (ttl.empty()) return plain(400, "Bad Request");
    std::lock_guard lock(mu_);
    last_ttl_ = ttl;
    token_ = "AQAEAtoken-" + std::to_string(++tokens_);
    return plain(200, token_);
  }
  http::Response guarded(const http::Request& req, std::string body) {
    std::lock_guard lock(mu_);
    if (token_.empty() || req["X-aws-ec2-metadata-token"] != token_) {
      ++unauthorized_;
      return plain(401, "Unauthorized");
    }
    return plain(200, std::move(body));
  }
  std::string document() {
    std::lock_guard lock(mu_);
    return R"({"Code":"Success","LastUpdated":"2023-11-14T20:00:00Z","Type":"AWS-HMAC",)"
           R"("AccessKeyId":")" +
           key_id_ +
           R"(","SecretAccessKey":"imds-secret","Token":"imds-token",)"
           R"("Expiration":")" +
           expiration_ + R"("})";
  }

  http::IoPool pool_{1};
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  const std::string role_ = "gateway-role";
  mutable std::mutex mu_;
  std::string token_;  // guarded by mu_
  std::string key_id_ = "ASIAIMDS1";
  std::string expiration_ = "2023-11-14T23:13:20Z";
  std::string last_ttl_;
  std::atomic<int> tokens_{0};
  std::atomic<int> unauthorized_{0};
};

Environment imds_env(const std::string& endpoint) {
  return Environment::with_vars({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint}});
}

TEST(Imds, TokenThenRoleThenKeys) {
  FakeImds imds;
  ASSERT_TRUE(imds.start().ok());
  ImdsCredentialsProvider p(imds_env(imds.endpoint()), std::make_shared<NetHttpFetcher>());
  auto c = p.get();
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->keys.access_key_id, "ASIAIMDS1");
  EXPECT_EQ(c->keys.secret_access_key, "imds-secret");
  EXPECT_EQ(c->keys.session_token, "imds-token");
  EXPECT_EQ(c->source, "imds role gateway-role");
  ASSERT_TRUE(c->expiration);
  EXPECT_EQ(c->expiration->time_since_epoch(), std::chrono::seconds(1700003600));
  EXPECT_EQ(imds.tokens_issued(), 1);
  EXPECT_EQ(imds.unauthorized(), 0);  // every GET carried the token
  EXPECT_EQ(imds.last_ttl(), "21600");
}

TEST(Imds, RefreshBeforeExpiryThroughTheCache) {
  FakeImds imds;
  ASSERT_TRUE(imds.start().ok());
  FakeClock clock;  // starts at 2023-11-14T22:30:00Z
  std::vector<std::unique_ptr<CredentialsProvider>> chain;
  chain.push_back(std::make_unique<ImdsCredentialsProvider>(imds_env(imds.endpoint()),
                                                            std::make_shared<NetHttpFetcher>()));
  CachingCredentialsProvider cache(std::make_unique<ChainCredentialsProvider>(std::move(chain)),
                                   clock);
  imds.set_keys("ASIAFIRST", "2023-11-14T23:30:00Z");  // 1 h from the clock's start
  EXPECT_EQ(cache.get()->keys.access_key_id, "ASIAFIRST");
  imds.set_keys("ASIASECOND", "2023-11-15T05:13:21Z");
  clock.advance(50min);
  EXPECT_EQ(cache.get()->keys.access_key_id, "ASIAFIRST");  // 10 min left: still cached
  EXPECT_EQ(imds.tokens_issued(), 1);
  clock.advance(6min);  // 4 min left: refresh
  EXPECT_EQ(cache.get()->keys.access_key_id, "ASIASECOND");
  EXPECT_EQ(imds.tokens_issued(), 2);
}

TEST(Imds, NothingListeningIsNotFoundAndFast) {
  // Find a closed port: bind, note the port, close.
  std::uint16_t port = 0;
  {
    http::IoPool pool(1);
    http::Server s(
        pool, {}, [](http::Exchange&) -> asio::awaitable<void> { co_return; }, nullptr);
    ASSERT_TRUE(s.start().ok());
    port = s.port();
  }
  ImdsCredentialsProvider p(imds_env("http://127.0.0.1:" + std::to_string(port)),
                            std::make_shared<NetHttpFetcher>(300ms));
  auto c = p.get();
  EXPECT_EQ(c.status().code(), Code::kNotFound);
  EXPECT_NE(c.status().message().find("no instance metadata service"), std::string::npos);
  EXPECT_EQ(ImdsCredentialsProvider(Environment::with_vars({{"AWS_EC2_METADATA_DISABLED", "true"}}),
                                    std::make_shared<NetHttpFetcher>())
                .get()
                .status()
                .code(),
            Code::kNotFound);
}

TEST(NetFetcher, DeadlineCoversASilentServer) {
  // A server that accepts and never answers.
  http::IoPool pool(1);
  http::ServerOptions so;
  http::Server s(
      pool, so,
      [](http::Exchange& ex) -> asio::awaitable<void> {
        auto exec = co_await asio::this_coro::executor;
        asio::steady_timer t(exec, 5s);
        co_await t.async_wait(asio::use_awaitable);
        http::Response r = http::text_response(http::HttpStatus::ok, "late");
        co_await ex.respond(std::move(r));
      },
      nullptr);
  ASSERT_TRUE(s.start().ok());
  pool.start();
  NetHttpFetcher f(200ms);
  const auto start = std::chrono::steady_clock::now();
  auto r = f.fetch({"GET", "http://127.0.0.1:" + std::to_string(s.port()) + "/x", {}});
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded);
  EXPECT_LT(took, 2s);
  s.stop(100ms);
  pool.stop();
  pool.join();
  EXPECT_EQ(f.fetch({"GET", "https://127.0.0.1/x", {}}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(f.fetch({"GET", "http://metadata.example/x", {}}).status().code(),
            Code::kInvalidArgument);
}

// Answers from a table keyed by "METHOD path"; records the requests.
class TableFetcher final : public HttpFetcher {
 public:
  std::map<std::string, HttpFetchResponse> answers;
  std::vector<HttpFetchRequest> seen;
  Result<HttpFetchResponse> fetch(const HttpFetchRequest& r) override {
    seen.push_back(r);
    const std::string path = r.url.substr(r.url.find('/', 7));
    auto it = answers.find(r.method + " " + path);
    if (it == answers.end()) return unavailable("connection refused");
    return it->second;
  }
};

TEST(Imds, BadAnswersAreErrors) {
  auto run = [](std::map<std::string, HttpFetchResponse> answers) {
    auto f = std::make_shared<TableFetcher>();
    f->answers = std::move(answers);
    f->answers.emplace("PUT /latest/api/token", HttpFetchResponse{200, "tok"});
    return ImdsCredentialsProvider(Environment::with_vars({}), f).get();
  };
  const std::string roles = "GET /latest/meta-data/iam/security-credentials/";
  EXPECT_EQ(run({{roles, {404, ""}}}).status().code(), Code::kNotFound);  // no role attached
  EXPECT_EQ(run({{roles, {500, ""}}}).status().code(), Code::kUnavailable);
  EXPECT_EQ(run({{roles, {200, "bad/role"}}}).status().code(), Code::kUnavailable);
  EXPECT_EQ(run({{roles, {200, "r"}}, {roles + "r", {200, "not json"}}}).status().code(),
            Code::kUnavailable);
  EXPECT_EQ(
      run({{roles, {200, "r"}},
           {roles + "r", {200, R"({"Code":"Expired","AccessKeyId":"a","SecretAccessKey":"s"})"}}})
          .status()
          .code(),
      Code::kUnavailable);
  EXPECT_EQ(
      run({{roles, {200, "r"}}, {roles + "r", {200, R"({"AccessKeyId":"a"})"}}}).status().code(),
      Code::kUnavailable);
  EXPECT_EQ(run({{roles, {200, "r"}},
                 {roles + "r",
                  {200, R"({"AccessKeyId":"a","SecretAccessKey":"s","Expiration":"tomorrow"})"}}})
                .status()
                .code(),
            Code::kUnavailable);
  auto ok = run({{roles, {200, "r\r\nsecond-role\n"}},
                 {roles + "r", {200, R"({"AccessKeyId":"a","SecretAccessKey":"s","Token":"t"})"}}});
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_FALSE(ok->expiration);
  // The default endpoint is the link-local IMDS address.
  auto f = std::make_shared<TableFetcher>();
  (void)ImdsCredentialsProvider(Environment::with_vars({}), f).get();
  ASSERT_EQ(f->seen.size(), 1u);
  EXPECT_EQ(f->seen[0].url, "http://169.254.169.254/latest/api/token");
  EXPECT_EQ(f->seen[0].method, "PUT");
  // Token refused (IMDSv2 required and unavailable): an error, no v1 fallback.
  auto refused = std::make_shared<TableFetcher>();
  refused->answers.emplace("PUT /latest/api/token", HttpFetchResponse{403, ""});
  EXPECT_EQ(ImdsCredentialsProvider(Environment::with_vars({}), refused).get().status().code(),
            Code::kUnavailable);
  EXPECT_EQ(refused->seen.size(), 1u);
}

TEST(Iso8601, ParsesUtcTimes) {
  EXPECT_EQ(parse_iso8601_utc("2023-11-14T22:13:20Z")->time_since_epoch(),
            std::chrono::seconds(1700000000));
  EXPECT_EQ(parse_iso8601_utc("2023-11-14T22:13:20.123Z")->time_since_epoch(),
            std::chrono::seconds(1700000000));
  EXPECT_EQ(parse_iso8601_utc("2023-11-14T22:13:20+00:00")->time_since_epoch(),
            std::chrono::seconds(1700000000));
  for (const char* bad : {"", "2023-11-14", "2023-11-14T22:13:20", "2023-11-14T22:13:20+02:00",
                          "2023-13-14T22:13:20Z", "2023-02-30T22:13:20Z", "2023-11-14T25:13:20Z",
                          "2023-11-14 22:13:20Z", "-023-11-14T22:13:20Z"}) {
    EXPECT_FALSE(parse_iso8601_utc(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace spectra::aws
