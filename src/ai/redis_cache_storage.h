#pragma once
// CacheStorage on Redis (or ElastiCache), so a fleet of gateways shares one
// AI cache. Entries are plain Redis strings under a key prefix, with the
// entry's TTL as the key's expiry; memory limits and eviction are Redis's
// own (maxmemory / maxmemory-policy), so set_max_bytes() does nothing.
//
// The backend runs its own I/O thread. Lookups from the gateway's I/O
// threads hop to it and back; every operation is bounded by `timeout`, and a
// backend that is down or slow reads as misses (counted in stats().errors),
// never as a failed request. After a failure it waits a short back-off
// before connecting again, so a dead Redis costs a request nothing.
//
// Details: one connection, commands pipelined on it and answered in order
// (RESP2; AUTH and SELECT first on each new connection). A timeout, a
// connection failure, a protocol error or a failed AUTH/SELECT drops the
// connection, and every command on it reads as a miss; an error reply to a
// cache command (e.g. -OOM) fails only that command. The back-off starts
// at 1 s and doubles up to 10 s; a successful reply resets it. While it
// lasts, gets miss and puts are dropped at once, without a thread hop.
// stats(): hits, misses and errors (every get or put that failed or was
// refused: back-off, over max_pending) are counted here; entries and bytes
// are 0, as Redis's own INFO covers its memory. Values over 32 MiB are not
// stored (a reply is capped at 64 MiB, against a server sending garbage).
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ai/cache_storage.h"
#include "ai/resp_codec.h"
#include "common/result.h"

namespace spectra::ai {

struct RedisCacheOptions {
  // redis://host[:port][/db] (TLS: rediss://). Credentials do not belong in
  // the URL: they are separate, secret, config fields.
  std::string url;
  std::string username;  // Redis 6 ACL user; empty: AUTH with the password only
  std::string password;  // empty: no AUTH
  std::chrono::milliseconds timeout{50};  // per operation: connect, send and reply
  std::string key_prefix = "spectra:ai:cache:";
  std::size_t max_pending = 10'000;  // commands queued; beyond it gets miss and puts are dropped
  // rediss:// only: a PEM file of the CAs to trust instead of the system
  // store. The server's name (or IP address) is checked against its
  // certificate either way.
  std::string ca_file;
};

// Commands on the Redis backend's connection besides the cache's own: the
// fleet's shared limit counters (ai/fleet_limits.h) use them. Blocking:
// call from a thread that may wait (never an I/O thread); every command is
// bounded by the backend's timeout and fails as the cache's do (back-off,
// max_pending).
class RedisCommands {
 public:
  virtual ~RedisCommands() = default;
  struct Command {
    resp::Command kind;
    std::vector<std::string> args;  // the whole command, name first
  };
  // Each command's result as resp::interpret gives it (an INCRBY's new
  // value as text), nullopt when the command failed.
  virtual std::vector<std::optional<std::string>> run(const std::vector<Command>& commands) = 0;
};

// The commands side of a storage made by make_redis_cache_storage; null for
// any other backend. Lives as long as the storage.
RedisCommands* redis_commands(CacheStorage& storage);

// Validates the options (the URL above all: redis://host[:port][/db] or
// rediss://..., IPv6 literals in brackets, default port 6379, db 0) and
// returns invalid_argument naming what is wrong. Does not connect: the
// backend connects on first use and reconnects after failures.
Result<std::unique_ptr<CacheStorage>> make_redis_cache_storage(RedisCacheOptions options);

}  // namespace spectra::ai
