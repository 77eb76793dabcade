#include "ai/upstream_client.h"

#include <sys/stat.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <type_traits>
#include <vector>

#include "http/write_now.h"

namespace spectra::ai {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using asio::redirect_error;
using asio::use_awaitable;

namespace {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

struct Conn {
  std::string key;  // scheme://host:port
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<TlsStream> tls;
  beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since;
  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
};

// Idle connections kept per upstream and I/O thread (each closes after
// UpstreamTimeouts::keepalive unused). Enough for a burst's worth of
// concurrency: with too few, every request beyond the pool paid a connect,
// an accept upstream and a close, and under load that extra cost fed the
// backlog that caused it (at 64, 12.5k req/s on two cores collapsed to 11k
// with a second of p50).
constexpr std::size_t kMaxIdlePerKey = 512;
constexpr std::size_t kReadBuffer = 16 * 1024;

// Connections are bound to the io_context of the thread that made them, and
// each io_context runs on one thread, so a thread-local pool needs no lock.
// Oldest at the front: release() closes those idle past the keep-alive, so a
// burst's connections do not linger once the load is gone.
thread_local std::map<std::string, std::deque<std::unique_ptr<Conn>>> t_idle;

// One TLS client context per trust store: the system's (ca_file empty) or
// a provider's PEM file. A file is read again when it changes (its size,
// modification time or inode), so a CA bundle rotated in place applies to
// the next new connection; kept-alive connections stay as verified. Peer
// verification is always on; only the trusted CAs differ.
Result<asio::ssl::context*> tls_context(const std::string& ca_file) {
  struct Entry {
    std::unique_ptr<asio::ssl::context> ctx;
    struct stat st {};
  };
  static std::mutex mu;
  static std::map<std::string, Entry> contexts;
  // Replaced contexts are kept: a TLS stream being set up may still use one.
  static std::vector<std::unique_ptr<asio::ssl::context>> retired;
  struct stat st {};
  if (!ca_file.empty() && ::stat(ca_file.c_str(), &st) != 0) {
    return unavailable("cannot load the CA certificates from " + ca_file + ": " + std::strerror(errno));
  }
  auto same = [](const struct stat& a, const struct stat& b) {
    return a.st_ino == b.st_ino && a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
           a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
  };
  std::lock_guard lock(mu);
  Entry& e = contexts[ca_file];
  if (e.ctx && (ca_file.empty() || same(e.st, st))) return e.ctx.get();
  auto c = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(c->native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  if (ca_file.empty()) {
    c->set_default_verify_paths(ec);
  } else {
    c->load_verify_file(ca_file, ec);
  }
  if (ec) {
    return unavailable("cannot load the CA certificates" + (ca_file.empty() ? std::string() : " from " + ca_file) +
                       ": " + ec.message());
  }
  c->set_verify_mode(asio::ssl::verify_peer);
  if (e.ctx) retired.push_back(std::move(e.ctx));
  e.ctx = std::move(c);
  e.st = st;
  return e.ctx.get();
}

// Connections are pooled by destination and trust store: one verified
// against a private CA is never handed to a call that trusts another.
std::string pool_key(const ParsedUrl& u, const std::string& ca_file) {
  std::string key = (u.tls ? "https://" : "http://") + u.host + ":" + u.port;
  if (u.tls && !ca_file.empty()) key.append(" ca=").append(ca_file);
  return key;
}

Status transport_error(const char* what, const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return Status(Code::kDeadlineExceeded, std::string(what) + ": timed out");
  return unavailable(std::string(what) + ": " + ec.message());
}

}  // namespace

Result<ParsedUrl> parse_url(std::string_view url) {
  ParsedUrl u;
  std::string_view rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
    u.port = "80";
  } else if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
    u.tls = true;
    u.port = "443";
  } else {
    return invalid_argument("upstream URL must be http:// or https://: " + std::string(url));
  }
  auto slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!hostport.empty() && hostport.front() == '[') {
    auto close = hostport.find(']');
    if (close == std::string_view::npos) return invalid_argument("bad IPv6 host in " + std::string(url));
    u.host = std::string(hostport.substr(1, close - 1));
    if (close + 1 < hostport.size() && hostport[close + 1] == ':') u.port = std::string(hostport.substr(close + 2));
  } else {
    auto colon = hostport.rfind(':');
    u.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) u.port = std::string(hostport.substr(colon + 1));
  }
  if (u.host.empty()) return invalid_argument("upstream URL has no host: " + std::string(url));
  return u;
}

