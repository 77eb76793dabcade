#include "ai/limits.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/time_util.h"

namespace spectra::ai {

void Limiter::refill(Bucket& b, double per_minute) const {
  auto now = clock_->steady_now();
  b.per_minute = per_minute;
  if (!b.init) {
    b.level = per_minute;
    b.at = now;
    b.init = true;
    return;
  }
  double secs = std::chrono::duration<double>(now - b.at).count();
  b.level = std::min(per_minute, b.level + secs * per_minute / 60.0);
  b.at = now;
}

LimitVerdict budget_spent(const std::string& key, double budget_usd, BudgetPeriod period,
                          std::chrono::system_clock::time_point now, std::string_view scope) {
  LimitVerdict v;
  v.allowed = false;
  v.limit = "budget";
  char amount[64];
  std::snprintf(amount, sizeof amount, "$%.2f", budget_usd);
  if (period == BudgetPeriod::kTotal) {
    v.message = std::string("budget of ") + amount + " for key '" + key + "' is spent" + std::string(scope);
    v.retry_after_seconds = 3600;  // until someone raises it
    return v;
  }
  const PeriodSpan span = budget_period_at(period, now);
  v.message = std::string(to_string(period)) + " budget of " + amount + " for key '" + key + "' is spent" +
              std::string(scope) + "; it renews at " + rfc3339_utc(span.end);
  v.retry_after_seconds = std::max<std::int64_t>(1, std::chrono::ceil<std::chrono::seconds>(span.end - now).count());
  return v;
}

namespace {

// A continuously refilled bucket's headroom: whole units left, and the time
// until it is full again.
LimitVerdict::Headroom headroom(double level, std::int64_t per_minute) {
  LimitVerdict::Headroom h;
  h.limit = per_minute;
  h.remaining = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(level)));
  const double missing = static_cast<double>(per_minute) - level;
  h.reset = std::chrono::milliseconds(
      missing > 0 ? static_cast<std::int64_t>(std::ceil(missing * 60'000.0 / static_cast<double>(per_minute))) : 0);
  return h;
}

// Go-style durations as OpenAI sends them: "20ms", "1.5s", "6m0s".
std::string duration_text(std::chrono::milliseconds d) {
  const std::int64_t ms = std::max<std::int64_t>(0, d.count());
  if (ms < 1000) return std::to_string(ms) + "ms";
  auto seconds = [](std::int64_t v) {
    std::string s = std::to_string(v / 1000);
    if (v % 1000 != 0) {
      char frac[8];
      std::snprintf(frac, sizeof frac, ".%03lld", static_cast<long long>(v % 1000));
      s += frac;
      while (s.back() == '0') s.pop_back();
    }
    return s + "s";
  };
  if (ms < 60'000) return seconds(ms);
  std::string out;
  if (ms >= 3'600'000) out += std::to_string(ms / 3'600'000) + "h";
  out += std::to_string(ms % 3'600'000 / 60'000) + "m";
  return out + seconds(ms % 60'000);
}

void merge_one(LimitVerdict::Headroom& into, const LimitVerdict::Headroom& other) {
  if (other.limit <= 0) return;
  if (into.limit <= 0) {
    into = other;
    return;
  }
  into.remaining = std::min(into.remaining, other.remaining);
  into.reset = std::max(into.reset, other.reset);
}

}  // namespace

void merge_headroom(LimitVerdict& into, const LimitVerdict& other) {
  merge_one(into.requests, other.requests);
  merge_one(into.tokens, other.tokens);
}

std::vector<std::pair<std::string, std::string>> ratelimit_headers(const LimitVerdict& v) {
  std::vector<std::pair<std::string, std::string>> out;
  auto add = [&](const LimitVerdict::Headroom& h, const char* what) {
    if (h.limit <= 0) return;
    out.emplace_back(std::string("x-ratelimit-limit-") + what, std::to_string(h.limit));
    out.emplace_back(std::string("x-ratelimit-remaining-") + what, std::to_string(h.remaining));
    out.emplace_back(std::string("x-ratelimit-reset-") + what, duration_text(h.reset));
  };
  add(v.requests, "requests");
  add(v.tokens, "tokens");
  return out;
}

void Limiter::forget_full_buckets() {
  const auto now = clock_->steady_now();
  for (auto* buckets : {&rpm_, &tpm_}) {
    std::erase_if(*buckets, [&](const auto& entry) {
      const Bucket& b = entry.second;
      const double secs = std::chrono::duration<double>(now - b.at).count();
      return b.level + secs * b.per_minute / 60.0 >= b.per_minute;
    });
  }
  sweep_at_ = std::max<std::size_t>(1024, 2 * (rpm_.size() + tpm_.size()));
}

std::size_t Limiter::buckets() {
  std::lock_guard lock(mu_);
  return rpm_.size() + tpm_.size();
}

LimitVerdict Limiter::admit(const std::string& key, std::int64_t rpm, std::int64_t tpm, double budget_usd,
                            double spent_usd, BudgetPeriod period) {
  LimitVerdict v;
  std::lock_guard lock(mu_);
  if (rpm_.size() + tpm_.size() >= sweep_at_) forget_full_buckets();
  // Both buckets' headroom first, so a refusal (budget included) reports both.
  Bucket* t = nullptr;
  Bucket* r = nullptr;
  if (tpm > 0) {
    t = &tpm_[key];
    refill(*t, static_cast<double>(tpm));
    v.tokens = headroom(t->level, tpm);
  }
  if (rpm > 0) {
    r = &rpm_[key];
    refill(*r, static_cast<double>(rpm));
    v.requests = headroom(r->level, rpm);
  }
  if (budget_usd > 0 && spent_usd >= budget_usd) {
    LimitVerdict refused = budget_spent(key, budget_usd, period, clock_->system_now());
    refused.requests = v.requests;
    refused.tokens = v.tokens;
    return refused;
  }
  if (t && t->level <= 0) {
    v.allowed = false;
    v.limit = "tpm";
    v.message = "rate limit reached: tpm " + std::to_string(tpm) + " for key '" + key + "'";
    v.retry_after_seconds = static_cast<std::int64_t>(std::ceil((1 - t->level) * 60.0 / static_cast<double>(tpm)));
    return v;
  }
  if (r) {
    if (r->level < 1) {
      v.allowed = false;
      v.limit = "rpm";
      v.message = "rate limit reached: rpm " + std::to_string(rpm) + " for key '" + key + "'";
      v.retry_after_seconds = static_cast<std::int64_t>(std::ceil((1 - r->level) * 60.0 / static_cast<double>(rpm)));
      return v;
    }
    r->level -= 1;
    v.requests = headroom(r->level, rpm);
  }
  return v;
}

LimitVerdict Limiter::peek(const std::string& key, std::int64_t rpm, std::int64_t tpm) const {
  LimitVerdict v;
  std::lock_guard lock(mu_);
  auto level = [&](const std::map<std::string, Bucket>& buckets, std::int64_t per_minute) {
    auto it = buckets.find(key);
    if (it == buckets.end() || !it->second.init) return static_cast<double>(per_minute);
    Bucket b = it->second;  // (a copy: a peek takes nothing)
    refill(b, static_cast<double>(per_minute));
    return b.level;
  };
  if (tpm > 0) v.tokens = headroom(level(tpm_, tpm), tpm);
  if (rpm > 0) v.requests = headroom(level(rpm_, rpm), rpm);
  return v;
}

void Limiter::charge_tokens(const std::string& key, std::int64_t tpm, std::int64_t tokens) {
  if (tpm <= 0) return;
  std::lock_guard lock(mu_);
  Bucket& t = tpm_[key];
  refill(t, static_cast<double>(tpm));
  t.level -= static_cast<double>(tokens);
}

}  // namespace spectra::ai
