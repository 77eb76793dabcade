#pragma once
// YAML <-> JSON for config documents.
//
// Plain (unquoted) YAML scalars are typed by the YAML 1.2 core schema, which
// is what operators expect from a config file:
//   null:  empty, ~, null, Null, NULL
//   bool:  true, True, TRUE, false, False, FALSE   (not yes/no/on/off: YAML 1.1)
//   int:   [-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+   (64-bit; larger is an error)
//   float: [-+]?(.[0-9]+|[0-9]+(.[0-9]*)?)([eE][-+]?[0-9]+)?
// Everything else, and every quoted or block scalar, is a string. .inf and
// .nan are errors because JSON cannot carry them. Explicit core tags (!!str,
// !!int, !!float, !!bool, !!null) are honoured. Aliases are expanded.
#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "common/result.h"

namespace spectra::cli {

namespace bj = boost::json;

struct YamlLimits {
  std::size_t max_depth = 64;
  // Bounds alias expansion ("billion laughs") as well as plain size.
  std::size_t max_nodes = 1'000'000;
};

// Parses exactly one YAML document. Errors are invalid_argument with the
// line and column of the offending node.
Result<bj::value> yaml_to_json(std::string_view text, const YamlLimits& limits = {});

// Types one plain scalar by the rules above.
Result<bj::value> resolve_plain_scalar(std::string_view s);

// Block-style YAML that yaml_to_json() reads back to an equal value: strings
// that would otherwise read as another type are quoted, and so are YAML 1.1
// booleans such as "off" and "yes" so that other YAML tools agree.
std::string json_to_yaml(const bj::value& v);

// Shortest text that reads back to the same double, always with a '.' or an
// exponent so it never reads back as an integer ("2.0", "0.1", "1e+20").
std::string format_double(double d);

}  // namespace spectra::cli
