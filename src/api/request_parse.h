#pragma once
// Request parsing for the config API: bodies, messages, numbers, If-Match.
#include <boost/json/object.hpp>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "common/result.h"

namespace spectra::api {

inline constexpr std::size_t kMaxMessage = 512;
inline constexpr std::size_t kMaxBody = 1 << 20;

// A JSON object body with only `allowed` top-level fields (1 MiB, depth 64).
Result<boost::json::object> parse_body_object(std::string_view body, std::string_view content_type,
                                              std::initializer_list<std::string_view> allowed,
                                              bool required);
// The optional "message" of a write: a string of at most 512 characters.
Result<std::string> message_of(const boost::json::object& body);
Result<std::uint64_t> parse_uint(std::string_view s, const char* what);
// "N", W/"N" or N.
bool parse_if_match(std::string_view v, std::uint64_t* out);

}  // namespace spectra::api
