#include "ai/budget_period.h"

#include <cstdio>

namespace spectra::ai {

namespace chr = std::chrono;

std::optional<BudgetPeriod> parse_budget_period(std::string_view s) {
  if (s == "total" || s.empty()) return BudgetPeriod::kTotal;
  if (s == "daily") return BudgetPeriod::kDaily;
  if (s == "weekly") return BudgetPeriod::kWeekly;
  if (s == "monthly") return BudgetPeriod::kMonthly;
  return std::nullopt;
}

std::string_view to_string(BudgetPeriod p) {
  switch (p) {
    case BudgetPeriod::kDaily: return "daily";
    case BudgetPeriod::kWeekly: return "weekly";
    case BudgetPeriod::kMonthly: return "monthly";
    case BudgetPeriod::kTotal: break;
  }
  return "total";
}

namespace {

std::string day_id(char tag, chr::year_month_day d, bool with_day) {
  char buf[24];
  if (with_day) {
    std::snprintf(buf, sizeof buf, "%c%04d-%02u-%02u", tag, static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                  static_cast<unsigned>(d.day()));
  } else {
    std::snprintf(buf, sizeof buf, "%c%04d-%02u", tag, static_cast<int>(d.year()), static_cast<unsigned>(d.month()));
  }
  return buf;
}

}  // namespace

PeriodSpan budget_period_at(BudgetPeriod p, chr::system_clock::time_point t) {
  const chr::sys_days today = chr::floor<chr::days>(t);
  switch (p) {
    case BudgetPeriod::kDaily:
      return {day_id('d', chr::year_month_day(today), true), today + chr::days(1)};
    case BudgetPeriod::kWeekly: {
      const chr::sys_days monday = today - (chr::weekday(today) - chr::Monday);
      return {day_id('w', chr::year_month_day(monday), true), monday + chr::weeks(1)};
    }
    case BudgetPeriod::kMonthly: {
      const chr::year_month_day d(today);
      const chr::sys_days next = chr::year_month_day(d.year() / d.month() / 1) + chr::months(1);
      return {day_id('m', d, false), next};
    }
    case BudgetPeriod::kTotal:
      break;
  }
  return {"", chr::system_clock::time_point::max()};
}

}  // namespace spectra::ai
