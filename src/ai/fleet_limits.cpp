#include "ai/fleet_limits.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common/log.h"

namespace spectra::ai {

namespace {

constexpr std::chrono::minutes kForgetAfter{3};  // keys idle this long are no longer synced
constexpr const char* kWindowTtl = "120";        // a minute window's key outlives its minute

std::string window_key(const std::string& key, const char* what, std::int64_t minute) {
  return "spectra:ai:limit:" + key + ":" + what + ":" + std::to_string(minute);
}

std::optional<std::int64_t> to_int(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  char* end = nullptr;
  long long v = std::strtoll(s->c_str(), &end, 10);
  if (end == s->c_str() || *end != '\0') return std::nullopt;
  return v;
}

std::optional<double> to_double(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(s->c_str(), &end);
  if (end == s->c_str() || *end != '\0') return std::nullopt;
  return v;
}

}  // namespace

FleetLimits::FleetLimits(std::shared_ptr<CacheStorage> storage, const Clock* clock,
                         std::chrono::milliseconds interval)
    : storage_(std::move(storage)),
      redis_(storage_ ? redis_commands(*storage_) : nullptr),
      clock_(clock),
      interval_(interval) {
  if (redis_) thread_ = std::thread([this] { run(); });
}

FleetLimits::~FleetLimits() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::int64_t FleetLimits::minute_now() const {
  return std::chrono::duration_cast<std::chrono::minutes>(clock_->system_now().time_since_epoch()).count();
}

FleetLimits::Counts& FleetLimits::counts(const std::string& key) {
  Counts& c = keys_[key];
  const std::int64_t m = minute_now();
  if (c.minute != m) {
    // A new window: its counts start at zero (what was not pushed of the
    // last one no longer matters for admission).
    c.minute = m;
    c.requests = c.tokens = 0;
    c.new_requests = c.new_tokens = 0;
  }
  c.last_used = clock_->steady_now();
  return c;
}

void FleetLimits::roll_spend(Counts& c, BudgetPeriod period) {
  c.spend_kind = period;
  PeriodSpan now = budget_period_at(period, clock_->system_now());
  if (now.id == c.spend_period.id) return;
  c.spend_period = std::move(now);
  c.spend = c.new_spend = 0;
}

std::int64_t FleetLimits::to_next_minute() const {
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(clock_->system_now().time_since_epoch()).count();
  return 60 - secs % 60;
}

LimitVerdict FleetLimits::check(const std::string& key, std::int64_t rpm, std::int64_t tpm, double budget_usd,
                                BudgetPeriod period) {
  std::lock_guard lock(mu_);
  return verdict(counts(key), key, rpm, tpm, budget_usd, period);
}

LimitVerdict FleetLimits::check_rate(const std::string& bucket, std::int64_t rpm, std::int64_t tpm, bool sparse) {
  std::lock_guard lock(mu_);
  Counts& c = counts(bucket);
  c.rate_only = true;
  c.sparse = sparse;
  return verdict(c, bucket, rpm, tpm, 0, BudgetPeriod::kTotal);
}

LimitVerdict FleetLimits::verdict(Counts& c, const std::string& key, std::int64_t rpm, std::int64_t tpm, double budget_usd,
                                  BudgetPeriod period) {
  LimitVerdict v;
  if (budget_usd > 0) roll_spend(c, period);
  const std::int64_t to_next_minute = this->to_next_minute();
  // Fixed one-minute windows: whole again at the next minute.
  const std::chrono::milliseconds to_window_end = std::chrono::seconds(to_next_minute);
  if (rpm > 0) v.requests = {rpm, std::max<std::int64_t>(0, rpm - (c.requests + c.new_requests) - 1), to_window_end};
  if (tpm > 0) v.tokens = {tpm, std::max<std::int64_t>(0, tpm - (c.tokens + c.new_tokens)), to_window_end};
  if (budget_usd > 0 && c.spend + c.new_spend >= budget_usd) {
    LimitVerdict refused = budget_spent(key, budget_usd, period, clock_->system_now(), " across the fleet");
    merge_headroom(refused, v);
    v = std::move(refused);
  } else if (tpm > 0 && c.tokens + c.new_tokens >= tpm) {
    v.allowed = false;
    v.limit = "tpm";
    v.message = "rate limit reached: tpm " + std::to_string(tpm) + " for key '" + key + "' across the fleet";
    v.retry_after_seconds = to_next_minute;
  } else if (rpm > 0 && c.requests + c.new_requests >= rpm) {
    v.allowed = false;
    v.limit = "rpm";
    v.message = "rate limit reached: rpm " + std::to_string(rpm) + " for key '" + key + "' across the fleet";
    v.retry_after_seconds = to_next_minute;
  }
  return v;
}

LimitVerdict FleetLimits::peek(const std::string& bucket, std::int64_t rpm, std::int64_t tpm) {
  LimitVerdict v;
  const std::chrono::milliseconds to_window_end = std::chrono::seconds(to_next_minute());
  std::int64_t requests = 0, tokens = 0;
  {
    std::lock_guard lock(mu_);
    auto it = keys_.find(bucket);
    if (it != keys_.end() && it->second.minute == minute_now()) {
      requests = it->second.requests + it->second.new_requests;
      tokens = it->second.tokens + it->second.new_tokens;
    }
  }
  if (rpm > 0) v.requests = {rpm, std::max<std::int64_t>(0, rpm - requests), requests > 0 ? to_window_end : std::chrono::milliseconds(0)};
  if (tpm > 0) v.tokens = {tpm, std::max<std::int64_t>(0, tpm - tokens), tokens > 0 ? to_window_end : std::chrono::milliseconds(0)};
  return v;
}

void FleetLimits::add_request(const std::string& key) {
  std::lock_guard lock(mu_);
  ++counts(key).new_requests;
}

void FleetLimits::add_tokens(const std::string& key, std::int64_t tokens) {
  if (tokens <= 0) return;
  std::lock_guard lock(mu_);
  counts(key).new_tokens += tokens;
}

void FleetLimits::add_spend(const std::string& key, double usd, BudgetPeriod period) {
  if (!(usd > 0)) return;
  std::lock_guard lock(mu_);
  Counts& c = counts(key);
  roll_spend(c, period);
  c.new_spend += usd;
}

std::optional<double> FleetLimits::spent(const std::string& key, BudgetPeriod period) {
  std::lock_guard lock(mu_);
  auto it = keys_.find(key);
  if (it == keys_.end() || it->second.spend_period.id != budget_period_at(period, clock_->system_now()).id) {
    return std::nullopt;
  }
  return it->second.spend + it->second.new_spend;
}

bool FleetLimits::sync() {
  if (!redis_) return false;
  std::lock_guard one(sync_mu_);
  struct Push {
    std::string key;
    std::int64_t minute, requests, tokens;
    PeriodSpan spend_period;
    double spend;
    bool rate_only;
    std::size_t first_reply = 0;  // its replies in the pipeline: req, -, tok, -, spend (unless rate_only)
  };
  std::vector<Push> pushes;
  {
    std::lock_guard lock(mu_);
    const auto now = clock_->steady_now();
    for (auto it = keys_.begin(); it != keys_.end();) {
      Counts& c = it->second;
      if (now - c.last_used > kForgetAfter && c.new_requests == 0 && c.new_tokens == 0 && c.new_spend == 0) {
        it = keys_.erase(it);
        continue;
      }
      if (c.sparse && c.new_requests == 0 && c.new_tokens == 0) {
        ++it;  // (nothing counted here since the last sync)
        continue;
      }
      roll_spend(c, c.spend_kind);  // read (and add to) the current period's total
      pushes.push_back({it->first, c.minute, c.new_requests, c.new_tokens, c.spend_period, c.new_spend, c.rate_only});
      c.new_requests = c.new_tokens = 0;
      c.new_spend = 0;
      ++it;
    }
  }
  if (pushes.empty()) return true;
  // Per key: INCRBY (the answer is the fleet's total with ours in it) and
  // EXPIRE for both windows, INCRBYFLOAT for the spend (not for a rate
  // alone). Zero increments still read the totals.
  std::vector<RedisCommands::Command> cmds;
  cmds.reserve(pushes.size() * 6);
  const auto wall = clock_->system_now();
  for (Push& p : pushes) {
    p.first_reply = cmds.size();
    const std::string req = window_key(p.key, "req", p.minute), tok = window_key(p.key, "tok", p.minute);
    cmds.push_back({resp::Command::kIncrBy, {"INCRBY", req, std::to_string(p.requests)}});
    cmds.push_back({resp::Command::kExpire, {"EXPIRE", req, kWindowTtl}});
    cmds.push_back({resp::Command::kIncrBy, {"INCRBY", tok, std::to_string(p.tokens)}});
    cmds.push_back({resp::Command::kExpire, {"EXPIRE", tok, kWindowTtl}});
    if (p.rate_only) continue;
    char spend[64];
    std::snprintf(spend, sizeof spend, "%.17g", p.spend);
    const std::string spend_key =
        "spectra:ai:spend:" + p.key + (p.spend_period.id.empty() ? "" : ":" + p.spend_period.id);
    cmds.push_back({resp::Command::kIncrByFloat, {"INCRBYFLOAT", spend_key, spend}});
    if (!p.spend_period.id.empty()) {  // a period's total outlives its period by a day, then goes
      const auto ttl = std::chrono::ceil<std::chrono::seconds>(p.spend_period.end - wall) + std::chrono::hours(24);
      cmds.push_back({resp::Command::kExpire, {"EXPIRE", spend_key, std::to_string(std::max<std::int64_t>(1, ttl.count()))}});
    }
  }
  std::vector<std::optional<std::string>> replies = redis_->run(cmds);
  bool all = true;
  std::lock_guard lock(mu_);
  for (std::size_t i = 0; i < pushes.size(); ++i) {
    const Push& p = pushes[i];
    Counts& c = keys_[p.key];
    auto req = to_int(replies[p.first_reply]);
    auto tok = to_int(replies[p.first_reply + 2]);
    auto spend = p.rate_only ? std::optional<double>(0.0) : to_double(replies[p.first_reply + 4]);
    // A push that got no answer may or may not have landed: count it again
    // next time (a fleet would rather refuse early than overspend).
    if (c.minute == p.minute) {
      if (req) c.requests = *req; else c.new_requests += p.requests;
      if (tok) c.tokens = *tok; else c.new_tokens += p.tokens;
    }
    if (!p.rate_only && c.spend_period.id == p.spend_period.id) {
      if (spend) c.spend = *spend; else c.new_spend += p.spend;
    }
    all = all && req && tok && spend;
  }
  return all;
}

void FleetLimits::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, interval_, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    sync();
    lock.lock();
  }
}

}  // namespace spectra::ai
