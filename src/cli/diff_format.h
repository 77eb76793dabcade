#pragma once
// Human rendering of the config API's diff entries
// ({"op": "add"|"remove"|"replace", "path": "/json/pointer", "from": .., "to": ..}).
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <string>

namespace spectra::cli {

namespace bj = boost::json;

// One line of JSON for a value: strings quoted and escaped, doubles in their
// shortest form ("0.1", not "1E-1"), ", " and ": " between items.
std::string compact_value(const bj::value& v);

// One line per entry, each ending in '\n':
//   replace  "~ /network/snat/enabled: false -> true"
//   add      "+ /network/dns/servers/2: \"10.0.0.2\""
//   remove   "- /network/dns/servers/2"
// An entry of an unknown shape is shown as "? <entry json>" rather than dropped.
std::string format_diff(const bj::array& diff);

}  // namespace spectra::cli
