#include "ai/limits.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/time_util.h"

namespace spectra::ai {

void Limiter::refill(Bucket& b, double per_minute) {
  auto now = clock_->steady_now();
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

LimitVerdict Limiter::admit(const std::string& key, std::int64_t rpm, std::int64_t tpm, double budget_usd,
                            double spent_usd, BudgetPeriod period) {
  LimitVerdict v;
  if (budget_usd > 0 && spent_usd >= budget_usd) return budget_spent(key, budget_usd, period, clock_->system_now());
  std::lock_guard lock(mu_);
  if (tpm > 0) {
    Bucket& t = tpm_[key];
    refill(t, static_cast<double>(tpm));
    if (t.level <= 0) {
      v.allowed = false;
      v.limit = "tpm";
      v.message = "rate limit reached: tpm " + std::to_string(tpm) + " for key '" + key + "'";
      v.retry_after_seconds = static_cast<std::int64_t>(std::ceil((1 - t.level) * 60.0 / static_cast<double>(tpm)));
      return v;
    }
  }
  if (rpm > 0) {
    Bucket& r = rpm_[key];
    refill(r, static_cast<double>(rpm));
    if (r.level < 1) {
      v.allowed = false;
      v.limit = "rpm";
      v.message = "rate limit reached: rpm " + std::to_string(rpm) + " for key '" + key + "'";
      v.retry_after_seconds = static_cast<std::int64_t>(std::ceil((1 - r.level) * 60.0 / static_cast<double>(rpm)));
      return v;
    }
    r.level -= 1;
  }
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
