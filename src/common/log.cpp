#include "common/log.h"

#include <boost/json/serialize.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace spectra::log {
namespace {

std::mutex g_mu;
Sink g_sink;  // guarded by g_mu; empty means stderr
std::atomic<Level> g_level{Level::kInfo};

std::string now_rfc3339() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - secs).count();
  std::time_t t = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

const char* level_name(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

bool parse_level(std::string_view s, Level* out) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (s == level_name(l)) {
      *out = l;
      return true;
    }
  }
  return false;
}

void set_sink(Sink sink) {
  std::lock_guard lock(g_mu);
  g_sink = std::move(sink);
}

void set_level(Level level) { g_level.store(level); }
Level level() { return g_level.load(); }

void write(Level lvl, std::string_view msg, boost::json::object fields) {
  if (lvl < g_level.load(std::memory_order_relaxed)) return;
  boost::json::object line;
  line.reserve(fields.size() + 3);
  line["ts"] = now_rfc3339();
  line["level"] = level_name(lvl);
  line["msg"] = msg;
  for (auto& kv : fields) line[kv.key()] = std::move(kv.value());
  std::string text = boost::json::serialize(line);
  text.push_back('\n');
  std::lock_guard lock(g_mu);
  if (g_sink) {
    g_sink(text);
  } else {
    std::fwrite(text.data(), 1, text.size(), stderr);
  }
}

}  // namespace spectra::log
