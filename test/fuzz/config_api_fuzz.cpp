// Feeds arbitrary bytes through what the config API does with a request
// before any state changes: HTTP/1.1 parsing with the server's limits, the
// body and header parsers, then validation, secret restoration and diff
// against the schema. Invariants: no crash, no sanitizer report, and a
// value that validated once validates again unchanged (normalisation is
// idempotent).
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/serialize.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/request_parse.h"
#include "config/diff.h"
#include "config/model_schema.h"
#include "config/secrets.h"

namespace {

namespace bj = boost::json;
namespace http = boost::beast::http;
using namespace spectra;

void check_config(const bj::object& sections) {
  static const bj::object defaults = config::default_config();
  bj::object next = defaults;
  config::Errors errs;
  for (const auto& kv : sections) {
    if (!config::is_section(kv.key())) continue;
    bj::value incoming = kv.value();
    config::restore_masked(config::section_schema(kv.key()), incoming, defaults.at(kv.key()),
                           "/" + std::string(kv.key()), errs);
    next[kv.key()] = std::move(incoming);
  }
  bj::value whole = next;
  config::validate_and_normalize(config::config_schema(), whole, "", errs);
  for (const auto& e : errs) {
    if (e.path.empty() || e.path[0] != '/' || e.reason.empty()) std::abort();
  }
  if (!errs.empty()) return;
  // Idempotent: a normalised config validates cleanly and stays the same.
  bj::value again = whole;
  config::Errors errs2;
  config::validate_and_normalize(config::config_schema(), again, "", errs2);
  if (!errs2.empty() || again != whole) std::abort();
  (void)config::diff(bj::value(defaults), whole);
  config::mask_secrets(config::config_schema(), whole);
}

void check_body(std::string_view body, std::string_view content_type) {
  auto obj = api::parse_body_object(body, content_type, {"config", "value", "message"}, false);
  if (!obj.ok()) return;
  (void)api::message_of(*obj);
  if (const auto* c = obj->if_contains("config"); c && c->is_object()) check_config(c->get_object());
  if (const auto* v = obj->if_contains("value"); v) {
    for (const auto& s : config::section_names()) check_config(bj::object{{s, *v}});
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // 1. As a whole HTTP request, with the server's limits.
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(api::kMaxBody);
  parser.eager(true);
  boost::system::error_code ec;
  std::size_t used = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
  (void)used;
  if (!ec && parser.is_done()) {
    auto& req = parser.get();
    std::uint64_t rev = 0;
    (void)api::parse_if_match(req[http::field::if_match], &rev);
    check_body(req.body(), req[http::field::content_type]);
  }
  // 2. As a body on its own (most mutations land here).
  check_body(input, "application/json");
  std::uint64_t rev = 0;
  (void)api::parse_if_match(input.substr(0, 32), &rev);
  return 0;
}
