// The Redis backend where it differs from the others: a Redis that is down,
// silent, raving or restarted reads as misses within the timeout and is
// counted; AUTH, SELECT, the key prefix, the pending bound, the destructor,
// URL validation and TLS. Against a real redis-server, or against a socket
// the test owns when the server must misbehave. Loopback only.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ai/redis_cache_storage.h"
#include "cache_test_util.h"
#include "redis_server.h"
#include "test_pki.h"

namespace spectra::ai {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using spectra::testing::RedisServer;
using SteadyClock = std::chrono::steady_clock;

using test::eventually;
using test::get_now;

std::unique_ptr<CacheStorage> make(RedisCacheOptions o) {
  auto made = make_redis_cache_storage(std::move(o));
  EXPECT_TRUE(made.ok()) << made.status().to_string();
  return made.ok() ? std::move(*made) : nullptr;
}

RedisCacheOptions options_for(const std::string& url, std::chrono::milliseconds timeout = 1s) {
  RedisCacheOptions o;
  o.url = url;
  o.timeout = timeout;
  return o;
}

std::string bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

// A TCP server on 127.0.0.1 that is not Redis: it accepts, keeps what it is
// sent, and answers the first bytes of each connection with `reply` (an
// empty reply: never answers), then closes if asked to.
class FakeServer {
 public:
  explicit FakeServer(std::string reply = {}, bool close_after_reply = false)
      : reply_(std::move(reply)), close_after_reply_(close_after_reply) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(listen_fd_, 16), 0);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~FakeServer() {
    stop_ = true;
    thread_.join();
    for (int fd : clients_) ::close(fd);
    ::close(listen_fd_);
  }
  std::uint16_t port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return accepted_.load(); }
  std::string received() const {
    std::lock_guard lock(mu_);
    return received_;
  }
  int commands_received(const std::string& name) const {
    const std::string needle = "\r\n" + bulk(name);
    const std::string all = received();
    int n = 0;
    for (std::size_t p = all.find(needle); p != std::string::npos; p = all.find(needle, p + 1)) ++n;
    return n;
  }

 private:
  void loop() {
    while (!stop_) {
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      for (int fd : clients_) fds.push_back({fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 10) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK);
        if (fd >= 0) {
          clients_.push_back(fd);
          ++accepted_;
        }
      }
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const int fd = fds[i].fd;
        char buf[65536];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
          drop(fd);
          continue;
        }
        {
          std::lock_guard lock(mu_);
          received_.append(buf, static_cast<std::size_t>(n));
        }
        if (answered_.insert(fd).second) {
          if (!reply_.empty()) ::send(fd, reply_.data(), reply_.size(), MSG_NOSIGNAL);
          if (close_after_reply_) drop(fd);
        }
      }
    }
  }
  void drop(int fd) {
    ::close(fd);
    std::erase(clients_, fd);
    answered_.erase(fd);
  }

  const std::string reply_;
  const bool close_after_reply_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::vector<int> clients_;  // the server thread's
  std::set<int> answered_;    // the server thread's
  std::atomic<int> accepted_{0};
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::string received_;  // guarded by mu_
  std::thread thread_;
};

