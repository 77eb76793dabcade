#pragma once
// Rate limits and spend budgets that hold for a fleet, not per instance.
//
// Each virtual key's RPM and TPM are also counted in Redis, in fixed
// one-minute windows shared by every gateway of the fleet, and its spend in
// one running total; the per-instance token buckets (ai/limits.h) stay in
// force as well. The request path does no I/O: a background thread pushes
// what this instance added since the last sync (INCRBY / INCRBYFLOAT, which
// answer with the fleet's new totals) every `interval`, and admission
// compares the last totals plus what this instance added since with the
// limit. So the fleet can overshoot a limit by what its instances admit
// within one interval; a Redis that is down leaves the last totals (and the
// local buckets) in force.
//
// Redis keys: spectra:ai:limit:<key>:req:<minute>, ...:tok:<minute> (expire
// after two minutes; quotas and end users have buckets of their own there,
// "quota:<provider>/<model>" and "user:<key>\n<end user>"),
// spectra:ai:spend:<key> (kept: a total budget is for
// the key's life, like the local meter's) or, for a periodic budget,
// spectra:ai:spend:<key>:<period id> (budget_period.h; expires a day after
// its period ends). Spend this instance had not pushed when a period ended
// (at most one interval's) is dropped: that period is over.
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "ai/budget_period.h"
#include "ai/cache_storage.h"
#include "ai/limits.h"
#include "ai/redis_cache_storage.h"
#include "common/clock.h"

namespace spectra::ai {

class FleetLimits {
 public:
  // `storage` must be the Redis backend (redis_commands() is not null); it
  // is kept alive by this object.
  FleetLimits(std::shared_ptr<CacheStorage> storage, const Clock* clock,
              std::chrono::milliseconds interval = std::chrono::milliseconds(250));
  ~FleetLimits();
  FleetLimits(const FleetLimits&) = delete;
  FleetLimits& operator=(const FleetLimits&) = delete;

  // No I/O. Refuses when the fleet's count for this minute (as last
  // synced, plus this instance's since) reached rpm or tpm, or its spend
  // reached the budget. 0 means unlimited.
  LimitVerdict check(const std::string& key, std::int64_t rpm, std::int64_t tpm, double budget_usd,
                    BudgetPeriod period = BudgetPeriod::kTotal);
  // A rate alone, with no spend (a provider's quota, an end user of a key):
  // as check() with no budget. `sparse`: the bucket is synced only after an
  // interval in which this instance counted something for it, so that a
  // fleet serving many end users costs Redis only those active; its totals
  // are then as fresh as this instance's last use of it.
  LimitVerdict check_rate(const std::string& bucket, std::int64_t rpm, std::int64_t tpm, bool sparse = false);
  // The fleet's headroom for `bucket` this minute (requests, tokens), as
  // last synced plus this instance's since; takes nothing and keeps no
  // bucket for one it does not count (whole).
  LimitVerdict peek(const std::string& bucket, std::int64_t rpm, std::int64_t tpm);
  // What this instance admitted and spent, counted toward the fleet's totals
  // (spend toward the key's budget period).
  void add_request(const std::string& key);
  void add_tokens(const std::string& key, std::int64_t tokens);
  void add_spend(const std::string& key, double usd, BudgetPeriod period = BudgetPeriod::kTotal);

  // The fleet's spend of the key in the budget period (as last synced, plus
  // this instance's since); nullopt before anything is known of it.
  std::optional<double> spent(const std::string& key, BudgetPeriod period);

  // One push-and-pull now (the background thread calls it every interval;
  // tests call it to see the fleet's totals at once). False if Redis did
  // not answer.
  bool sync();

 private:
  struct Counts {
    std::int64_t minute = 0;  // the window the counts below belong to
    std::int64_t requests = 0, tokens = 0;
    BudgetPeriod spend_kind = BudgetPeriod::kTotal;  // the key's budget period, as last used
    PeriodSpan spend_period;                          // the one `spend` belongs to
    double spend = 0;
    // Added here since the last sync (pending push).
    std::int64_t new_requests = 0, new_tokens = 0;
    double new_spend = 0;
    std::chrono::steady_clock::time_point last_used;
    bool rate_only = false, sparse = false;  // check_rate's bucket (no spend kept), and how it is synced
  };
  std::int64_t minute_now() const;
  std::int64_t to_next_minute() const;  // seconds until the window ends
  // check()'s verdict on `c`, the counts of `key` (mu_ held).
  LimitVerdict verdict(Counts& c, const std::string& key, std::int64_t rpm, std::int64_t tpm, double budget_usd,
                       BudgetPeriod period);
  Counts& counts(const std::string& key);  // mu_ held; rolls the window
  // mu_ held; a new budget period (or another kind of period) starts at zero.
  void roll_spend(Counts& c, BudgetPeriod period);
  void run();

  std::shared_ptr<CacheStorage> storage_;
  RedisCommands* redis_;
  const Clock* clock_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::map<std::string, Counts> keys_;  // guarded by mu_
  std::mutex sync_mu_;                  // one sync at a time
  bool stop_ = false;                   // guarded by mu_
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace spectra::ai
