#include "ai/limits.h"

#include <cmath>

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

LimitVerdict Limiter::admit(const std::string& key, std::int64_t rpm, std::int64_t tpm, double budget_usd,
                            double spent_usd) {
  LimitVerdict v;
  if (budget_usd > 0 && spent_usd >= budget_usd) {
    v.allowed = false;
    v.limit = "budget";
    v.message = "budget of $" + std::to_string(budget_usd) + " for key '" + key + "' is spent";
    v.retry_after_seconds = 3600;
    return v;
  }
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
