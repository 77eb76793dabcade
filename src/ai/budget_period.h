#pragma once
// The period a virtual key's spend budget covers: the key's whole life
// ("total", the default), or a calendar day, week (from Monday) or month in
// UTC, after which the budget is whole again ($500 a month for a team).
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace spectra::ai {

enum class BudgetPeriod { kTotal, kDaily, kWeekly, kMonthly };

std::optional<BudgetPeriod> parse_budget_period(std::string_view s);  // total | daily | weekly | monthly
std::string_view to_string(BudgetPeriod p);

struct PeriodSpan {
  // Names the period: "" for total, "d2026-11-27", "w2026-11-23" (its
  // Monday), "m2026-11". Spend is kept under this name (here and in Redis).
  std::string id;
  // When it ends (the next one starts); time_point::max() for total.
  std::chrono::system_clock::time_point end;
};
PeriodSpan budget_period_at(BudgetPeriod p, std::chrono::system_clock::time_point t);

}  // namespace spectra::ai