// Gets started on a thread of their own, to be in flight while the test
// does something else.
class BackgroundGets {
 public:
  BackgroundGets() : thread_([this] { io_.run(); }) {}
  ~BackgroundGets() {
    work_.reset();
    io_.stop();
    thread_.join();
  }
  void start(CacheStorage& s, std::string key) {
    keys_.push_back(std::make_unique<std::string>(std::move(key)));
    const std::string& k = *keys_.back();
    asio::co_spawn(io_, s.get(k), [this](std::exception_ptr, std::optional<std::string> v) {
      std::lock_guard lock(mu_);
      results_.push_back(std::move(v));
    });
  }
  std::vector<std::optional<std::string>> results() {
    std::lock_guard lock(mu_);
    return results_;
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::vector<std::unique_ptr<std::string>> keys_;
  std::mutex mu_;
  std::vector<std::optional<std::string>> results_;
  std::thread thread_;
};

TEST(RedisCache, AnUnreachableServerMissesAndBacksOff) {
  const std::uint16_t closed = spectra::testing::pick_free_port();  // nobody listens there
  auto s = make(options_for("redis://127.0.0.1:" + std::to_string(closed), 300ms));
  ASSERT_TRUE(s);
  auto t0 = SteadyClock::now();
  EXPECT_EQ(get_now(*s, "k"), std::nullopt);
  EXPECT_LT(SteadyClock::now() - t0, 800ms);  // refused: well within the timeout (plus slack)
  EXPECT_GE(s->stats().errors, 1u);
  const CacheStats before = s->stats();
  t0 = SteadyClock::now();
  EXPECT_EQ(get_now(*s, "k"), std::nullopt);  // backing off: no connection attempt
  s->put("k", "v", 60s);                      // dropped
  EXPECT_LT(SteadyClock::now() - t0, 100ms);
  EXPECT_EQ(s->stats().errors, before.errors + 2);
  EXPECT_EQ(s->stats().misses, before.misses + 1);
}

TEST(RedisCache, ASilentServerTimesOutThenBacksOffWithoutConnecting) {
  FakeServer silent;
  auto s = make(options_for(silent.url(), 200ms));
  ASSERT_TRUE(s);
  auto t0 = SteadyClock::now();
  EXPECT_EQ(get_now(*s, "k"), std::nullopt);
  const auto waited = SteadyClock::now() - t0;
  EXPECT_GE(waited, 150ms);
  EXPECT_LT(waited, 1s);  // about the timeout, not a hang
  EXPECT_GE(s->stats().errors, 1u);
  EXPECT_EQ(silent.connections(), 1);
  EXPECT_EQ(silent.commands_received("GET"), 1);
  // The back-off (1 s): answers at once, touches no network.
  t0 = SteadyClock::now();
  EXPECT_EQ(get_now(*s, "k"), std::nullopt);
  EXPECT_LT(SteadyClock::now() - t0, 100ms);
  EXPECT_EQ(silent.connections(), 1);
}

class RedisCacheGarbage : public ::testing::TestWithParam<std::pair<std::string, bool>> {};

TEST_P(RedisCacheGarbage, ReadsAsAMissAndAnError) {
  FakeServer raving(GetParam().first, GetParam().second);
  auto s = make(options_for(raving.url(), 1s));
  ASSERT_TRUE(s);
  const auto t0 = SteadyClock::now();
  EXPECT_EQ(get_now(*s, "k"), std::nullopt);
  EXPECT_LT(SteadyClock::now() - t0, 900ms);  // failed on the reply, not on the timeout
  EXPECT_EQ(s->stats().errors, 1u);
  EXPECT_EQ(s->stats().misses, 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Replies, RedisCacheGarbage,
    ::testing::Values(std::make_pair(std::string("hello world\r\n"), false),  // not RESP
                      std::make_pair(std::string("\x00\xff\x10garbage", 10),
                                     false),                          // binary noise
                      std::make_pair(std::string("+OK\r\n"), false),  // wrong type for GET
                      std::make_pair(std::string(":12\r\n"), false),
                      std::make_pair(std::string("*1\r\n$1\r\nx\r\n"), false),  // an array
                      std::make_pair(std::string("*2000000000\r\n"), false),  // a huge array count
                      std::make_pair(std::string("-ERR no\r\n"), false),      // an error reply
                      std::make_pair(std::string("$5\r\nab"), true),  // cut off, then closed
                      std::make_pair(std::string(), true)));          // closed unanswered

// Redis refusing a command (here -OOM under maxmemory with noeviction)
// fails that command only: the connection stays, the next get hits at once.
TEST(RedisCache, AnErrorReplyFailsOnlyItsCommand) {
  RedisServer::Options so;
  so.extra_args = {"--maxmemory", "2mb", "--maxmemory-policy", "noeviction"};
  RedisServer redis(so);
  ASSERT_TRUE(redis.start());
  auto s = make(options_for(redis.url(), 1s));
  ASSERT_TRUE(s);
  s->put("small", "v", 60s);
  ASSERT_TRUE(eventually([&] { return get_now(*s, "small") == "v"; }));
  const std::string big(1 << 20, 'x');
  for (int i = 0; i < 4; ++i) s->put("big" + std::to_string(i), big, 60s);
  ASSERT_TRUE(eventually([&] { return s->stats().errors >= 1; }));
  // Not backing off (a get would read as a miss at once): the connection
  // carried on.
  EXPECT_EQ(get_now(*s, "small"), "v");
  EXPECT_EQ(get_now(*s, "small"), "v");
}

TEST(RedisCache, AKilledServerReadsAsMissesAndIsUsedAgainOnceBack) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  auto s = make(options_for(redis.url(), 500ms));
  ASSERT_TRUE(s);
  s->put("k", "v", 60s);
  ASSERT_TRUE(eventually([&] { return get_now(*s, "k") == "v"; }));
  redis.stop();
  EXPECT_EQ(get_now(*s, "k"), std::nullopt);
  EXPECT_GE(s->stats().errors, 1u);
  ASSERT_TRUE(redis.start());  // same port; empty (no persistence)
  const auto back = SteadyClock::now();
  EXPECT_TRUE(eventually(
      [&] {
        s->put("k", "again", 60s);  // dropped while backing off
        return get_now(*s, "k") == "again";
      },
      15s));
  EXPECT_LT(SteadyClock::now() - back, 12s);  // back-off is at most 10 s
}

TEST(RedisCache, AuthenticatesWithThePasswordOrUserAndPassword) {
  RedisServer::Options so;
  so.extra_args = {"--requirepass", "s3cret"};
  so.password = "s3cret";
  RedisServer redis(so);
  ASSERT_TRUE(redis.start());
  ASSERT_EQ(redis.command({"ACL", "SETUSER", "alice", "on", ">alicepw", "~*", "+@all"}), "+OK\r\n");

  RedisCacheOptions right = options_for(redis.url());
  right.password = "s3cret";
  auto s = make(right);
  ASSERT_TRUE(s);
  s->put("k", "v", 60s);
  EXPECT_TRUE(eventually([&] { return get_now(*s, "k") == "v"; }));
  EXPECT_EQ(s->stats().errors, 0u);

  RedisCacheOptions user = options_for(redis.url());
  user.username = "alice";
  user.password = "alicepw";
  auto a = make(user);
  ASSERT_TRUE(a);
  EXPECT_TRUE(eventually([&] { return get_now(*a, "k") == "v"; }));
  EXPECT_EQ(a->stats().errors, 0u);

  for (auto [username, password] :
       {std::pair<std::string, std::string>{"", "wrong"}, {"alice", "s3cret"}, {"", ""}}) {
    RedisCacheOptions bad = options_for(redis.url());
    bad.username = username;
    bad.password = password;
    auto b = make(bad);
    ASSERT_TRUE(b);
    b->put("stored-by-bad", "x", 60s);
    EXPECT_EQ(get_now(*b, "k"), std::nullopt) << "user '" << username << "'";
    EXPECT_GE(b->stats().errors, 1u);
  }
  EXPECT_EQ(redis.command({"EXISTS", "spectra:ai:cache:stored-by-bad"}), ":0\r\n");
}

TEST(RedisCache, EachDatabaseIsSeparate) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  auto one = make(options_for(redis.url(1)));
  auto two = make(options_for(redis.url(2)));
  ASSERT_TRUE(one && two);
  one->put("k", "in db 1", 60s);
  two->put("k", "in db 2", 60s);
  EXPECT_TRUE(eventually([&] { return get_now(*one, "k") == "in db 1"; }));
  EXPECT_TRUE(eventually([&] { return get_now(*two, "k") == "in db 2"; }));
  EXPECT_EQ(redis.commands({{"SELECT", "1"}, {"GET", "spectra:ai:cache:k"}}).back(),
            bulk("in db 1"));
  EXPECT_EQ(redis.command({"EXISTS", "spectra:ai:cache:k"}), ":0\r\n");  // db 0
}

