#pragma once
// The Redis URL of the AI cache's Redis backend: redis://host[:port][/db],
// or rediss://... for TLS; IPv6 literals in brackets; default port 6379,
// db 0. No credentials in it (they are separate, secret, config fields) and
// no query string. One parser for the config schema's check (so a bad URL is
// refused when it is written) and for the backend that connects to it.
#include <string>
#include <string_view>

#include "common/result.h"

namespace spectra {

struct RedisEndpoint {
  std::string host;  // without brackets for IPv6
  std::string port = "6379";
  long db = 0;
  bool tls = false;
};

// invalid_argument naming what is wrong; messages quote only the part at
// fault, never the whole URL (it may hold a password put there by mistake).
Result<RedisEndpoint> parse_redis_url(std::string_view url);

}  // namespace spectra
