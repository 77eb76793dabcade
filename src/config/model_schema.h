#pragma once
// The schema of the whole config of record: one object, one field a section.
#include <string>
#include <vector>

#include "config/schema.h"

namespace spectra::config {

// Sections, in display order. Each is one top-level field of the config.
const std::vector<std::string>& section_names();
bool is_section(std::string_view name);

const Node& config_schema();
const Node& section_schema(std::string_view name);  // asserts is_section(name)

// The normalised default config (every section with its defaults).
bj::object default_config();

}  // namespace spectra::config
