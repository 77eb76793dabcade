#pragma once
// RESP2, the Redis protocol, as the Redis cache backend speaks it: commands
// out, replies in. hiredis does the byte-level work (its command formatter
// and its reply reader); this file bounds what a server can make us buffer
// and says what each reply means for the command it answers. Pure: no I/O,
// so it is fuzzed (test/fuzz/redis_reply_fuzz.cpp).
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"

struct redisReader;

namespace spectra::ai::resp {

// The commands the backend sends. Each expects its own kind of reply.
// kIncrBy, kIncrByFloat and kExpire carry the fleet's shared limit counters;
// kEval runs a script that answers with an integer (the shared semantic
// index numbers its entries with one).
enum class Command { kGet, kSet, kDel, kAuth, kSelect, kIncrBy, kIncrByFloat, kExpire, kEval };

// One command as an array of bulk strings: binary-safe, any bytes.
std::string format_command(std::initializer_list<std::string_view> args);
std::string format_command(std::span<const std::string_view> args);

// A reply, flattened: the cache never sends a command that answers with an
// array, so an array is kept only as its type (and read as an error).
struct Reply {
  enum class Type { kString, kArray, kInteger, kNil, kStatus, kError };
  Type type = Type::kNil;
  std::string str;        // kString, kStatus, kError
  long long integer = 0;  // kInteger; kArray: its element count
};

const char* type_name(Reply::Type type);

// A server (or whatever answers on its port) may send anything. Beyond
// these limits the stream is treated as broken instead of growing memory.
// The largest value a put stores is well below kMaxReplyBytes, so a value
// that was stored can always be read back.
inline constexpr std::size_t kMaxReplyBytes = 64u << 20;  // bytes buffered for one reply
inline constexpr std::size_t kMaxValueBytes = 32u << 20;  // largest value put() sends
inline constexpr int kMaxArrayElements = 64;              // nested arrays: hiredis stops at depth 7

// Turns the bytes of a connection into replies, in order. After an error
// the stream is out of step and the connection must be dropped; every
// later call returns the same error.
class ReplyReader {
 public:
  ReplyReader();
  ~ReplyReader();
  ReplyReader(const ReplyReader&) = delete;
  ReplyReader& operator=(const ReplyReader&) = delete;

  void feed(std::string_view bytes);
  // The next complete reply; nullopt when more bytes are needed.
  Result<std::optional<Reply>> next();

 private:
  redisReader* reader_;
  std::size_t buffered_ = 0;  // bytes fed and not yet turned into a reply
  Status broken_;
};

// What `reply` means for the `command` it answers: for kGet the value, or
// nullopt for a miss; for kIncrBy and kIncrByFloat the new value as text
// (kEval: the script's integer);
// for the others nullopt when the command succeeded. An error reply is
// kUnavailable; a reply of the wrong type is another error.
Result<std::optional<std::string>> interpret(Command command, Reply reply);

}  // namespace spectra::ai::resp
