#pragma once
// Asynchronous HTTP/1.1 client for calls to LLM upstreams, with keep-alive
// connection reuse per I/O thread, TLS for https:// upstreams (system CA
// store, SNI, host name verification), and separate deadlines for connect,
// first byte and the whole exchange. Bodies are read incrementally so the
// gateway can forward a stream as it arrives.
//
// Coroutine contract (GCC 12): every coroutine here takes references to
// objects the caller keeps alive until the co_await completes.
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/fields.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "ai/adapter.h"
#include "common/result.h"

namespace spectra::ai {

struct UpstreamTimeouts {
  std::chrono::milliseconds connect{5'000};
  std::chrono::milliseconds first_byte{60'000};  // until the response header
  std::chrono::milliseconds idle{120'000};       // between body reads
  // A kept-alive connection idle longer than this is closed, not reused
  // (checked when a call takes one and when one is returned).
  std::chrono::milliseconds keepalive{30'000};
};

struct ParsedUrl {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;  // path + query
};
Result<ParsedUrl> parse_url(std::string_view url);

// The HTTP/1.1 request head for `r` as it goes on the wire, ending with the
// blank line. The caller's headers keep their order; a later header
// replaces an earlier one of the same name, and a caller's Host the
// default one (a signed request names its own). Content-Length is computed
// (a caller's Content-Length, Transfer-Encoding and Connection are
// dropped). A method or header name that is not an HTTP token, or a value
// with CR, LF or NUL, is refused: it would let a value split the request.
Result<std::string> render_request_head(const UpstreamRequest& r, const ParsedUrl& u);

// One exchange with an upstream. Not thread-safe; lives on one io_context.
class UpstreamCall {
 public:
  UpstreamCall();
  ~UpstreamCall();
  UpstreamCall(const UpstreamCall&) = delete;
  UpstreamCall& operator=(const UpstreamCall&) = delete;

  // Connects (reusing an idle kept-alive connection when there is one),
  // sends `req` and waits for the response header. kUnavailable for connect
  // and transport failures, kDeadlineExceeded for timeouts.
  boost::asio::awaitable<Status> start(const UpstreamRequest& req, const UpstreamTimeouts& t);
  unsigned status() const;
  const boost::beast::http::fields& headers() const;

  // Appends the next piece of the body to `out`; sets *done at the end.
  // Every HTTP chunk already received is included; it never waits for more
  // than the next one. On an error, `out` still has what came before it.
  boost::asio::awaitable<Status> read_some(std::string& out, bool& done);
  // Reads the rest of the body, at most `limit` bytes.
  boost::asio::awaitable<Status> read_all(std::string& out, std::size_t limit);

  // Reads and discards what is left of the body (at most `limit` bytes,
  // within `timeout`) so the connection can be reused: a stream's last
  // event usually arrives before the chunked-body terminator. On any
  // failure the connection is simply not reused.
  boost::asio::awaitable<void> drain(std::size_t limit, std::chrono::milliseconds timeout);

  // Drops the connection (e.g. the client went away mid-stream).
  void abort();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Idle connections kept per I/O thread (for tests and metrics).
std::size_t idle_upstream_connections();

}  // namespace spectra::ai
