#pragma once
// Helpers shared by the net unit tests: a network section normalised by the
// real config schema, exactly as spectrad hands it over.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>

#include "config/model_schema.h"
#include "net/network_config.h"

namespace spectra::net::testing {

inline boost::json::object normalized_network(const std::string& json) {
  boost::json::value v = boost::json::parse(json);
  config::Errors errors;
  config::validate_and_normalize(config::section_schema("network"), v, "/network", errors);
  for (const auto& e : errors) ADD_FAILURE() << "schema: " << e.path << " " << e.reason;
  return v.get_object();
}

inline NetworkConfig parsed_network(const std::string& json) {
  auto c = parse_network_config(normalized_network(json));
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  return c.ok() ? *c : NetworkConfig{};
}

}  // namespace spectra::net::testing
