#include "common/redis_url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <climits>
#include <optional>

namespace spectra {
namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

}  // namespace

Result<RedisEndpoint> parse_redis_url(std::string_view url) {
  constexpr std::string_view kWhat = "redis cache URL: ";
  RedisEndpoint ep;
  std::string_view rest;
  if (url.rfind("redis://", 0) == 0) {
    rest = url.substr(8);
  } else if (url.rfind("rediss://", 0) == 0) {
    rest = url.substr(9);
    ep.tls = true;
  } else {
    return invalid_argument(std::string(kWhat) + "must start with redis:// or rediss:// (TLS)");
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return invalid_argument(std::string(kWhat) + "query strings and fragments are not supported");
  }
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  if (authority.find('@') != std::string_view::npos) {
    return invalid_argument(
        std::string(kWhat) +
        "must not hold credentials (user:password@); set them in redis_password (and redis_username)");
  }
  std::string_view host = authority;
  std::optional<std::string_view> port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return invalid_argument(std::string(kWhat) + "unterminated [IPv6 address]");
    host = authority.substr(1, close - 1);
    in6_addr addr{};
    if (::inet_pton(AF_INET6, std::string(host).c_str(), &addr) != 1) {
      return invalid_argument(std::string(kWhat) +
                              "not an IPv6 address in brackets: " + std::string(host));
    }
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return invalid_argument(std::string(kWhat) + "unexpected text after ]");
      port = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      if (authority.find(':', colon + 1) != std::string_view::npos) {
        return invalid_argument(std::string(kWhat) +
                                "an IPv6 address must be in brackets: redis://[addr]:port");
      }
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (!std::all_of(host.begin(), host.end(), host_char)) {
      return invalid_argument(std::string(kWhat) + "invalid host name: " + std::string(host));
    }
  }
  if (host.empty()) return invalid_argument(std::string(kWhat) + "no host");
  ep.host = std::string(host);
  if (port) {
    if (!all_digits(*port) || port->size() > 5 || std::stol(std::string(*port)) < 1 ||
        std::stol(std::string(*port)) > 65535) {
      return invalid_argument(std::string(kWhat) +
                              "port must be a number from 1 to 65535: " + std::string(*port));
    }
    ep.port = std::string(*port);
  }
  if (slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      // Redis numbers its databases with an int (`databases` sets how many).
      if (!all_digits(db) || db.size() > 10 || std::stoll(std::string(db)) > INT_MAX) {
        return invalid_argument(std::string(kWhat) + "database must be a number from 0 to " +
                                std::to_string(INT_MAX) + ": " + std::string(db));
      }
      ep.db = std::stol(std::string(db));
    }
  }
  return ep;
}

}  // namespace spectra
