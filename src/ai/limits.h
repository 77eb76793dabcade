#pragma once
// Per-key request and token rate limits (token buckets refilled
// continuously over a minute) and spend budgets. Thread-safe.
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ai/budget_period.h"
#include "common/clock.h"

namespace spectra::ai {

struct LimitVerdict {
  bool allowed = true;
  std::string limit;    // "rpm", "tpm" or "budget" when refused
  std::string message;  // names the limit and the key
  std::int64_t retry_after_seconds = 0;
  // Headroom, for OpenAI's x-ratelimit-* headers: for each limit the key
  // has (limit > 0), what is left after this request was counted and how
  // long until the limit is whole again.
  struct Headroom {
    std::int64_t limit = 0;  // 0: the key has no such limit
    std::int64_t remaining = 0;
    std::chrono::milliseconds reset{0};
  };
  Headroom requests, tokens;
};

// The tighter of two views of the same limits (this instance's and the
// fleet's): the smaller remaining, the later reset.
void merge_headroom(LimitVerdict& into, const LimitVerdict& other);
// OpenAI's x-ratelimit-{limit,remaining,reset}-{requests,tokens} headers
// for the limits the key has, e.g. reset "6m0s", "1.5s", "20ms".
std::vector<std::pair<std::string, std::string>> ratelimit_headers(const LimitVerdict& v);

// The refusal of a key whose budget is spent: names the budget and, for a
// periodic one, when it renews (also the Retry-After). `scope` ends the
// message (e.g. " across the fleet").
LimitVerdict budget_spent(const std::string& key, double budget_usd, BudgetPeriod period,
                          std::chrono::system_clock::time_point now, std::string_view scope = {});

class Limiter {
 public:
  explicit Limiter(const Clock* clock) : clock_(clock) {}
  // Checks and takes one request from the key's RPM bucket; checks that the
  // TPM bucket is not empty and the budget not spent (`spent_usd`: in the
  // budget's current period).
  LimitVerdict admit(const std::string& key, std::int64_t rpm, std::int64_t tpm, double budget_usd,
                     double spent_usd, BudgetPeriod period = BudgetPeriod::kTotal);
  // The key's headroom now (requests, tokens), taking nothing and keeping
  // no bucket for a key it has not seen (whole).
  LimitVerdict peek(const std::string& key, std::int64_t rpm, std::int64_t tpm) const;
  // Charges tokens actually used (may drive the TPM bucket negative: the
  // next requests wait until it refills).
  void charge_tokens(const std::string& key, std::int64_t tpm, std::int64_t tokens);

  // Buckets held now. Those that have refilled to full are forgotten once
  // the count doubles since the last sweep (a full bucket is what an
  // absent one starts as), so keys without a bound — end users — cost
  // memory only while they are limited.
  std::size_t buckets();

 private:
  struct Bucket {
    double level = 0;
    double per_minute = 0;
    std::chrono::steady_clock::time_point at{};
    bool init = false;
  };
  void refill(Bucket& b, double per_minute) const;
  void forget_full_buckets();  // mu_ held
  const Clock* clock_;
  mutable std::mutex mu_;
  std::map<std::string, Bucket> rpm_, tpm_;  // guarded by mu_
  std::size_t sweep_at_ = 1024;              // guarded by mu_
};

}  // namespace spectra::ai
