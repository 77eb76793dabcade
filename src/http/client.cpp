#include "http/client.h"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <cctype>

namespace spectra::http {

using asio::ip::tcp;

Result<Endpoint> parse_base_url(std::string_view url) {
  Endpoint ep;
  constexpr std::string_view kHttp = "http://";
  if (url.rfind("https://", 0) == 0) {
    return invalid_argument("https URLs are not supported by this client; use the plain config "
                            "API address (default http://127.0.0.1:8080)");
  }
  if (url.rfind(kHttp, 0) != 0) return invalid_argument("URL must start with http://: " + std::string(url));
  std::string_view rest = url.substr(kHttp.size());
  auto slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    ep.base_path = std::string(rest.substr(slash));
    while (!ep.base_path.empty() && ep.base_path.back() == '/') ep.base_path.pop_back();
  }
  std::string_view host = hostport;
  if (!hostport.empty() && hostport.front() == '[') {
    auto close = hostport.find(']');
    if (close == std::string_view::npos) return invalid_argument("bad IPv6 literal in URL");
    host = hostport.substr(1, close - 1);
    hostport = hostport.substr(close + 1);
    if (!hostport.empty() && hostport.front() == ':') hostport = hostport.substr(1);
    else hostport = {};
  } else {
    auto colon = hostport.rfind(':');
    if (colon != std::string_view::npos) {
      host = hostport.substr(0, colon);
      hostport = hostport.substr(colon + 1);
    } else {
      hostport = {};
    }
  }
  if (host.empty()) return invalid_argument("URL has no host: " + std::string(url));
  ep.host = std::string(host);
  if (!hostport.empty()) {
    unsigned long p = 0;
    for (char c : hostport) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return invalid_argument("bad port in URL");
      p = p * 10 + static_cast<unsigned long>(c - '0');
      if (p > 65535) return invalid_argument("port out of range in URL");
    }
    ep.port = static_cast<std::uint16_t>(p);
  }
  return ep;
}

std::string ClientResponse::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

struct Client::Impl {
  Endpoint ep;
  std::chrono::milliseconds timeout;
  asio::io_context ioc;
  std::unique_ptr<tcp::socket> sock;
  beast::flat_buffer buf;

  Status connect() {
    boost::system::error_code ec;
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(ep.host, std::to_string(ep.port), ec);
    if (ec) return unavailable("cannot resolve " + ep.host + ": " + ec.message());
    sock = std::make_unique<tcp::socket>(ioc);
    asio::connect(*sock, results, ec);
    if (ec) {
      sock.reset();
      return unavailable("cannot connect to " + ep.host + ":" + std::to_string(ep.port) + ": " +
                         ec.message());
    }
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(sock->native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(sock->native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sock->set_option(tcp::no_delay(true), ec);
    buf.clear();
    return {};
  }
};

Client::Client(Endpoint endpoint, std::chrono::milliseconds timeout) : impl_(new Impl) {
  impl_->ep = std::move(endpoint);
  impl_->timeout = timeout;
}

Client::~Client() = default;

Result<ClientResponse> Client::send(Verb method, const std::string& target, const std::string& body,
                                    const std::vector<std::pair<std::string, std::string>>& headers) {
  Request req{method, impl_->ep.base_path + target, 11};
  req.set(bhttp::field::host, impl_->ep.host + ":" + std::to_string(impl_->ep.port));
  req.set(bhttp::field::user_agent, "spectra-cli");
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty() && req[bhttp::field::content_type].empty()) {
    req.set(bhttp::field::content_type, "application/json");
  }
  req.body() = body;
  req.prepare_payload();
  req.keep_alive(true);

  for (int attempt = 0; attempt < 2; ++attempt) {
    bool fresh = false;
    if (!impl_->sock) {
      if (Status s = impl_->connect(); !s.ok()) return s;
      fresh = true;
    }
    boost::system::error_code ec;
    bhttp::write(*impl_->sock, req, ec);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(256u << 20);
    if (!ec) bhttp::read(*impl_->sock, impl_->buf, parser, ec);
    if (ec) {
      impl_->sock.reset();
      // A kept-alive connection the server closed meanwhile: retry once fresh.
      if (!fresh && (ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
                     ec == asio::error::broken_pipe || ec == asio::error::eof)) {
        continue;
      }
      if (ec == asio::error::would_block || ec == asio::error::try_again ||
          ec == asio::error::timed_out) {
        return Status(Code::kDeadlineExceeded, "no answer from " + impl_->ep.host + ":" +
                                                   std::to_string(impl_->ep.port) + " in time");
      }
      return unavailable("request to " + impl_->ep.host + ":" + std::to_string(impl_->ep.port) +
                         " failed: " + ec.message());
    }
    auto res = parser.release();
    ClientResponse out;
    out.status = res.result_int();
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(f.value());
    }
    out.body = std::move(res.body());
    if (!res.keep_alive()) impl_->sock.reset();
    return out;
  }
  return unavailable("connection to " + impl_->ep.host + " closed twice");
}

}  // namespace spectra::http
