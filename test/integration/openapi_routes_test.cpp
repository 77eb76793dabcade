// The OpenAPI document and the server's routes must describe each other
// exactly: every route the router has is in the document with its method,
// and every documented operation is served.
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "api/config_api.h"

namespace spectra::api {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

TEST(OpenApi, DocumentMatchesTheRouter) {
  http::Router router;
  ApiContext ctx;  // registration only stores handlers
  register_routes(router, ctx);
  auto doc = openapi_document("test");
  const auto& paths = doc.at("paths").as_object();
  std::set<std::string> served, documented;
  for (const auto& r : router.routes()) served.insert(lower(http::bhttp::to_string(r.method)) + " " + r.pattern);
  for (const auto& p : paths) {
    for (const auto& op : p.value().as_object()) documented.insert(std::string(op.key()) + " " + std::string(p.key()));
  }
  EXPECT_EQ(served, documented);
  EXPECT_GE(served.size(), 16u);
  // Every operation declares responses, and every $ref resolves.
  const auto& schemas = doc.at("components").at("schemas").as_object();
  std::string text = boost::json::serialize(doc);
  for (std::size_t at = text.find("#/components/schemas/"); at != std::string::npos;
       at = text.find("#/components/schemas/", at + 1)) {
    std::size_t start = at + 21, end = text.find('"', start);
    EXPECT_TRUE(schemas.contains(text.substr(start, end - start))) << text.substr(start, end - start);
  }
  for (const auto& p : paths) {
    for (const auto& op : p.value().as_object()) {
      EXPECT_FALSE(op.value().at("responses").as_object().empty()) << p.key();
    }
  }
}

}  // namespace
}  // namespace spectra::api
