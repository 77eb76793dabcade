#include "http/server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <unistd.h>

#include <charconv>
#include <future>
#include <random>
#include <thread>

#include "common/log.h"
#include "http/write_now.h"

namespace spectra::http {

using asio::ip::tcp;
using asio::redirect_error;
using asio::use_awaitable;

namespace {

// Request ids only need to be unique, not secret: a per-thread generator
// seeded once from the OS, instead of the DRBG on every request.
std::string new_request_id() {
  thread_local std::mt19937_64 rng = [] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }();
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t v = rng();
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<std::size_t>(i)] = kHex[v & 0xf];
  return out;
}

bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server& server, tcp::socket socket, std::size_t thread)
      : server_(server), stream_(std::move(socket)), thread_(thread) {
    boost::system::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string();
  }
  // A connection moved from another thread, between requests.
  Connection(Server& server, tcp::socket socket, std::size_t thread, std::string remote, std::size_t served)
      : server_(server), stream_(std::move(socket)), remote_(std::move(remote)), thread_(thread), served_(served) {}

  asio::awaitable<void> run();

  // Both run on this connection's executor.
  void close_if_idle() {
    if (idle_) close();
  }
  void close() {
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }
  asio::any_io_executor executor() { return stream_.get_executor(); }

 private:
  friend class Exchange;
  // Takes the response by reference: see the note on Exchange::respond.
  asio::awaitable<bool> send_error(Response& res);
  // Feeds `parser` what is in buffer_ (up to the end of the header, or of
  // the message), without touching the socket. `ec` is set only on a parse
  // error (limits included); running out of bytes is not one.
  void parse_buffered(bhttp::request_parser<bhttp::string_body>& parser, bool header_only,
                      boost::system::error_code& ec);
  void count(unsigned status);
  // Hands this connection's socket to thread `to` (a new Connection there
  // carries on); false if it stays here.
  bool move_to(std::size_t to, std::size_t served);

  Server& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string remote_;
  std::size_t thread_;      // index of the pool thread it runs on
  std::size_t served_ = 0;  // requests served before it came to this thread
  ConnShare share_;
  bool idle_ = true;
  bool keep_alive_ = true;
};

void Connection::parse_buffered(bhttp::request_parser<bhttp::string_body>& parser, bool header_only,
                                boost::system::error_code& ec) {
  while (buffer_.size() > 0 && !(header_only ? parser.is_header_done() : parser.is_done())) {
    const std::size_t used = parser.put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == bhttp::error::need_more) {
      ec = {};
      return;
    }
    if (ec || used == 0) return;
  }
}

void Connection::count(unsigned status) {
  unsigned cls = status / 100;
  if (cls < server_.responses_.size() && server_.responses_[cls]) server_.responses_[cls]->inc();
}

asio::awaitable<bool> Connection::send_error(Response& res) {
  res.keep_alive(false);
  boost::system::error_code ec;
  stream_.expires_after(server_.options_.write_timeout);
  co_await bhttp::async_write(stream_, res, redirect_error(use_awaitable, ec));
  count(res.result_int());
  co_return !ec;
}

bool Connection::move_to(std::size_t to, std::size_t served) {
  boost::system::error_code ec;
  const tcp::endpoint local = stream_.socket().local_endpoint(ec);
  if (ec) return false;
  tcp::socket there(server_.pool_.at(to));
  // The descriptor leaves this thread's reactor and joins the other's; if
  // the other cannot take it, the connection is closed (nothing is lost:
  // no request is pending on it).
  const int fd = stream_.socket().release(ec);
  if (ec) return false;
  there.assign(local.protocol(), fd, ec);
  if (ec) {
    ::close(fd);
    return false;
  }
  auto moved = std::make_shared<Connection>(server_, std::move(there), to, std::move(remote_), served);
  server_.replace(shared_from_this(), moved);
  if (server_.moved_) server_.moved_->inc();
  asio::co_spawn(server_.pool_.at(to), moved->run(), asio::detached);
  return true;
}

