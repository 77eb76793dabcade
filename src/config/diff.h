#pragma once
// Structural diff of two JSON values: a list of {op, path, from, to}.
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

namespace spectra::config {

// ops: "add" (to), "remove" (from), "replace" (from, to). Arrays compare by
// index; a changed tail shows as adds or removes.
boost::json::array diff(const boost::json::value& from, const boost::json::value& to,
                        const std::string& path = "");

}  // namespace spectra::config
