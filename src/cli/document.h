#pragma once
// The input of `spectra apply` / `spectra diff -f`: a YAML or JSON file that
// is either {section: value, ...} or {"config": {section: value, ...}}.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace spectra::cli {

namespace bj = boost::json;

enum class DocFormat { kAuto, kJson, kYaml };

// .json -> kJson; .yaml/.yml -> kYaml; anything else (and "-") -> kAuto.
DocFormat format_for_path(std::string_view path);

// kAuto reads text that starts with '{' or '[' as JSON when it is valid JSON,
// and everything else as YAML (JSON is nearly a subset of YAML, so a broken
// JSON file gets YAML's line-and-column error).
Result<bj::value> parse_document(std::string_view text, DocFormat format);

struct ApplyDocument {
  bj::object sections;                 // section name -> full new value
  std::optional<std::string> message;  // from a {"config":..,"message":..} wrapper
};

// Accepts {section: value, ...}, or the wrapper {"config": {...}} which may
// also carry "message" (a string) and "revision" (ignored: apply always works
// against the head it reads, see `spectra apply --help`). This makes the
// output of `spectra get -o json` appliable as is.
Result<ApplyDocument> to_apply_document(bj::value doc);

}  // namespace spectra::cli
