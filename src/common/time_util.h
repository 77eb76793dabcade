#pragma once
// Wall-clock time as operators read it in records and logs.
#include <chrono>
#include <string>

namespace spectra {

// "2026-11-26T18:48:06Z" (UTC, whole seconds).
std::string rfc3339_utc(std::chrono::system_clock::time_point t = std::chrono::system_clock::now());

}  // namespace spectra