asio::awaitable<void> Connection::run() {
  auto self = shared_from_this();
  const ServerOptions& opt = server_.options_;
  ConnBalancer& balancer = server_.balancer_;
  for (std::size_t n = served_; n < opt.max_requests_per_connection; ++n) {
    idle_ = true;
    if (server_.draining_.load()) break;
    boost::system::error_code ec;
    if (buffer_.size() == 0) {
      // Between requests, with nothing buffered, the connection may go to
      // a less loaded thread (see conn_balancer.h).
      if (n > 0 && balancer.enabled()) {
        const std::size_t to = balancer.move_target(thread_, share_);
        if (to != ConnBalancer::kStay && move_to(to, n)) co_return;
        if (!stream_.socket().is_open()) break;
      }
      // Wait for the first byte of the next request under the idle deadline.
      stream_.expires_after(n == 0 ? opt.header_timeout : opt.idle_timeout);
      std::size_t got = co_await stream_.async_read_some(buffer_.prepare(8192),
                                                         redirect_error(use_awaitable, ec));
      if (ec) break;
      buffer_.commit(got);
    }
    idle_ = false;

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opt.header_limit));
    parser.body_limit(opt.body_limit);
    // The header (often the whole request) came with the first read: parse
    // it from the buffer, and wait on the socket only for what is missing.
    parse_buffered(parser, /*header_only=*/true, ec);
    if (!ec && !parser.is_header_done()) {
      stream_.expires_after(opt.header_timeout);
      co_await bhttp::async_read_header(stream_, buffer_, parser, redirect_error(use_awaitable, ec));
    }
    if (ec == bhttp::error::header_limit) {
      {
        Response e_ = server_.options_.error_format(HttpStatus::request_header_fields_too_large, "header_too_large",
                          "request header exceeds " + std::to_string(opt.header_limit) + " bytes");
        co_await send_error(e_);
      }
      break;
    }
    if (ec == bhttp::error::body_limit) {
      {
        Response e_ = server_.options_.error_format(HttpStatus::payload_too_large, "body_too_large",
                          "request body exceeds " + std::to_string(opt.body_limit) + " bytes");
        co_await send_error(e_);
      }
      break;
    }
    // A timeout has already closed the socket (tcp_stream's contract): there
    // is no one left to answer, which is the point against slow clients.
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      break;
    }
    if (ec) {
      {
        Response e_ = server_.options_.error_format(HttpStatus::bad_request, "bad_request", "malformed HTTP request: " + ec.message());
        co_await send_error(e_);
      }
      break;
    }
    auto expect = parser.get()[bhttp::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      bhttp::response<bhttp::empty_body> cont{HttpStatus::continue_, 11};
      stream_.expires_after(opt.write_timeout);
      co_await bhttp::async_write(stream_, cont, redirect_error(use_awaitable, ec));
      if (ec) break;
    }
    parse_buffered(parser, /*header_only=*/false, ec);
    if (!ec && !parser.is_done()) {
      stream_.expires_after(opt.body_timeout);
      co_await bhttp::async_read(stream_, buffer_, parser, redirect_error(use_awaitable, ec));
    }
    if (ec == bhttp::error::body_limit) {
      {
        Response e_ = server_.options_.error_format(HttpStatus::payload_too_large, "body_too_large",
                          "request body exceeds " + std::to_string(opt.body_limit) + " bytes");
        co_await send_error(e_);
      }
      break;
    }
    if (ec) break;

    Request req = parser.release();
    if (balancer.enabled()) balancer.count_request(thread_, share_);
    keep_alive_ = req.keep_alive();
    RequestInfo info;
    auto rid = req["x-request-id"];
    info.request_id = sane_request_id(rid) ? std::string(rid) : new_request_id();
    info.remote_address = remote_;
    Exchange ex(*this, req, std::move(info));
    stream_.expires_never();
    try {
      co_await server_.handler_(ex);
    } catch (const std::exception& e) {
      log::error("request handler threw", {{"server", opt.name},
                                           {"request_id", ex.info().request_id},
                                           {"error", e.what()}});
      if (ex.streaming_) {
        ex.failed_ = true;  // a half-sent stream cannot be repaired: close it
      }
    }
    if (!ex.answered_) {
      { Response res_ = opt.error_format(HttpStatus::internal_server_error, "internal",
                                         "the request could not be completed"); co_await ex.respond(std::move(res_)); }
    }
    // A stream the handler left unfinished cannot be followed by another
    // response on this connection.
    if (ex.streaming_ && !ex.finished_) ex.failed_ = true;
    if (ex.failed_ || !keep_alive_) break;
  }
  close();
  server_.remove(self);
}