TEST(RedisCache, TheKeyPrefixSeparatesCaches) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  RedisCacheOptions oa = options_for(redis.url());
  oa.key_prefix = "a:";
  RedisCacheOptions ob = options_for(redis.url());
  ob.key_prefix = "b:";
  auto a = make(oa);
  auto b = make(ob);
  ASSERT_TRUE(a && b);
  a->put("k", "from a", 60s);
  EXPECT_TRUE(eventually([&] { return get_now(*a, "k") == "from a"; }));
  EXPECT_EQ(get_now(*b, "k"), std::nullopt);
  EXPECT_EQ(redis.command({"GET", "a:k"}), bulk("from a"));
  EXPECT_EQ(redis.command({"EXISTS", "k"}), ":0\r\n");
  a->erase("k");
  EXPECT_TRUE(eventually([&] { return redis.command({"EXISTS", "a:k"}) == ":0\r\n"; }));
}

TEST(RedisCache, BeyondMaxPendingGetsMissAndPutsAreDropped) {
  FakeServer silent;
  BackgroundGets in_flight;  // first: outlives the storage, which answers its gets when it goes
  RedisCacheOptions o = options_for(silent.url(), 5s);
  o.max_pending = 4;
  auto s = make(o);
  ASSERT_TRUE(s);
  for (int i = 0; i < 4; ++i) in_flight.start(*s, "k" + std::to_string(i));
  ASSERT_TRUE(
      eventually([&] { return silent.commands_received("GET") == 4; }));  // pipelined, unanswered
  const auto t0 = SteadyClock::now();
  EXPECT_EQ(get_now(*s, "over"), std::nullopt);
  s->put("over", "v", 60s);
  s->erase("over");
  EXPECT_LT(SteadyClock::now() - t0, 500ms);  // at once, not after the 5 s timeout
  EXPECT_EQ(s->stats().errors, 3u);
  EXPECT_EQ(s->stats().misses, 1u);
  EXPECT_TRUE(in_flight.results().empty());  // still waiting
  s.reset();
  EXPECT_TRUE(eventually([&] { return in_flight.results().size() == 4; }, 2s));
  EXPECT_EQ(silent.commands_received("SET"), 0);
  EXPECT_EQ(silent.commands_received("DEL"), 0);
}

