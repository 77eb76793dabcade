#include "ai/redis_cache_storage.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <climits>
#include <deque>
#include <future>
#include <optional>
#include <thread>

#include "ai/resp_codec.h"
#include "common/redis_url.h"
#include "common/log.h"

namespace spectra::ai {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using boost::system::error_code;

constexpr SteadyClock::duration kBackoffMin = std::chrono::seconds(1);
constexpr SteadyClock::duration kBackoffMax = std::chrono::seconds(10);
// Redis refuses an expiry that overflows its millisecond clock; no cache
// entry needs more than this.
constexpr std::chrono::seconds kMaxTtl = std::chrono::hours(24 * 365 * 10);
constexpr std::size_t kReadChunk = 64 * 1024;

using Endpoint = RedisEndpoint;

bool is_ip_literal(const std::string& host) {
  error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

class RedisCacheStorage final : public CacheStorage, public RedisCommands {
 public:
  RedisCacheStorage(RedisCacheOptions options, Endpoint endpoint,
                    std::unique_ptr<asio::ssl::context> tls);
  ~RedisCacheStorage() override;

  asio::awaitable<std::optional<std::string>> get(const std::string& key) override;
  void put(const std::string& key, std::string value, std::chrono::seconds ttl) override;
  void erase(const std::string& key) override;
  CacheStats stats() const override;
  void set_max_bytes(std::uint64_t) override {}  // Redis's maxmemory governs
  const char* backend() const override { return "redis"; }
  std::vector<std::optional<std::string>> run(const std::vector<Command>& commands) override;

 private:
  // One command. User commands count in pending_ until finished; AUTH and
  // SELECT are the connection's own.
  struct Op {
    resp::Command command;
    std::string bytes;  // the formatted command, until handed to a connection
    SteadyClock::time_point deadline;
    bool user = true;
    bool done = false;
    std::optional<std::string> value;
    asio::steady_timer* waiter = nullptr;  // a get waiting on the backend thread
  };

  struct Conn {
    Conn(asio::io_context& ioc, asio::ssl::context* tls_ctx) : resolver(ioc), plain(ioc) {
      if (tls_ctx) tls.emplace(ioc, *tls_ctx);
    }
    tcp::socket& socket() { return tls ? tls->next_layer() : plain; }

    tcp::resolver resolver;
    tcp::socket plain;
    std::optional<asio::ssl::stream<tcp::socket>> tls;
    resp::ReplyReader reader;
    std::deque<std::shared_ptr<Op>> queue;  // every command not yet answered, in send order
    std::string out;                        // commands not yet handed to the socket
    std::string writing;                    // the bytes of the write in progress
    bool ready = false;                     // connected (and TLS handshake done)
    bool writing_now = false;
    bool closed = false;
    std::array<char, kReadChunk> in{};
  };

  // Any thread: refuses (and counts) an op the backend will not take now.
  bool admit(bool is_get);
  std::shared_ptr<Op> make_op(resp::Command command, std::string bytes);
  void send_in_background(resp::Command command, std::string bytes);
  // Backend thread only, from here on.
  void submit(const std::shared_ptr<Op>& op);
  // Until `op` is answered, failed or past its deadline (then it fails).
  asio::awaitable<void> wait_for(Op& op);
  void finish(Op& op, std::optional<std::string> value, bool failed);
  std::shared_ptr<Conn> open_connection();
  asio::awaitable<void> connect(const std::shared_ptr<Conn>& c);
  void start_read(const std::shared_ptr<Conn>& c);
  void on_read(const std::shared_ptr<Conn>& c, error_code ec, std::size_t n);
  void kick_writer(const std::shared_ptr<Conn>& c);
  void arm_watchdog();
  void on_watchdog();
  // By value: callers pass conn_, which these reset.
  void close(std::shared_ptr<Conn> c);
  void fail(std::shared_ptr<Conn> c, const std::string& why);
  void shutdown();

  const RedisCacheOptions options_;
  const Endpoint endpoint_;
  const std::string endpoint_name_;  // host:port, for logs

  std::atomic<std::uint64_t> hits_{0}, misses_{0}, errors_{0};
  std::atomic<std::size_t> pending_{0};
  std::atomic<SteadyClock::rep> backoff_until_{0};  // no connection attempts before this
  std::atomic<bool> stopping_{false};

  std::unique_ptr<asio::ssl::context> tls_;  // before every stream using it
  asio::io_context ioc_{1};
  // Backend-thread state.
  std::shared_ptr<Conn> conn_;
  asio::steady_timer watchdog_{ioc_};
  bool watchdog_armed_ = false;
  SteadyClock::duration backoff_ = kBackoffMin;

  asio::executor_work_guard<asio::io_context::executor_type> work_{ioc_.get_executor()};
  std::thread thread_;  // last: starts once everything above exists
};

RedisCacheStorage::RedisCacheStorage(RedisCacheOptions options, Endpoint endpoint,
                                     std::unique_ptr<asio::ssl::context> tls)
    : options_(std::move(options)),
      endpoint_(std::move(endpoint)),
      endpoint_name_((endpoint_.host.find(':') != std::string::npos ? "[" + endpoint_.host + "]"
                                                                    : endpoint_.host) +
                     ":" + endpoint_.port),
      tls_(std::move(tls)) {
  thread_ = std::thread([this] { ioc_.run(); });
}

RedisCacheStorage::~RedisCacheStorage() {
  stopping_ = true;
  asio::post(ioc_, [this] { shutdown(); });
  work_.reset();
  thread_.join();  // run() returns once every op has finished and every socket has closed
}

bool RedisCacheStorage::admit(bool is_get) {
  auto refuse = [&] {
    ++errors_;
    if (is_get) ++misses_;
    return false;
  };
  if (stopping_.load(std::memory_order_relaxed)) return refuse();
  if (SteadyClock::now().time_since_epoch().count() <
      backoff_until_.load(std::memory_order_relaxed))
    return refuse();
  if (pending_.fetch_add(1, std::memory_order_relaxed) >= options_.max_pending) {
    pending_.fetch_sub(1, std::memory_order_relaxed);
    return refuse();
  }
  return true;
}

std::shared_ptr<RedisCacheStorage::Op> RedisCacheStorage::make_op(resp::Command command,
                                                                  std::string bytes) {
  auto op = std::make_shared<Op>();
  op->command = command;
  op->bytes = std::move(bytes);
  op->deadline = SteadyClock::now() + options_.timeout;
  return op;
}

asio::awaitable<std::optional<std::string>> RedisCacheStorage::get(const std::string& key) {
  if (!admit(true)) co_return std::nullopt;
  const std::string name = options_.key_prefix + key;
  std::shared_ptr<Op> op = make_op(resp::Command::kGet, resp::format_command({"GET", name}));
  // The hop: the lambda runs on the backend thread; co_spawn brings its
  // result back on this coroutine's executor. Nothing below touches `this`
  // after the hop: the storage may be gone by the time we resume.
  // (The lambda and the awaitable are named locals: GCC 12 destroys
  // temporaries of a co_await full expression twice.)
  auto on_backend = [this, op]() -> asio::awaitable<std::optional<std::string>> {
    submit(op);
    co_await wait_for(*op);
    std::optional<std::string> result = std::move(op->value);
    co_return result;
  };
  asio::awaitable<std::optional<std::string>> hop =
      asio::co_spawn(ioc_.get_executor(), std::move(on_backend), asio::use_awaitable);
  std::optional<std::string> value = co_await std::move(hop);
  co_return value;
}

std::vector<std::optional<std::string>> RedisCacheStorage::run(const std::vector<Command>& commands) {
  std::vector<std::shared_ptr<Op>> ops;
  ops.reserve(commands.size());
  for (const Command& c : commands) {
    if (!admit(false)) {
      ops.push_back(nullptr);  // refused (back-off, max_pending): a failed command
      continue;
    }
    std::vector<std::string_view> args(c.args.begin(), c.args.end());
    ops.push_back(make_op(c.kind, resp::format_command(args)));
  }
  // On the backend thread: all are sent (pipelined), then each awaited as
  // get() awaits its one.
  auto on_backend = [this, ops]() -> asio::awaitable<std::vector<std::optional<std::string>>> {
    for (const auto& op : ops) {
      if (op) submit(op);
    }
    std::vector<std::optional<std::string>> values;
    values.reserve(ops.size());
    for (const auto& op : ops) {
      if (op) co_await wait_for(*op);
      values.push_back(op ? std::move(op->value) : std::nullopt);
    }
    co_return values;
  };
  std::future<std::vector<std::optional<std::string>>> done =
      asio::co_spawn(ioc_.get_executor(), std::move(on_backend), asio::use_future);
  // Every op ends by its deadline (or the destructor); the margin only
  // guards against a stuck backend thread.
  if (done.wait_for(options_.timeout * 2 + std::chrono::seconds(1)) != std::future_status::ready) {
    return std::vector<std::optional<std::string>>(commands.size());
  }
  return done.get();
}

asio::awaitable<void> RedisCacheStorage::wait_for(Op& op) {
  if (op.done) co_return;
  // A timer as the wake-up: finish() cancels it. It also expires at the
  // deadline, in case the connection's watchdog has not fired yet.
  asio::steady_timer wake(ioc_, op.deadline);
  op.waiter = &wake;
  error_code ec;
  co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  op.waiter = nullptr;
  if (op.done) co_return;
  if (SteadyClock::now() >= op.deadline) {
    if (conn_) fail(conn_, "timed out");  // the connection is stuck: it holds this op
    finish(op, std::nullopt, true);
  } else {
    finish(op, std::nullopt, false);  // the caller cancelled: a plain miss
  }
}

void RedisCacheStorage::send_in_background(resp::Command command, std::string bytes) {
  std::shared_ptr<Op> op = make_op(command, std::move(bytes));
  asio::post(ioc_, [this, op] { submit(op); });
}

void RedisCacheStorage::put(const std::string& key, std::string value, std::chrono::seconds ttl) {
  // Larger values could not be read back within the reply limit.
  if (value.size() > resp::kMaxValueBytes) return;
  if (!admit(false)) return;
  const std::string name = options_.key_prefix + key;
  if (ttl.count() <= 0) {
    // Expired on arrival, as in the memory backend: the old entry goes.
    send_in_background(resp::Command::kDel, resp::format_command({"DEL", name}));
    return;
  }
  const std::string seconds = std::to_string(std::min(ttl, kMaxTtl).count());
  send_in_background(resp::Command::kSet,
                     resp::format_command({"SET", name, value, "EX", seconds}));
}

void RedisCacheStorage::erase(const std::string& key) {
  if (!admit(false)) return;
  send_in_background(resp::Command::kDel, resp::format_command({"DEL", options_.key_prefix + key}));
}

CacheStats RedisCacheStorage::stats() const {
  CacheStats s;  // entries and bytes stay 0: Redis's INFO memory covers them
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  return s;
}

void RedisCacheStorage::submit(const std::shared_ptr<Op>& op) {
  const auto now = SteadyClock::now();
  // Refused: shutting down, backing off (it began after this op was
  // admitted), or out of time already on the way here (it would only make
  // a healthy connection time out).
  if (stopping_ || now.time_since_epoch().count() < backoff_until_.load() || now >= op->deadline) {
    finish(*op, std::nullopt, true);
    return;
  }
  if (!conn_) conn_ = open_connection();
  Conn& c = *conn_;
  c.out += op->bytes;
  std::string().swap(op->bytes);
  c.queue.push_back(op);
  arm_watchdog();
  kick_writer(conn_);
}

void RedisCacheStorage::finish(Op& op, std::optional<std::string> value, bool failed) {
  if (op.done) return;
  op.done = true;
  if (op.user) {
    pending_.fetch_sub(1, std::memory_order_relaxed);
    if (failed) ++errors_;
    if (op.command == resp::Command::kGet) {
      if (value) {
        ++hits_;
      } else {
        ++misses_;
      }
    }
    op.value = std::move(value);
  }
  if (op.waiter) op.waiter->cancel();
}

std::shared_ptr<RedisCacheStorage::Conn> RedisCacheStorage::open_connection() {
  auto c = std::make_shared<Conn>(ioc_, tls_.get());
  // AUTH and SELECT go first, pipelined with the commands that follow; the
  // connection (connect, handshake, their replies) gets one `timeout`.
  auto own = [&](resp::Command command, std::string bytes) {
    auto op = make_op(command, std::move(bytes));
    op->user = false;
    c->out += op->bytes;
    std::string().swap(op->bytes);
    c->queue.push_back(std::move(op));
  };
  if (!options_.password.empty()) {
    if (options_.username.empty()) {
      own(resp::Command::kAuth, resp::format_command({"AUTH", options_.password}));
    } else {
      own(resp::Command::kAuth,
          resp::format_command({"AUTH", options_.username, options_.password}));
    }
  }
  if (endpoint_.db != 0)
    own(resp::Command::kSelect, resp::format_command({"SELECT", std::to_string(endpoint_.db)}));
  asio::co_spawn(
      ioc_, [this, c]() -> asio::awaitable<void> { co_await connect(c); }, asio::detached);
  return c;
}

asio::awaitable<void> RedisCacheStorage::connect(const std::shared_ptr<Conn>& c) {
  error_code ec;
  // A close() (timeout, shutdown) cancels each step; c->closed tells.
  auto endpoints = co_await c->resolver.async_resolve(
      endpoint_.host, endpoint_.port, asio::redirect_error(asio::use_awaitable, ec));
  if (c->closed) co_return;
  if (ec) {
    fail(c, "cannot resolve " + endpoint_.host + ": " + ec.message());
    co_return;
  }
  co_await asio::async_connect(c->socket(), endpoints,
                               asio::redirect_error(asio::use_awaitable, ec));
  if (c->closed) co_return;
  if (ec) {
    fail(c, "cannot connect: " + ec.message());
    co_return;
  }
  c->socket().set_option(tcp::no_delay(true), ec);
  c->socket().set_option(asio::socket_base::keep_alive(true), ec);
  if (c->tls) {
    // SNI carries names only, never addresses (RFC 6066).
    if (!is_ip_literal(endpoint_.host) &&
        !SSL_set_tlsext_host_name(c->tls->native_handle(), endpoint_.host.c_str())) {
      fail(c, "cannot set the TLS server name");
      co_return;
    }
    c->tls->set_verify_callback(asio::ssl::host_name_verification(endpoint_.host));
    co_await c->tls->async_handshake(asio::ssl::stream_base::client,
                                     asio::redirect_error(asio::use_awaitable, ec));
    if (c->closed) co_return;
    if (ec) {
      fail(c, "TLS handshake: " + ec.message());
      co_return;
    }
  }
  c->ready = true;
  start_read(c);
  kick_writer(c);
}

void RedisCacheStorage::start_read(const std::shared_ptr<Conn>& c) {
  auto handler = [this, c](error_code ec, std::size_t n) { on_read(c, ec, n); };
  if (c->tls) {
    c->tls->async_read_some(asio::buffer(c->in), std::move(handler));
  } else {
    c->plain.async_read_some(asio::buffer(c->in), std::move(handler));
  }
}

void RedisCacheStorage::on_read(const std::shared_ptr<Conn>& c, error_code ec, std::size_t n) {
  if (c->closed) return;
  if (ec) {
    if (c->queue.empty()) {
      close(c);  // an idle connection the server closed (its `timeout`): reconnect on demand
    } else {
      fail(c, ec == asio::error::eof ? std::string("connection closed by the server")
                                     : "read: " + ec.message());
    }
    return;
  }
  c->reader.feed(std::string_view(c->in.data(), n));
  for (;;) {
    Result<std::optional<resp::Reply>> reply = c->reader.next();
    if (!reply.ok()) {
      fail(c, reply.status().message());
      return;
    }
    if (!reply->has_value()) break;
    if (c->queue.empty()) {
      fail(c, "a reply to no command");
      return;
    }
    std::shared_ptr<Op> op = std::move(c->queue.front());
    c->queue.pop_front();
    Result<std::optional<std::string>> outcome = resp::interpret(op->command, std::move(**reply));
    if (!outcome.ok() && op->user && outcome.status().code() == Code::kUnavailable) {
      // Redis refused this command (e.g. -OOM under maxmemory-policy
      // noeviction) but the stream is in step: this op fails, the
      // connection and the other commands on it carry on.
      finish(*op, std::nullopt, true);
      continue;
    }
    if (!outcome.ok()) {
      // A reply of the wrong type (not Redis, or out of step), or a failed
      // AUTH/SELECT (the connection is unusable): drop it.
      finish(*op, std::nullopt, true);
      fail(c, outcome.status().message());
      return;
    }
    backoff_ = kBackoffMin;
    finish(*op, std::move(*outcome), false);
  }
  start_read(c);
}

void RedisCacheStorage::kick_writer(const std::shared_ptr<Conn>& c) {
  if (c->closed || !c->ready || c->writing_now || c->out.empty()) return;
  c->writing_now = true;
  c->writing.swap(c->out);
  c->out.clear();
  auto handler = [this, c](error_code ec, std::size_t) {
    c->writing_now = false;
    if (c->writing.capacity() > (1u << 20)) {
      std::string().swap(c->writing);  // do not keep a large value's buffer
    } else {
      c->writing.clear();
    }
    if (c->closed) return;
    if (ec) {
      fail(c, "write: " + ec.message());
      return;
    }
    kick_writer(c);
  };
  if (c->tls) {
    asio::async_write(*c->tls, asio::buffer(c->writing), std::move(handler));
  } else {
    asio::async_write(c->plain, asio::buffer(c->writing), std::move(handler));
  }
}

// One timer for the connection, set to the oldest unanswered command's
// deadline (commands queue in deadline order, give or take the hop).
void RedisCacheStorage::arm_watchdog() {
  if (watchdog_armed_ || !conn_ || conn_->queue.empty()) return;
  watchdog_armed_ = true;
  watchdog_.expires_at(conn_->queue.front()->deadline);
  watchdog_.async_wait([this](error_code) { on_watchdog(); });
}

void RedisCacheStorage::on_watchdog() {
  watchdog_armed_ = false;
  if (stopping_) return;
  if (conn_ && !conn_->queue.empty() && conn_->queue.front()->deadline <= SteadyClock::now()) {
    fail(conn_, conn_->ready ? "timed out waiting for a reply" : "timed out connecting");
  }
  arm_watchdog();  // for a later command still waiting
}

void RedisCacheStorage::close(std::shared_ptr<Conn> c) {
  if (c->closed) return;
  c->closed = true;
  error_code ec;
  c->resolver.cancel();
  c->socket().close(ec);  // cancels the pending read, write or connect
  if (conn_ == c) conn_.reset();
  // Commands on it get no answer now: misses (or lost stores).
  std::deque<std::shared_ptr<Op>> queue = std::move(c->queue);
  for (const auto& op : queue) finish(*op, std::nullopt, true);
}

void RedisCacheStorage::fail(std::shared_ptr<Conn> c, const std::string& why) {
  if (c->closed) return;
  close(std::move(c));
  if (stopping_) return;
  backoff_until_ = (SteadyClock::now() + backoff_).time_since_epoch().count();
  log::warn(
      "redis cache unavailable; reading as misses",
      {{"endpoint", endpoint_name_},
       {"reason", why},
       {"retry_in_ms", std::chrono::duration_cast<std::chrono::milliseconds>(backoff_).count()}});
  backoff_ = std::min(backoff_ * 2, kBackoffMax);
}

void RedisCacheStorage::shutdown() {
  watchdog_.cancel();
  if (conn_) close(conn_);
}

}  // namespace

RedisCommands* redis_commands(CacheStorage& storage) {
  return dynamic_cast<RedisCacheStorage*>(&storage);
}

Result<std::unique_ptr<CacheStorage>> make_redis_cache_storage(RedisCacheOptions options) {
  Result<Endpoint> endpoint = parse_redis_url(options.url);
  if (!endpoint.ok()) return endpoint.status();
  if (options.timeout.count() <= 0)
    return invalid_argument("redis cache: timeout must be positive");
  if (options.max_pending == 0)
    return invalid_argument("redis cache: max_pending must be at least 1");
  if (!options.username.empty() && options.password.empty()) {
    return invalid_argument("redis cache: a username needs a password");
  }
  std::unique_ptr<asio::ssl::context> tls;
  if (endpoint->tls) {
    tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
    error_code ec;
    if (options.ca_file.empty()) {
      tls->set_default_verify_paths(ec);
    } else {
      tls->load_verify_file(options.ca_file, ec);
    }
    if (ec) {
      return invalid_argument(
          "redis cache: cannot load the CA certificates" +
          (options.ca_file.empty() ? std::string() : " from " + options.ca_file) + ": " +
          ec.message());
    }
    tls->set_verify_mode(asio::ssl::verify_peer);
  } else if (!options.ca_file.empty()) {
    return invalid_argument("redis cache: ca_file is set but the URL is not rediss:// (TLS)");
  }
  return std::unique_ptr<CacheStorage>(std::make_unique<RedisCacheStorage>(
      std::move(options), std::move(*endpoint), std::move(tls)));
}

}  // namespace spectra::ai