asio::awaitable<void> Exchange::respond(Response&& res) {
  assert(!answered_ && "a request is answered once");
  answered_ = true;
  status_code_ = res.result_int();
  bool keep = conn_.keep_alive_ && !conn_.server_.draining_.load();
  res.keep_alive(keep);
  conn_.keep_alive_ = keep;
  res.set("x-request-id", info_.request_id);
  for (const auto& [name, value] : extra_headers_) res.set(name, value);
  if (!res.has_content_length() && !res.chunked()) res.prepare_payload();
  bhttp::response_serializer<bhttp::string_body> sr{res};
  boost::system::error_code ec = co_await write_now(conn_.stream_, sr, conn_.server_.options_.write_timeout);
  conn_.stream_.expires_never();
  conn_.count(status_code_);
  if (ec) failed_ = true;
}

asio::awaitable<bool> Exchange::begin_stream(bhttp::response<bhttp::empty_body>&& head, bool send_now) {
  assert(!answered_ && "a request is answered once");
  answered_ = true;
  streaming_ = true;
  status_code_ = head.result_int();
  head.chunked(true);
  bool keep = conn_.keep_alive_ && !conn_.server_.draining_.load();
  head.keep_alive(keep);
  conn_.keep_alive_ = keep;
  head.set("x-request-id", info_.request_id);
  for (const auto& [name, value] : extra_headers_) head.set(name, value);
  // Render the header into pending_; it goes out with the next write.
  bhttp::response_serializer<bhttp::empty_body> sr{head};
  boost::system::error_code ec;
  while (!ec && !sr.is_header_done()) {
    sr.next(ec, [&](boost::system::error_code&, const auto& buffers) {
      std::size_t n = 0;
      for (auto b : beast::buffers_range_ref(buffers)) {
        pending_.append(static_cast<const char*>(b.data()), b.size());
        n += b.size();
      }
      sr.consume(n);
    });
  }
  conn_.count(status_code_);
  if (ec) {
    failed_ = true;
    co_return false;
  }
  if (send_now) co_return co_await send_frame("", false);
  co_return true;
}

asio::awaitable<bool> Exchange::send_frame(std::string_view data, bool last) {
  if (failed_) co_return false;
  std::string frame = std::move(pending_);
  pending_.clear();
  if (!data.empty()) {
    char size[20];
    auto r = std::to_chars(size, size + sizeof size, data.size(), 16);
    frame.append(size, r.ptr).append("\r\n").append(data).append("\r\n");
  }
  if (last) frame.append("0\r\n\r\n");
  if (frame.empty()) co_return true;
  boost::system::error_code ec = co_await write_now(conn_.stream_, frame, conn_.server_.options_.write_timeout);
  if (last) {
    conn_.stream_.expires_never();
    finished_ = true;
  }
  if (ec) failed_ = true;
  co_return !failed_;
}

asio::awaitable<bool> Exchange::write(std::string_view data) {
  if (failed_ || data.empty()) co_return !failed_;
  co_return co_await send_frame(data, false);
}

asio::awaitable<void> Exchange::finish(std::string_view last) {
  if (failed_) co_return;
  (void)co_await send_frame(last, true);
}

Server::Server(IoPool& pool, ServerOptions options, Handler handler, metrics::Registry* metrics)
    : pool_(pool), options_(std::move(options)), handler_(std::move(handler)), metrics_(metrics), balancer_(pool.loads()) {
  if (metrics_) {
    accepted_ = &metrics_->counter("spectra_http_connections_accepted_total",
                                   "TCP connections accepted", {{"server", options_.name}});
    moved_ = &metrics_->counter("spectra_http_connections_moved_total",
                                "idle keep-alive connections moved to a less loaded I/O thread",
                                {{"server", options_.name}});
    rejected_ = &metrics_->counter("spectra_http_connections_rejected_total",
                                   "TCP connections refused at the connection limit",
                                   {{"server", options_.name}});
    for (std::size_t cls = 1; cls < responses_.size(); ++cls) {
      responses_[cls] = &metrics_->counter("spectra_http_responses_total",
                                           "HTTP responses sent, by server and status class",
                                           {{"server", options_.name}, {"code", std::to_string(cls) + "xx"}});
    }
  }
}