TEST(RedisCache, TheDestructorAnswersOpsInFlightAsMisses) {
  FakeServer silent;
  BackgroundGets in_flight;
  auto s = make(options_for(silent.url(), 10s));
  ASSERT_TRUE(s);
  for (int i = 0; i < 3; ++i) in_flight.start(*s, "k" + std::to_string(i));
  s->put("p", "v", 60s);
  ASSERT_TRUE(eventually([&] {
    return silent.commands_received("GET") == 3 && silent.commands_received("SET") == 1;
  }));
  const auto t0 = SteadyClock::now();
  s.reset();
  EXPECT_LT(SteadyClock::now() - t0, 1s);  // not the 10 s timeout
  ASSERT_TRUE(eventually([&] { return in_flight.results().size() == 3; }, 2s));
  for (const auto& r : in_flight.results()) EXPECT_EQ(r, std::nullopt);
}

TEST(RedisCache, TheUrlIsValidated) {
  const std::vector<std::string> good = {"redis://127.0.0.1",
                                         "redis://localhost:6380",
                                         "redis://cache.example.com:6379/0",
                                         "redis://h:1/15",
                                         "redis://h/",
                                         "redis://[::1]",
                                         "redis://[::1]:7000/3",
                                         "rediss://cache.example.com",
                                         "rediss://10.0.0.1:6380/2"};
  for (const auto& url : good) {
    auto r = make_redis_cache_storage(options_for(url));
    EXPECT_TRUE(r.ok()) << url << ": " << r.status().to_string();
  }
  struct Bad {
    std::string url;
    std::string says;  // part of the message
  };
  const std::vector<Bad> bad = {
      {"http://h:6379", "redis://"},
      {"REDIS://h", "redis://"},
      {"h:6379", "redis://"},
      {"", "redis://"},
      {"redis://", "no host"},
      {"redis://:6379", "no host"},
      {"redis:///1", "no host"},
      {"redis://h:0", "port"},
      {"redis://h:65536", "port"},
      {"redis://h:99999999", "port"},
      {"redis://h:abc", "port"},
      {"redis://h:", "port"},
      {"redis://h:-1", "port"},
      {"redis://h/x", "database"},
      {"redis://h/-1", "database"},
      {"redis://h/1/2", "database"},
      {"redis://h/99999999999", "database"},
      {"redis://h/2147483648", "database"},
      {"redis://user:hunter2@h", "password"},
      {"redis://:hunter2@h:6379", "password"},
      {"rediss://hunter2@h", "password"},
      {"redis://h?db=1", "query"},
      {"redis://h/1?password=hunter2", "query"},
      {"redis://h#x", "query"},
      {"redis://::1", "brackets"},
      {"redis://[::1", "IPv6"},
      {"redis://[not-v6]:1", "IPv6"},
      {"redis://[127.0.0.1]", "IPv6"},
      {"redis://[::1]x", "after ]"},
      {"redis://ho st", "host"},
  };
  for (const auto& b : bad) {
    auto r = make_redis_cache_storage(options_for(b.url));
    ASSERT_FALSE(r.ok()) << b.url;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << b.url;
    EXPECT_NE(r.status().message().find(b.says), std::string::npos)
        << b.url << ": " << r.status().message();
    EXPECT_EQ(r.status().message().find("hunter2"), std::string::npos)
        << "a secret in the message: " << b.url;
  }
  RedisCacheOptions o = options_for("redis://h");
  o.timeout = 0ms;
  EXPECT_FALSE(make_redis_cache_storage(o).ok());
  o = options_for("redis://h");
  o.max_pending = 0;
  EXPECT_FALSE(make_redis_cache_storage(o).ok());
  o = options_for("redis://h");
  o.username = "alice";  // without a password
  EXPECT_FALSE(make_redis_cache_storage(o).ok());
  o = options_for("redis://h");
  o.ca_file = "/etc/ssl/certs/ca-certificates.crt";  // only for rediss://
  EXPECT_FALSE(make_redis_cache_storage(o).ok());
  o = options_for("rediss://h");
  o.ca_file = "/nonexistent/ca.pem";
  EXPECT_FALSE(make_redis_cache_storage(o).ok());
}