namespace {

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char ch : s) {
    if (ch <= 32 || ch >= 127 || std::string_view("\"(),/:;<=>?@[\\]{}").find(static_cast<char>(ch)) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool iequal(std::string_view a, std::string_view b) { return beast::iequals(a, b); }

}  // namespace

Result<std::string> render_request_head(const UpstreamRequest& r, const ParsedUrl& u) {
  if (!is_token(r.method)) return invalid_argument("bad upstream request method '" + r.method + "'");
  std::string head;
  head.reserve(256 + r.url.size());
  head.append(r.method).append(" ").append(u.target).append(" HTTP/1.1\r\n");
  // A header of the caller replaces an earlier one of the same name and
  // the default Host (as a signed request needs); framing is ours.
  std::vector<std::size_t> kept;
  bool caller_host = false;
  for (std::size_t i = 0; i < r.headers.size(); ++i) {
    const auto& [name, value] = r.headers[i];
    if (!is_token(name)) return invalid_argument("bad upstream header name '" + name + "'");
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return invalid_argument("upstream header '" + name + "' has a line break or NUL in its value");
    }
    if (iequal(name, "content-length") || iequal(name, "transfer-encoding") || iequal(name, "connection")) continue;
    bool replaced = false;
    for (std::size_t j = i + 1; j < r.headers.size() && !replaced; ++j) replaced = iequal(r.headers[j].first, name);
    if (replaced) continue;
    kept.push_back(i);
    caller_host = caller_host || iequal(name, "host");
  }
  if (!caller_host) {
    const bool default_port = (u.tls && u.port == "443") || (!u.tls && u.port == "80");
    const bool v6 = u.host.find(':') != std::string::npos;
    head.append("Host: ").append(v6 ? "[" + u.host + "]" : u.host);
    if (!default_port) head.append(":").append(u.port);
    head.append("\r\n");
  }
  for (std::size_t i : kept) head.append(r.headers[i].first).append(": ").append(r.headers[i].second).append("\r\n");
  const bool bodiless = r.body.empty() && (r.method == "GET" || r.method == "HEAD" || r.method == "DELETE" || r.method == "OPTIONS");
  if (!bodiless) head.append("Content-Length: ").append(std::to_string(r.body.size())).append("\r\n");
  head.append("\r\n");
  return head;
}

struct UpstreamCall::Impl {
  std::unique_ptr<Conn> conn;
  std::unique_ptr<bhttp::response_parser<bhttp::buffer_body>> parser;
  UpstreamTimeouts timeouts;
  bool reusable = false;
  char buf[16384];

  // Sends the request (`head`, then `body`) and waits for the response header.
  template <class S>
  asio::awaitable<Status> exchange(S& s, const std::string& head, const std::string& body) {
    boost::system::error_code ec;
    std::array<asio::const_buffer, 2> parts{asio::buffer(head), asio::buffer(body)};
    if constexpr (std::is_same_v<S, beast::tcp_stream>) {
      // Usually written at once, without a trip through the I/O loop.
      ec = co_await http::write_now(s, parts, timeouts.first_byte);
    } else {
      conn->lowest().expires_after(timeouts.first_byte);
      co_await asio::async_write(s, parts, redirect_error(use_awaitable, ec));
    }
    if (ec) co_return transport_error("sending to upstream", ec);
    conn->lowest().expires_after(timeouts.first_byte);
    parser = std::make_unique<bhttp::response_parser<bhttp::buffer_body>>();
    parser->body_limit(boost::none);
    co_await bhttp::async_read_header(s, conn->buffer, *parser, redirect_error(use_awaitable, ec));
    if (ec) co_return transport_error("reading upstream response header", ec);
    co_return Status();
  }

