#include "common/time_util.h"

#include <cstdio>
#include <ctime>

namespace spectra {

std::string rfc3339_utc(std::chrono::system_clock::time_point tp) {
  std::time_t t = std::chrono::system_clock::to_time_t(tp);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s) {
  using namespace std::chrono;
  auto digits = [&](std::size_t at, std::size_t n, int* out) {
    if (at + n > s.size()) return false;
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(0, 4, &y) || s.size() < 20 || s[4] != '-' || !digits(5, 2, &mo) || s[7] != '-' || !digits(8, 2, &d) ||
      (s[10] != 'T' && s[10] != 't') || !digits(11, 2, &h) || s[13] != ':' || !digits(14, 2, &mi) || s[16] != ':' ||
      !digits(17, 2, &sec)) {
    return std::nullopt;
  }
  const year_month_day ymd{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  std::size_t at = 19;
  nanoseconds frac{0};
  if (at < s.size() && s[at] == '.') {
    std::size_t n = 0;
    long long scale = 100'000'000, ns = 0;
    for (++at; at < s.size() && s[at] >= '0' && s[at] <= '9'; ++at, ++n) {
      ns += (s[at] - '0') * scale;
      scale /= 10;
    }
    if (n == 0) return std::nullopt;
    frac = nanoseconds(ns);
  }
  minutes offset{0};
  if (at + 1 == s.size() && (s[at] == 'Z' || s[at] == 'z')) {
    // UTC
  } else if (at + 6 == s.size() && (s[at] == '+' || s[at] == '-') && s[at + 3] == ':') {
    int oh = 0, om = 0;
    if (!digits(at + 1, 2, &oh) || !digits(at + 4, 2, &om) || oh > 23 || om > 59) return std::nullopt;
    offset = hours(oh) + minutes(om);
    if (s[at] == '-') offset = -offset;
  } else {
    return std::nullopt;
  }
  // In whole seconds first: the clock's own ticks (nanoseconds) end in 2262.
  const sys_seconds whole = sys_days(ymd) + hours(h) + minutes(mi) + seconds(sec) - offset;
  if (whole < floor<seconds>(system_clock::time_point::min()) + seconds(1) ||
      whole > floor<seconds>(system_clock::time_point::max()) - seconds(1)) {
    return std::nullopt;
  }
  return time_point_cast<system_clock::duration>(whole) + duration_cast<system_clock::duration>(frac);
}

}  // namespace spectra