// rediss://: a CA and two server certificates made with the openssl CLI at
// test time: one for localhost and 127.0.0.1, one for another name.
class RedisCacheTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() /
           ("spectra-redis-tls-" + std::to_string(::getpid()));
    ok_ = spectra::testing::make_test_pki(dir_, {{"good", "DNS:localhost,IP:127.0.0.1"},
                                                 {"other", "DNS:other.example"}})
              .ok;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void SetUp() override {
    ASSERT_TRUE(ok_) << "openssl failed; see " << (dir_ / "openssl.log").string();
  }

  static RedisServer::Options server(const std::string& cert) {
    RedisServer::Options o;
    o.tls = true;
    o.extra_args = {"--tls-cert-file",    (dir_ / (cert + ".crt")).string(),
                    "--tls-key-file",     (dir_ / (cert + ".key")).string(),
                    "--tls-ca-cert-file", (dir_ / "ca.crt").string(),
                    "--tls-auth-clients", "no"};
    return o;
  }
  static std::string ca() { return (dir_ / "ca.crt").string(); }

  static inline std::filesystem::path dir_;
  static inline bool ok_ = false;
};

TEST_F(RedisCacheTls, StoresAndReadsOverTlsWithTheGivenCa) {
  RedisServer redis(server("good"));
  ASSERT_TRUE(redis.start());
  RedisCacheOptions o = options_for(redis.url());  // rediss://127.0.0.1:port: the IP is checked
  o.ca_file = ca();
  auto s = make(o);
  ASSERT_TRUE(s);
  s->put("k", std::string("tls\0bytes\r\n", 11), 60s);
  EXPECT_TRUE(eventually([&] { return get_now(*s, "k") == std::string("tls\0bytes\r\n", 11); }));
  EXPECT_EQ(s->stats().errors, 0u);
}

TEST_F(RedisCacheTls, ChecksTheNameOfAServerReachedByName) {
  RedisServer redis(server("good"));
  ASSERT_TRUE(redis.start());
  const std::string by_name = "rediss://localhost:" + std::to_string(redis.port());
  RedisCacheOptions o = options_for(by_name);
  o.ca_file = ca();
  auto s = make(o);
  ASSERT_TRUE(s);
  s->put("k", "v", 60s);
  EXPECT_TRUE(eventually([&] { return get_now(*s, "k") == "v"; }))
      << "is localhost 127.0.0.1 here?";
  EXPECT_EQ(s->stats().errors, 0u);
}

TEST_F(RedisCacheTls, AnUntrustedCertificateReadsAsMisses) {
  RedisServer redis(server("good"));
  ASSERT_TRUE(redis.start());
  auto s = make(options_for(redis.url()));  // the system CAs do not include the test CA
  ASSERT_TRUE(s);
  EXPECT_EQ(get_now(*s, "k"), std::nullopt);
  EXPECT_EQ(s->stats().errors, 1u);
}

TEST_F(RedisCacheTls, ACertificateForAnotherNameReadsAsMisses) {
  RedisServer redis(server("other"));
  ASSERT_TRUE(redis.start());
  RedisCacheOptions o = options_for(redis.url());
  o.ca_file = ca();  // trusted, but not for 127.0.0.1
  auto s = make(o);
  ASSERT_TRUE(s);
  EXPECT_EQ(get_now(*s, "k"), std::nullopt);
  EXPECT_EQ(s->stats().errors, 1u);
}

TEST_F(RedisCacheTls, APlainClientOnATlsPortReadsAsMisses) {
  RedisServer redis(server("good"));
  ASSERT_TRUE(redis.start());
  auto s = make(options_for("redis://127.0.0.1:" + std::to_string(redis.port()), 500ms));
  ASSERT_TRUE(s);
  EXPECT_EQ(get_now(*s, "k"), std::nullopt);
  EXPECT_GE(s->stats().errors, 1u);
}

}  // namespace
}  // namespace spectra::ai
