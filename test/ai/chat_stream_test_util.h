#pragma once
// Reading a chat completion stream's deltas in tests: each chunk's first
// choice's delta, in order ("data: [DONE]" and usage-only chunks skipped).
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include <string>
#include <vector>

namespace spectra::ai::test {

inline std::vector<boost::json::object> chat_deltas(const std::string& body) {
  std::vector<boost::json::object> out;
  for (std::size_t pos = 0; (pos = body.find("data: {", pos)) != std::string::npos;) {
    const std::size_t end = body.find("\n\n", pos);
    auto v = boost::json::parse(body.substr(pos + 6, end - pos - 6)).as_object();
    pos = end;
    for (const auto& ch : v.at("choices").as_array()) out.push_back(ch.at("delta").as_object());
  }
  return out;
}

// What the deltas' `field` strings add up to.
inline std::string joined_deltas(const std::string& body, const char* field) {
  std::string out;
  for (const auto& d : chat_deltas(body)) {
    if (const auto* v = d.if_contains(field); v && v->is_string()) out += v->as_string();
  }
  return out;
}

// The thinking_blocks the deltas carry, in order.
inline boost::json::array delta_thinking_blocks(const std::string& body) {
  boost::json::array out;
  for (const auto& d : chat_deltas(body)) {
    if (const auto* b = d.if_contains("thinking_blocks")) {
      for (const auto& block : b->as_array()) out.push_back(block);
    }
  }
  return out;
}

}  // namespace spectra::ai::test
