// The client's labels on the audit record, through the gateway: the end
// user each API's body names (chat's user, the Responses API's
// safety_identifier, Anthropic's metadata.user_id) and the
// x-spectra-metadata header; a malformed header is refused before anything
// is sent upstream.
#include <boost/json/serialize.hpp>

#include <set>

#include "dialect_test_fixture.h"

namespace spectra::ai {
namespace {

class CallLabelsTest : public DialectTest {
 protected:
  http::ClientResponse send(const std::string& path, const std::string& body, const std::string& metadata) {
    http::Client c({"127.0.0.1", server_->port(), ""}, 10s);
    std::vector<std::pair<std::string, std::string>> h{{"authorization", "Bearer sk-team-a"},
                                                       {"content-type", "application/json"},
                                                       {"anthropic-version", "2023-06-01"}};
    if (!metadata.empty()) h.emplace_back("x-spectra-metadata", metadata);
    auto r = c.send(http::Verb::post, path, body, h);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : http::ClientResponse{};
  }
};

TEST_F(CallLabelsTest, AuditRecordsCarryTheEndUserAndTheClientsMetadata) {
  const std::string app = R"({"app":"support-bot","cost_centre":"cc-104"})";
  ASSERT_EQ(send("/v1/chat/completions",
                 R"({"model":"llama","user":"customer-17","messages":[{"role":"user","content":"hi"}]})", app).status, 200u);
  ASSERT_EQ(send("/v1/responses", R"({"model":"sonnet","safety_identifier":"hashed-9","input":"hi"})", "").status, 200u);
  ASSERT_EQ(send("/v1/messages",
                 R"({"model":"sonnet","max_tokens":16,"metadata":{"user_id":"session-3"},"messages":[{"role":"user","content":"hi"}]})",
                 R"({"app":"claude-code"})").status, 200u);
  ASSERT_EQ(send("/v1/embeddings", R"({"model":"local/bge-small","input":"hi"})", "").status, 200u);
  // (Records are written as calls end: matched by model, not taken in order.)
  std::multiset<std::string> seen;  // "<requested model> <end_user|-> <metadata|->"
  for (const auto& r : audit_records(4)) {
    seen.insert(std::string(r.at("requested_model").as_string()) + " " +
                (r.contains("end_user") ? std::string(r.at("end_user").as_string()) : "-") + " " +
                (r.contains("metadata") ? bj::serialize(r.at("metadata")) : "-"));
  }
  EXPECT_EQ(seen, (std::multiset<std::string>{"llama customer-17 " + app, "sonnet hashed-9 -",
                                              R"(sonnet session-3 {"app":"claude-code"})", "local/bge-small - -"}));

  // A malformed header: 400 naming it, nothing upstream.
  const auto before = local_.request_count();
  auto refused = send("/v1/chat/completions", R"({"model":"llama","messages":[{"role":"user","content":"hi"}]})",
                      R"({"app":{"nested":true}})");
  EXPECT_EQ(refused.status, 400u);
  EXPECT_NE(refused.body.find("x-spectra-metadata must be"), std::string::npos) << refused.body;
  EXPECT_EQ(bj::parse(refused.body).at("error").at("param"), "x-spectra-metadata") << refused.body;
  EXPECT_EQ(local_.request_count(), before);
}

}  // namespace
}  // namespace spectra::ai