Server::~Server() {
  // Orderly shutdown is stop(), called while the pool runs. Here the pool may
  // be stopped already, so only close the acceptor directly.
  if (acceptor_ && !draining_.exchange(true)) {
    boost::system::error_code ec;
    acceptor_->close(ec);
  }
}

Status Server::start() {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(options_.address, ec);
  if (ec) return invalid_argument("invalid listen address '" + options_.address + "'");
  tcp::endpoint ep(addr, options_.port);
  auto acc = std::make_unique<tcp::acceptor>(pool_.at(0));
  acc->open(ep.protocol(), ec);
  if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc->bind(ep, ec);
  if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return io_error("cannot listen on " + options_.address + ":" + std::to_string(options_.port) +
                    ": " + ec.message());
  }
  port_ = acc->local_endpoint().port();
  acceptor_ = std::move(acc);
  accepting_.store(1);
  asio::co_spawn(pool_.at(0), accept_loop(), asio::detached);
  return {};
}

asio::awaitable<void> Server::accept_loop() {
  asio::steady_timer backoff(pool_.at(0));
  while (!draining_.load()) {
    const std::size_t thread = pool_.next_index();
    auto& ioc = pool_.at(thread);
    tcp::socket sock(ioc);
    boost::system::error_code ec;
    co_await acceptor_->async_accept(sock, redirect_error(use_awaitable, ec));
    if (ec == asio::error::operation_aborted || draining_.load()) break;
    if (ec) {
      // Out of file descriptors and the like: back off briefly, keep serving.
      log::warn("accept failed", {{"server", options_.name}, {"error", ec.message()}});
      backoff.expires_after(std::chrono::milliseconds(20));
      co_await backoff.async_wait(redirect_error(use_awaitable, ec));
      continue;
    }
    if (conn_count_.load() >= options_.max_connections) {
      if (rejected_) rejected_->inc();
      sock.close(ec);
      continue;
    }
    if (accepted_) accepted_->inc();
    sock.set_option(tcp::no_delay(true), ec);
    auto conn = std::make_shared<Connection>(*this, std::move(sock), thread);
    add(conn);
    asio::co_spawn(ioc, conn->run(), asio::detached);
  }
  accepting_.store(0);
}

void Server::add(const std::shared_ptr<Connection>& c) {
  std::lock_guard lock(mu_);
  conns_.insert(c);
  conn_count_.store(conns_.size());
}

void Server::remove(const std::shared_ptr<Connection>& c) {
  std::lock_guard lock(mu_);
  conns_.erase(c);
  conn_count_.store(conns_.size());
}

void Server::replace(const std::shared_ptr<Connection>& from, const std::shared_ptr<Connection>& to) {
  std::lock_guard lock(mu_);
  conns_.insert(to);
  conns_.erase(from);
}

void Server::stop(std::chrono::milliseconds drain_deadline) {
  if (!acceptor_) return;
  if (draining_.exchange(true)) return;
  std::promise<void> closed;
  asio::post(pool_.at(0), [this, &closed] {
    boost::system::error_code ec;
    acceptor_->close(ec);
    closed.set_value();
  });
  closed.get_future().wait();
  auto for_each_conn = [this](auto fn) {
    std::lock_guard lock(mu_);
    for (const auto& c : conns_) asio::post(c->executor(), [c, fn] { fn(*c); });
  };
  for_each_conn([](Connection& c) { c.close_if_idle(); });
  auto deadline = std::chrono::steady_clock::now() + drain_deadline;
  while (conn_count_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    for_each_conn([](Connection& c) { c.close_if_idle(); });
  }
  for_each_conn([](Connection& c) { c.close(); });
  while (accepting_.load() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

}  // namespace spectra::http
