#pragma once
// Structured logging: one JSON object a line. Fields are typed JSON values so
// a log reader never has to parse free text. Secrets never reach here: the
// Secret type has no conversion to a JSON value.
#include <boost/json/object.hpp>

#include <functional>
#include <string_view>

namespace spectra::log {

enum class Level { kDebug = 0, kInfo, kWarn, kError };

const char* level_name(Level l);
bool parse_level(std::string_view s, Level* out);

// The process-wide sink. Defaults to stderr. Tests may install a capture.
using Sink = std::function<void(std::string_view line)>;
void set_sink(Sink sink);
void set_level(Level level);
Level level();

void write(Level level, std::string_view msg, boost::json::object fields = {});

inline void debug(std::string_view m, boost::json::object f = {}) { write(Level::kDebug, m, std::move(f)); }
inline void info(std::string_view m, boost::json::object f = {}) { write(Level::kInfo, m, std::move(f)); }
inline void warn(std::string_view m, boost::json::object f = {}) { write(Level::kWarn, m, std::move(f)); }
inline void error(std::string_view m, boost::json::object f = {}) { write(Level::kError, m, std::move(f)); }

}  // namespace spectra::log
