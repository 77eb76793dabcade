#pragma once
// The HTTP/1.1 server shared by the config API and the AI gateway.
//
// Contract:
// - Each connection runs as one coroutine on one io_context of the pool;
//   between requests an idle keep-alive connection may be moved to another
//   (conn_balancer.h), so per-connection state lives in the connection.
// - Header and body have size limits (431 / 413) and whole-phase deadlines,
//   so a slow client cannot hold a connection open by trickling bytes.
// - Handlers are coroutines that answer through an Exchange: one complete
//   response, or a chunked stream (for SSE). If a handler returns without
//   answering, the server answers 500.
// - stop() drains: no new connections, idle keep-alive connections close,
//   in-flight requests finish (up to the drain deadline).
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "http/conn_balancer.h"
#include "http/io_pool.h"
#include "http/types.h"
#include "metrics/metrics.h"

namespace spectra::http {

struct ServerOptions {
  std::string name = "http";  // label in metrics and logs
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0 = ephemeral; see Server::port()
  std::size_t header_limit = 16 * 1024;
  std::size_t body_limit = 1024 * 1024;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds write_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::size_t max_connections = 10'000;
  std::size_t max_requests_per_connection = 10'000;
  // The shape of the errors the server answers by itself (431, 413, 400 for
  // malformed HTTP, 500 when a handler did not answer).
  ErrorFormat error_format = &plain_error;
};

class Connection;

// One request and its answer.
class Exchange {
 public:
  Exchange(Connection& conn, Request& req, RequestInfo info) : conn_(conn), req_(req), info_(std::move(info)) {}

  Request& request() { return req_; }
  const RequestInfo& info() const { return info_; }

  // Sends a complete response. Call once. Coroutine parameters here are
  // references, never non-trivial values: GCC 12 miscompiles some by-value
  // coroutine parameters and conditional temporaries inside co_await
  // (double frees under ASan), so callers build the response in a named
  // local first and pass it with std::move.
  asio::awaitable<void> respond(Response&& res);
  // Starts a chunked response; then write() any number of times, then
  // finish(). With send_now false the header waits and goes out in the same
  // write as the first chunk (one send instead of two; use it when the
  // first chunk is ready, so the client sees no later first byte).
  asio::awaitable<bool> begin_stream(bhttp::response<bhttp::empty_body>&& head, bool send_now = true);
  asio::awaitable<bool> write(std::string_view data);
  // Ends the stream; `last` (if any) is sent as a final chunk in the same write.
  asio::awaitable<void> finish(std::string_view last = {});

  bool answered() const { return answered_; }
  unsigned status_code() const { return status_code_; }

  // A header for whatever answer this exchange sends (set before it goes:
  // respond() or begin_stream()), e.g. rate-limit headers known before the
  // handler knows how it will answer. Replaces one of the same name.
  void add_header(std::string name, std::string value) { extra_headers_.emplace_back(std::move(name), std::move(value)); }

 private:
  friend class Connection;
  // Sends pending_ (a held header), `data` as one chunk (if any) and, when
  // `last`, the terminating chunk, in one write.
  asio::awaitable<bool> send_frame(std::string_view data, bool last);
  Connection& conn_;
  Request& req_;
  RequestInfo info_;
  bool answered_ = false;
  bool streaming_ = false;
  bool failed_ = false;
  bool finished_ = false;  // a stream's terminating chunk went out
  unsigned status_code_ = 0;
  std::string pending_;  // a streamed response's header not sent yet
  std::vector<std::pair<std::string, std::string>> extra_headers_;
};

using Handler = std::function<asio::awaitable<void>(Exchange&)>;

class Server {
 public:
  Server(IoPool& pool, ServerOptions options, Handler handler, metrics::Registry* metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting. Fails if the address cannot be bound.
  Status start();
  // Stops accepting and drains. Blocks until all connections are gone or the
  // deadline passes (then remaining sockets are closed).
  void stop(std::chrono::milliseconds drain_deadline);

  std::uint16_t port() const { return port_; }
  std::size_t connections() const { return conn_count_.load(); }
  bool draining() const { return draining_.load(); }

 private:
  friend class Connection;
  friend class Exchange;
  asio::awaitable<void> accept_loop();
  void add(const std::shared_ptr<Connection>& c);
  void remove(const std::shared_ptr<Connection>& c);
  void replace(const std::shared_ptr<Connection>& from, const std::shared_ptr<Connection>& to);

  IoPool& pool_;
  ServerOptions options_;
  Handler handler_;
  metrics::Registry* metrics_;
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> draining_{false};
  std::atomic<std::size_t> conn_count_{0};
  std::atomic<int> accepting_{0};
  std::mutex mu_;
  std::set<std::shared_ptr<Connection>> conns_;  // guarded by mu_
  metrics::Counter* accepted_ = nullptr;
  metrics::Counter* rejected_ = nullptr;
  metrics::Counter* moved_ = nullptr;
  ConnBalancer balancer_;
  std::array<metrics::Counter*, 6> responses_{};  // by status class: [1] = 1xx ... [5] = 5xx
};

}  // namespace spectra::http
