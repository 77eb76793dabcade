// The metrics registry's text exposition: labelled series, and families
// computed per label set at scrape time.
#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <mutex>

namespace spectra::metrics {
namespace {

// A family computed at scrape time renders one series per label set its
// callback returns, with its HELP and TYPE once; the callback runs without
// the registry's lock, so it may create series itself (a lock of the
// caller's that a series' creator also holds cannot deadlock the scrape).
TEST(Metrics, GaugesComputedPerLabelSetAtScrapeTime) {
  Registry r;
  r.counter("spectra_things_total", "Things", {{"kind", "a"}}).inc(3);
  int scrapes = 0;
  r.callback_gauges("spectra_budget_spent_usd", "Spent of each key's budget", [&] {
    ++scrapes;
    r.gauge("spectra_made_during_scrape", "A series made by the callback").set(1);  // (would deadlock under the lock)
    return Registry::Series{{{{"key", "web"}, {"period", "monthly"}}, 1.5}, {{{"key", "a\"b"}}, 0}};
  });
  const std::string text = r.render();
  EXPECT_EQ(scrapes, 1);
  EXPECT_NE(text.find("# HELP spectra_budget_spent_usd Spent of each key's budget\n# TYPE spectra_budget_spent_usd gauge\n"
                      "spectra_budget_spent_usd{key=\"web\",period=\"monthly\"} 1.5\n"
                      "spectra_budget_spent_usd{key=\"a\\\"b\"} 0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("spectra_things_total{kind=\"a\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(r.render().find("spectra_made_during_scrape 1\n"), std::string::npos);
  // No series: the family says only what it is.
  r.callback_gauges("spectra_budget_spent_usd", "Spent of each key's budget", [] { return Registry::Series{}; });
  const std::string empty = r.render();
  EXPECT_NE(empty.find("# TYPE spectra_budget_spent_usd gauge\n"), std::string::npos);
  EXPECT_EQ(empty.find("spectra_budget_spent_usd{"), std::string::npos);
}

}  // namespace
}  // namespace spectra::metrics