  // Parses body bytes already received (with the header, or with an
  // earlier chunk) into `out`, without touching the socket. False on a
  // malformed body (`st` says why).
  bool parse_buffered(std::string& out, Status& st) {
    auto& body = parser->get().body();
    boost::system::error_code ec;
    while (!parser->is_done() && conn->buffer.size() > 0) {
      body.data = buf;
      body.size = sizeof buf;
      const std::size_t used = parser->put(conn->buffer.data(), ec);
      conn->buffer.consume(used);
      out.append(buf, sizeof buf - body.size);
      if (ec == bhttp::error::need_more || ec == bhttp::error::need_buffer) ec = {};
      if (ec) {
        st = transport_error("reading upstream body", ec);  // `out` keeps what came before
        return false;
      }
      if (used == 0) break;
    }
    return true;
  }

  template <class S>
  asio::awaitable<Status> read_piece(S& s, std::string& out, bool& done) {
    // What is buffered already is the next piece: a small answer usually
    // came whole with its header, and stream events arrive together. Only
    // when nothing is buffered does this wait on the socket (and arm the
    // idle deadline).
    Status st;
    const std::size_t before = out.size();
    if (!parse_buffered(out, st)) co_return st;
    if (parser->is_done() || out.size() > before) {
      done = parser->is_done();
      co_return Status();
    }
    auto& body = parser->get().body();
    body.data = buf;
    body.size = sizeof buf;
    boost::system::error_code ec;
    conn->lowest().expires_after(timeouts.idle);
    co_await bhttp::async_read_some(s, conn->buffer, *parser, redirect_error(use_awaitable, ec));
    if (ec == bhttp::error::need_buffer) ec = {};
    out.append(buf, sizeof buf - body.size);
    if (ec) co_return transport_error("reading upstream body", ec);
    // Every further HTTP chunk already received is parsed now, without
    // waiting for more: stream events that arrived together are handled
    // (and sent on to the client) together. (The parser's eager mode would
    // do this inside the read, but then waits for the next event before
    // returning, which holds each event back until the next one arrives.)
    if (!parse_buffered(out, st)) co_return st;
    done = parser->is_done();
    co_return Status();
  }

  asio::awaitable<Status> connect(const ParsedUrl& u, const std::string& ca_file, const std::string& key) {
    auto ex = co_await asio::this_coro::executor;
    asio::ssl::context* tls_ctx = nullptr;
    if (u.tls) {
      Result<asio::ssl::context*> ctx = tls_context(ca_file);
      if (!ctx.ok()) co_return ctx.status();
      tls_ctx = *ctx;
    }
    conn = std::make_unique<Conn>();
    conn->key = key;
    // Beast reads at most the buffer's free capacity (and at least 512
    // bytes): without room, a 1 KB answer took three recv() calls.
    conn->buffer.reserve(kReadBuffer);
    // A literal address (an in-account vLLM, a fake) connects directly: the
    // resolver runs getaddrinfo on a thread of its own, two thread hand-offs
    // for every new connection.
    boost::system::error_code ec;
    tcp::resolver::results_type results;
    if (auto addr = asio::ip::make_address(u.host, ec); !ec) {
      unsigned long port = std::strtoul(u.port.c_str(), nullptr, 10);
      if (port == 0 || port > 65535) co_return invalid_argument("bad upstream port " + u.port);
      results = tcp::resolver::results_type::create(tcp::endpoint(addr, static_cast<unsigned short>(port)), u.host,
                                                     u.port);
    } else {
      ec = {};
      tcp::resolver resolver(ex);
      results = co_await resolver.async_resolve(u.host, u.port, redirect_error(use_awaitable, ec));
      if (ec) co_return unavailable("cannot resolve upstream " + u.host + ": " + ec.message());
    }
    if (u.tls) {
      conn->tls = std::make_unique<TlsStream>(ex, *tls_ctx);
      if (!SSL_set_tlsext_host_name(conn->tls->native_handle(), u.host.c_str())) {
        co_return unavailable("cannot set TLS server name");
      }
      conn->tls->set_verify_callback(asio::ssl::host_name_verification(u.host));
    } else {
      conn->plain = std::make_unique<beast::tcp_stream>(ex);
    }
    conn->lowest().expires_after(timeouts.connect);
    co_await conn->lowest().async_connect(results, redirect_error(use_awaitable, ec));
    if (ec) co_return transport_error(("connecting to upstream " + conn->key).c_str(), ec);
    conn->lowest().socket().set_option(tcp::no_delay(true), ec);
    if (conn->tls) {
      co_await conn->tls->async_handshake(asio::ssl::stream_base::client, redirect_error(use_awaitable, ec));
      if (ec) co_return transport_error("TLS handshake with upstream", ec);
    }
    co_return Status();
  }

