#pragma once
// Wall-clock time as operators read it in records and logs.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace spectra {

// "2026-11-26T18:48:06Z" (UTC, whole seconds).
std::string rfc3339_utc(std::chrono::system_clock::time_point t = std::chrono::system_clock::now());

// An RFC 3339 date-time: "2026-12-31T23:59:59Z", with optional fractional
// seconds and a "Z" or "+hh:mm"/"-hh:mm" offset. nullopt for anything else
// (including impossible dates such as February 30, and times the system
// clock cannot hold: after 2262 or before 1677).
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s);

}  // namespace spectra
