#pragma once
// spectra-net: the lab and benchmark tool for the network data plane.
#include <boost/json/object.hpp>
#include <string>
#include <vector>

#include "common/result.h"

namespace spectra::net::tool {

using Args = std::vector<std::string>;

// Reads a JSON file holding either a whole config ({"network": {...}, …}) or
// just the network section, validates it with the config schema and returns
// the normalised network section.
Result<boost::json::object> load_network_section(const std::string& path);
Result<boost::json::object> normalize_network(boost::json::value v);

int cmd_serve(const Args& a);        // serve ADDR PORT ID
int cmd_connect(const Args& a);      // connect ADDR PORT
int cmd_connrate(const Args& a);     // connrate ADDR PORT SECONDS PARALLEL
int cmd_bench_apply(const Args& a);  // bench-apply FORWARDS RULES

}  // namespace spectra::net::tool