  void release() {
    if (!conn) return;
    if (reusable && parser && parser->is_done() && parser->get().keep_alive()) {
      auto& idle = t_idle[conn->key];
      const auto now = std::chrono::steady_clock::now();
      while (!idle.empty() && now - idle.front()->idle_since >= timeouts.keepalive) idle.pop_front();
      if (idle.size() < kMaxIdlePerKey) {
        conn->idle_since = now;
        conn->lowest().expires_never();
        idle.push_back(std::move(conn));
      }
    }
    conn.reset();
  }
};

UpstreamCall::UpstreamCall() : impl_(new Impl) {}
UpstreamCall::~UpstreamCall() { impl_->release(); }

asio::awaitable<Status> UpstreamCall::start(const UpstreamRequest& r, const UpstreamTimeouts& t) {
  Impl& d = *impl_;
  d.timeouts = t;
  auto url = parse_url(r.url);
  if (!url.ok()) co_return url.status();
  auto head = render_request_head(r, *url);
  if (!head.ok()) co_return head.status();
  const std::string key = pool_key(*url, r.ca_file);
  // A reused connection may have been closed by the upstream meanwhile; then
  // retry once on a fresh one (safe: nothing was answered).
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = false;
    auto it = t_idle.find(key);
    while (it != t_idle.end() && !it->second.empty()) {
      auto c = std::move(it->second.back());
      it->second.pop_back();
      if (std::chrono::steady_clock::now() - c->idle_since < t.keepalive) {
        d.conn = std::move(c);
        reused = true;
        break;
      }
    }
    if (!reused) {
      Status s = co_await d.connect(*url, r.ca_file, key);
      if (!s.ok()) co_return s;
    }
    Status s;
    if (d.conn->tls) {
      s = co_await d.exchange(*d.conn->tls, *head, r.body);
    } else {
      s = co_await d.exchange(*d.conn->plain, *head, r.body);
    }
    if (s.ok()) {
      d.reusable = true;
      co_return s;
    }
    d.conn.reset();
    if (!reused) co_return s;
  }
  co_return unavailable("upstream closed the connection twice");
}

unsigned UpstreamCall::status() const { return impl_->parser->get().result_int(); }

const boost::beast::http::fields& UpstreamCall::headers() const { return impl_->parser->get().base(); }

asio::awaitable<Status> UpstreamCall::read_some(std::string& out, bool& done) {
  Impl& d = *impl_;
  if (!d.conn) co_return unavailable("upstream call has no connection");
  Status s;
  if (d.conn->tls) {
    s = co_await d.read_piece(*d.conn->tls, out, done);
  } else {
    s = co_await d.read_piece(*d.conn->plain, out, done);
  }
  if (!s.ok()) d.reusable = false;
  co_return s;
}

asio::awaitable<Status> UpstreamCall::read_all(std::string& out, std::size_t limit) {
  bool done = false;
  while (!done) {
    Status s = co_await read_some(out, done);
    if (!s.ok()) co_return s;
    if (out.size() > limit) {
      impl_->reusable = false;
      co_return Status(Code::kResourceExhausted, "upstream response larger than " + std::to_string(limit) + " bytes");
    }
  }
  co_return Status();
}

asio::awaitable<void> UpstreamCall::drain(std::size_t limit, std::chrono::milliseconds timeout) {
  Impl& d = *impl_;
  if (!d.conn || !d.parser || d.parser->is_done()) co_return;
  d.timeouts.idle = timeout;
  std::string rest;
  bool done = false;
  while (!done) {
    Status s = co_await read_some(rest, done);
    if (!s.ok() || rest.size() > limit) {
      d.reusable = false;
      co_return;
    }
  }
}

void UpstreamCall::abort() {
  impl_->reusable = false;
  if (impl_->conn) {
    boost::system::error_code ec;
    impl_->conn->lowest().socket().close(ec);
  }
  impl_->conn.reset();
}

std::size_t idle_upstream_connections() {
  std::size_t n = 0;
  for (const auto& [k, v] : t_idle) n += v.size();
  return n;
}

}  // namespace spectra::ai
