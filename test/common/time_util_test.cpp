#include "common/time_util.h"

#include <gtest/gtest.h>

namespace spectra {
namespace {

using namespace std::chrono;

TEST(TimeUtil, Rfc3339RoundTripAndOffsets) {
  const auto t = sys_days(year(2026) / 12 / 31) + hours(23) + minutes(59) + seconds(59);
  EXPECT_EQ(rfc3339_utc(t), "2026-12-31T23:59:59Z");
  EXPECT_EQ(parse_rfc3339("2026-12-31T23:59:59Z"), t);
  EXPECT_EQ(parse_rfc3339("2026-12-31t23:59:59z"), t);
  EXPECT_EQ(parse_rfc3339("2027-01-01T01:29:59+01:30"), t);
  EXPECT_EQ(parse_rfc3339("2026-12-31T20:59:59-03:00"), t);
  EXPECT_EQ(parse_rfc3339("2026-12-31T23:59:59.250Z"), t + milliseconds(250));
  EXPECT_EQ(parse_rfc3339("2028-02-29T00:00:00Z"), sys_days(year(2028) / 2 / 29));  // a leap day
}

TEST(TimeUtil, Rfc3339RefusesWhatIsNotOne) {
  for (const char* bad : {"", "2026-12-31", "2026-12-31T23:59:59", "2026-12-31 23:59:59Z", "2026-02-30T00:00:00Z",
                          "2027-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-12-31T24:00:00Z", "2026-12-31T23:60:00Z",
                          "2026-12-31T23:59:59.Z", "2026-12-31T23:59:59+0100", "2026-12-31T23:59:59Zjunk",
                          "20x6-12-31T23:59:59Z", "2026-12-31T23:59:59+24:00", "next tuesday",
                          "4052-12-31T23:59:59Z", "9999-12-31T23:59:59.999999999-23:59", "0000-01-01T00:00:00Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace spectra
