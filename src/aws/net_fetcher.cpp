#include "aws/net_fetcher.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>

namespace spectra::aws {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct Target {
  std::string host;  // as written, for the Host header
  asio::ip::address address;
  std::uint16_t port = 80;
  std::string path;
};

Result<Target> parse(std::string_view url) {
  constexpr std::string_view kHttp = "http://";
  if (url.substr(0, kHttp.size()) != kHttp)
    return invalid_argument("only http:// URLs: " + std::string(url));
  std::string_view rest = url.substr(kHttp.size());
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  Target t;
  t.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  t.host = std::string(authority);
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return invalid_argument("bad IPv6 literal");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return invalid_argument("bad authority");
      port = authority.substr(close + 2);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (!port.empty()) {
    unsigned long p = 0;
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return invalid_argument("bad port");
      p = p * 10 + static_cast<unsigned long>(c - '0');
      if (p > 65535) return invalid_argument("port out of range");
    }
    t.port = static_cast<std::uint16_t>(p);
  }
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  t.address = asio::ip::make_address(std::string(host), ec);
  if (ec) return invalid_argument("host must be an IP address: " + std::string(host));
  return t;
}

}  // namespace

Result<HttpFetchResponse> NetHttpFetcher::fetch(const HttpFetchRequest& request) {
  auto target = parse(request.url);
  if (!target.ok()) return target.status();
  const bhttp::verb verb = bhttp::string_to_verb(request.method);
  if (verb == bhttp::verb::unknown) return invalid_argument("unknown method " + request.method);

  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  bhttp::request<bhttp::string_body> req{verb, target->path, 11};
  req.set(bhttp::field::host, target->host);
  for (const auto& [name, value] : request.headers) req.set(name, value);
  req.prepare_payload();
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(1u << 20);
  beast::flat_buffer buffer;
  boost::system::error_code result = asio::error::operation_aborted;
  const std::string where = target->host;

  // One deadline for the whole exchange: tcp_stream closes the socket when it
  // passes, which completes the pending operation with `timeout`.
  stream.expires_after(timeout_);
  stream.async_connect(
      tcp::endpoint(target->address, target->port), [&](boost::system::error_code ec) {
        if (ec) {
          result = ec;
          return;
        }
        bhttp::async_write(stream, req, [&](boost::system::error_code wec, std::size_t) {
          if (wec) {
            result = wec;
            return;
          }
          bhttp::async_read(stream, buffer, parser,
                            [&](boost::system::error_code rec, std::size_t) { result = rec; });
        });
      });
  ioc.run();
  boost::system::error_code ignored;
  stream.socket().close(ignored);
  if (result == beast::error::timeout) {
    return Status(Code::kDeadlineExceeded, "no answer from " + where + " within " +
                                               std::to_string(timeout_.count()) + " ms");
  }
  if (result) return unavailable("request to " + where + " failed: " + result.message());
  HttpFetchResponse out;
  out.status = parser.get().result_int();
  out.body = std::move(parser.get().body());
  return out;
}

}  // namespace spectra::aws
