// Arbitrary bytes as a Redis server's replies, through the reader and what
// each reply means for each command the cache sends. Invariants: no crash
// or sanitizer report (hiredis's reader included: array counts are bounded
// before it allocates); whole and chunked input give the same replies and
// the same error; a GET reads a value only from a bulk string, exactly its
// bytes; and a command the cache formats reads back as what it is.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ai/resp_codec.h"
#include "fuzz_util.h"

namespace resp = spectra::ai::resp;

namespace {

using spectra::fuzz::check;
using spectra::fuzz::split_chunks;

struct Outcome {
  std::vector<resp::Reply> replies;
  bool broken = false;
};

void drain(resp::ReplyReader& reader, Outcome& out) {
  while (!out.broken) {
    auto next = reader.next();
    if (!next.ok()) {
      check(!next.status().message().empty());
      out.broken = true;
      return;
    }
    if (!next->has_value()) return;
    out.replies.push_back(std::move(**next));
  }
}

bool same(const resp::Reply& a, const resp::Reply& b) {
  return a.type == b.type && a.str == b.str && a.integer == b.integer;
}

void check_meaning(const resp::Reply& reply) {
  using T = resp::Reply::Type;
  auto get = resp::interpret(resp::Command::kGet, reply);
  if (reply.type == T::kString) {
    check(get.ok() && get->has_value() && **get == reply.str);
  } else if (reply.type == T::kNil) {
    check(get.ok() && !get->has_value());
  } else {
    check(!get.ok());
  }
  for (auto command : {resp::Command::kSet, resp::Command::kDel, resp::Command::kAuth,
                       resp::Command::kSelect, resp::Command::kExpire}) {
    auto r = resp::interpret(command, reply);
    check(!r.ok() || !r->has_value());  // only GET and the counters carry a value
    if (reply.type == T::kError) check(!r.ok());
  }
  // Counters: an integer (INCRBY) or its text (INCRBYFLOAT), nothing else.
  for (auto command : {resp::Command::kIncrBy, resp::Command::kEval}) {
    auto incr = resp::interpret(command, reply);
    check(incr.ok() == (reply.type == T::kInteger));
    if (incr.ok()) check(incr->has_value() && **incr == std::to_string(reply.integer));
  }
  auto incr_float = resp::interpret(resp::Command::kIncrByFloat, reply);
  check(incr_float.ok() == (reply.type == T::kString));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view data(reinterpret_cast<const char*>(bytes), size);

  resp::ReplyReader whole_reader;
  Outcome whole;
  whole_reader.feed(data);
  drain(whole_reader, whole);

  resp::ReplyReader chunked_reader;
  Outcome chunked;
  for (std::string_view chunk : split_chunks(data)) {
    chunked_reader.feed(chunk);
    drain(chunked_reader, chunked);
    if (chunked.broken) break;
  }

  check(whole.broken == chunked.broken);
  check(whole.replies.size() == chunked.replies.size());
  for (std::size_t i = 0; i < whole.replies.size(); ++i) {
    check(same(whole.replies[i], chunked.replies[i]));
    check_meaning(whole.replies[i]);
  }

  // The input as a value: a bulk string reads back as exactly its bytes.
  resp::ReplyReader value_reader;
  value_reader.feed("$" + std::to_string(size) + "\r\n");
  value_reader.feed(data);
  value_reader.feed("\r\n");
  auto value = value_reader.next();
  check(value.ok() && value->has_value() && (*value)->type == resp::Reply::Type::kString &&
        (*value)->str == data);

  // The input inside a command: framed exactly, and read as an array of 5.
  const std::string set = resp::format_command({"SET", data, data, "EX", "60"});
  const std::string len = std::to_string(size);
  check(set == "*5\r\n$3\r\nSET\r\n$" + len + "\r\n" + std::string(data) + "\r\n$" + len + "\r\n" +
                   std::string(data) + "\r\n$2\r\nEX\r\n$2\r\n60\r\n");
  resp::ReplyReader command_reader;
  command_reader.feed(set);
  auto as_reply = command_reader.next();
  check(as_reply.ok() && as_reply->has_value() && (*as_reply)->type == resp::Reply::Type::kArray &&
        (*as_reply)->integer == 5);
  return 0;
}
