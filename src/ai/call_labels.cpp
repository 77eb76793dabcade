#include "ai/call_labels.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace spectra::ai {

namespace bj = boost::json;

namespace {

// `s` cut to at most `max` bytes, not inside a UTF-8 sequence.
std::string cut(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // s[n] starts the first character left out
  return std::string(s.substr(0, n));
}

const bj::string* nonempty_string(const bj::object& o, const char* key) {
  const bj::value* v = o.if_contains(key);
  return v && v->is_string() && !v->get_string().empty() ? &v->get_string() : nullptr;
}

}  // namespace

std::string end_user_of(const bj::object& body) {
  const bj::string* user = nonempty_string(body, "safety_identifier");
  if (!user) user = nonempty_string(body, "user");
  if (const bj::value* m = body.if_contains("metadata"); !user && m && m->is_object()) {
    user = nonempty_string(m->get_object(), "user_id");
  }
  return user ? cut(*user, kMaxEndUserBytes) : std::string();
}

Result<std::string> metadata_of_header(std::string_view header) {
  if (header.empty()) return std::string();
  constexpr const char* kShape = "x-spectra-metadata must be a JSON object of at most 16 string values (keys of 1 to 64 bytes, values up to 256)";
  boost::system::error_code ec;
  bj::value v = bj::parse(header, ec);
  if (ec || !v.is_object()) return invalid_argument(std::string(kShape) + ": it is not a JSON object");
  const bj::object& o = v.get_object();
  if (o.size() > kMaxMetadataEntries) return invalid_argument(std::string(kShape) + ": it has " + std::to_string(o.size()) + " entries");
  for (const auto& [key, value] : o) {
    if (key.empty() || key.size() > kMaxMetadataKeyBytes) {
      return invalid_argument(std::string(kShape) + ": a key has " + std::to_string(key.size()) + " bytes");
    }
    if (!value.is_string()) return invalid_argument(std::string(kShape) + ": '" + std::string(key) + "' is not a string");
    if (value.get_string().size() > kMaxMetadataValueBytes) {
      return invalid_argument(std::string(kShape) + ": '" + std::string(key) + "' is longer");
    }
  }
  return bj::serialize(o);
}

}  // namespace spectra::ai
