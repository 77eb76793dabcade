#include "ai/resp_codec.h"

#include <hiredis/hiredis.h>

#include <cassert>
#include <memory>
#include <new>
#include <vector>

namespace spectra::ai::resp {

namespace {

// hiredis 0.14 allocates an array reply's element vector from the count the
// server announces (`*2000000000` is 16 GB) and has no limit of its own
// (hiredis 1.x has `maxelements`). The reader keeps hiredis's own reply
// objects (so freeReplyObject frees them) but goes through a copy of its
// function table whose createArray refuses large or negative counts;
// hiredis then reports an error instead of allocating.
void* (*g_default_create_array)(const redisReadTask*, int) = nullptr;

void* bounded_create_array(const redisReadTask* task, int elements) {
  if (elements < 0 || elements > kMaxArrayElements) return nullptr;
  return g_default_create_array(task, elements);
}

redisReplyObjectFunctions* bounded_functions() {
  static redisReplyObjectFunctions fns = [] {
    redisReader* r = redisReaderCreate();
    if (r == nullptr) throw std::bad_alloc();
    redisReplyObjectFunctions f = *r->fn;
    redisReaderFree(r);
    g_default_create_array = f.createArray;
    f.createArray = &bounded_create_array;
    return f;
  }();
  return &fns;
}

struct FreeReply {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};

std::string excerpt(std::string_view s) {
  constexpr std::size_t kMax = 200;
  return std::string(s.substr(0, kMax)) + (s.size() > kMax ? "..." : "");
}

}  // namespace

const char* type_name(Reply::Type type) {
  switch (type) {
    case Reply::Type::kString:
      return "bulk string";
    case Reply::Type::kArray:
      return "array";
    case Reply::Type::kInteger:
      return "integer";
    case Reply::Type::kNil:
      return "nil";
    case Reply::Type::kStatus:
      return "status";
    case Reply::Type::kError:
      return "error";
  }
  return "unknown";
}

std::string format_command(std::initializer_list<std::string_view> args) {
  return format_command(std::span<const std::string_view>(args.begin(), args.size()));
}

std::string format_command(std::span<const std::string_view> args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (std::string_view a : args) {
    argv.push_back(a.empty() ? "" : a.data());  // never a null pointer to hiredis
    lens.push_back(a.size());
  }
  char* out = nullptr;
  const int n =
      redisFormatCommandArgv(&out, static_cast<int>(argv.size()), argv.data(), lens.data());
  if (n < 0 || out == nullptr) throw std::bad_alloc();  // its only failure
  std::string cmd(out, static_cast<std::size_t>(n));
  redisFreeCommand(out);
  return cmd;
}

ReplyReader::ReplyReader() : reader_(redisReaderCreateWithFunctions(bounded_functions())) {
  if (reader_ == nullptr) throw std::bad_alloc();
}

ReplyReader::~ReplyReader() { redisReaderFree(reader_); }

void ReplyReader::feed(std::string_view bytes) {
  if (!broken_.ok() || bytes.empty()) return;
  buffered_ += bytes.size();
  if (buffered_ > kMaxReplyBytes) {
    broken_ = Status(Code::kResourceExhausted,
                     "reply larger than " + std::to_string(kMaxReplyBytes) + " bytes");
    return;
  }
  if (redisReaderFeed(reader_, bytes.data(), bytes.size()) != REDIS_OK) {
    broken_ = Status(Code::kIo, std::string("protocol error: ") + reader_->errstr);
  }
}

Result<std::optional<Reply>> ReplyReader::next() {
  if (!broken_.ok()) return broken_;
  void* raw = nullptr;
  if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
    // hiredis says "out of memory" also when bounded_create_array refused.
    broken_ = reader_->err == REDIS_ERR_OOM
                  ? Status(Code::kResourceExhausted, "array reply of more than " +
                                                         std::to_string(kMaxArrayElements) +
                                                         " elements (or out of memory)")
                  : Status(Code::kIo, std::string("protocol error: ") + reader_->errstr);
    return broken_;
  }
  if (raw == nullptr) return std::optional<Reply>();
  std::unique_ptr<redisReply, FreeReply> r(static_cast<redisReply*>(raw));
  // What hiredis still holds is the start of the next reply.
  buffered_ = reader_->len - reader_->pos;
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_NIL:
      out.type = Reply::Type::kNil;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.integer = static_cast<long long>(r->elements);
      break;
    default:
      broken_ = Status(Code::kIo, "protocol error: unknown reply type " + std::to_string(r->type));
      return broken_;
  }
  return std::optional<Reply>(std::move(out));
}

Result<std::optional<std::string>> interpret(Command command, Reply reply) {
  using T = Reply::Type;
  if (reply.type == T::kError)
    return Status(Code::kUnavailable, "redis error: " + excerpt(reply.str));
  const char* name = "GET";
  switch (command) {
    case Command::kGet:
      if (reply.type == T::kString) return std::optional<std::string>(std::move(reply.str));
      if (reply.type == T::kNil) return std::optional<std::string>();
      break;
    case Command::kDel:
      name = "DEL";
      if (reply.type == T::kInteger) return std::optional<std::string>();
      break;
    case Command::kExpire:
      name = "EXPIRE";
      if (reply.type == T::kInteger) return std::optional<std::string>();
      break;
    case Command::kIncrBy:
    case Command::kEval:
      name = command == Command::kEval ? "EVAL" : "INCRBY";
      if (reply.type == T::kInteger) return std::optional<std::string>(std::to_string(reply.integer));
      break;
    case Command::kIncrByFloat:
      name = "INCRBYFLOAT";
      if (reply.type == T::kString) return std::optional<std::string>(std::move(reply.str));
      break;
    case Command::kSet:
    case Command::kAuth:
    case Command::kSelect:
      name = command == Command::kSet ? "SET" : command == Command::kAuth ? "AUTH" : "SELECT";
      if (reply.type == T::kStatus && reply.str == "OK") return std::optional<std::string>();
      break;
  }
  return Status(Code::kIo,
                std::string("unexpected ") + type_name(reply.type) + " reply to " + name);
}

}  // namespace spectra::ai::resp
