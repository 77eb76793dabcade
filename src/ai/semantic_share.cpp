#include "ai/semantic_share.h"

#include <charconv>

#include "common/crypto.h"
#include "common/log.h"

namespace spectra::ai {

namespace {

constexpr const char* kSeqKey = "spectra:ai:sem:seq";
constexpr const char* kEntryPrefix = "spectra:ai:sem:";
constexpr std::size_t kReadBatch = 256;  // GETs per round trip

// Numbers and stores one entry atomically: a reader that sees the number
// finds the entry (until it expires).
constexpr const char* kPublishScript =
    "local n = redis.call('INCR', KEYS[1]) "
    "redis.call('SET', KEYS[2] .. n, ARGV[1], 'EX', ARGV[2]) "
    "return n";
// The last number published (0 before the first), as an integer reply, so
// that a failed call is told apart from a fleet that has published nothing.
constexpr const char* kHeadScript = "return tonumber(redis.call('GET', KEYS[1]) or '0')";

std::optional<std::int64_t> to_int(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  std::int64_t v = 0;
  auto r = std::from_chars(s->data(), s->data() + s->size(), v);
  if (r.ec != std::errc() || r.ptr != s->data() + s->size() || v < 0) return std::nullopt;
  return v;
}

RedisCommands::Command head_command() { return {resp::Command::kEval, {"EVAL", kHeadScript, "1", kSeqKey}}; }

}  // namespace

SemanticShare::SemanticShare(std::shared_ptr<CacheStorage> storage, std::shared_ptr<SemanticIndex> index,
                             Options options)
    : storage_(std::move(storage)),
      redis_(storage_ ? redis_commands(*storage_) : nullptr),
      index_(std::move(index)),
      options_(options),
      instance_(crypto::random_token(12)) {
  if (redis_ && index_) thread_ = std::thread([this] { run(); });
}

SemanticShare::~SemanticShare() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SemanticShare::publish(const std::string& partition, const std::vector<float>& v, const std::string& key,
                            std::chrono::seconds ttl) {
  if (v.empty() || ttl.count() <= 0) return;
  std::string record = encode_semantic_record({instance_, partition, key, v});
  std::lock_guard lock(mu_);
  if (pending_.size() >= options_.max_pending) {
    ++stats_.dropped;
    return;
  }
  pending_.push_back({std::move(record), ttl});
}

SemanticShare::Stats SemanticShare::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

bool SemanticShare::sync() {
  if (!redis_ || !index_) return false;
  std::lock_guard one(sync_mu_);
  const bool pushed = push();
  return pull() && pushed;
}

bool SemanticShare::push() {
  std::vector<Pending> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(pending_);
  }
  if (batch.empty()) return true;
  std::vector<RedisCommands::Command> cmds;
  cmds.reserve(batch.size());
  for (const auto& p : batch) {
    cmds.push_back({resp::Command::kEval,
                    {"EVAL", kPublishScript, "2", kSeqKey, kEntryPrefix, p.record, std::to_string(p.ttl.count())}});
  }
  auto results = redis_->run(cmds);
  std::uint64_t ok = 0;
  for (const auto& r : results) ok += r.has_value();
  std::lock_guard lock(mu_);
  stats_.published += ok;
  stats_.dropped += batch.size() - ok;  // this instance's index has them; the fleet's does not
  return ok == batch.size();
}

// Reads the entries numbered since the last read (on the first call, the
// newest catch_up of them) into the index. Each batch of GETs ends with
// the head script: its answer proves the connection answered every GET
// before it, so a nil there is an entry that expired, not a lost reply.
bool SemanticShare::pull() {
  auto head = to_int(redis_->run({head_command()}).front());
  if (!head) return false;
  const auto catch_up = static_cast<std::int64_t>(options_.catch_up);
  // First read, or the fleet's numbering started over (a flushed Redis).
  if (last_read_ < 0 || *head < last_read_) last_read_ = std::max<std::int64_t>(0, *head - catch_up);
  // Never more than catch_up entries per sync: a long outage resumes with
  // the newest entries rather than replaying all of them.
  if (*head - last_read_ > catch_up) last_read_ = *head - catch_up;
  while (last_read_ < *head) {
    const std::int64_t end = std::min<std::int64_t>(*head, last_read_ + static_cast<std::int64_t>(kReadBatch));
    std::vector<RedisCommands::Command> cmds;
    cmds.reserve(static_cast<std::size_t>(end - last_read_) + 1);
    for (std::int64_t n = last_read_ + 1; n <= end; ++n) {
      cmds.push_back({resp::Command::kGet, {"GET", kEntryPrefix + std::to_string(n)}});
    }
    cmds.push_back(head_command());
    auto values = redis_->run(cmds);
    if (values.size() != cmds.size() || !values.back()) return false;
    std::uint64_t received = 0, rejected = 0;
    for (std::size_t i = 0; i + 1 < values.size(); ++i) {
      if (!values[i]) continue;  // expired with its answer
      auto rec = decode_semantic_record(*values[i]);
      if (!rec) {
        ++rejected;
        continue;
      }
      if (rec->instance == instance_) continue;  // indexed when it was published
      index_->add(rec->partition, rec->vector, rec->key);
      ++received;
    }
    last_read_ = end;
    std::lock_guard lock(mu_);
    stats_.received += received;
    stats_.rejected += rejected;
  }
  return true;
}

void SemanticShare::run() {
  bool warned = false;
  for (;;) {
    bool ok = sync();
    if (!ok && !warned) log::warn("cannot share semantic cache entries through Redis; retrying", {});
    warned = !ok;
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, options_.interval, [&] { return stop_; })) return;
  }
}

}  // namespace spectra::ai
