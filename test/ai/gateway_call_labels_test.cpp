// The client's labels on the audit record, through the gateway: the end
// user each API's body names (chat's user, the Responses API's
// safety_identifier, Anthropic's metadata.user_id) and the
// x-spectra-metadata header; a malformed header is refused before anything
// is sent upstream.
#include <boost/json/serialize.hpp>

#include <set>

using namespace std::chrono_literals;

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

// A key's per-end-user limits: one user of an application at its limit is
// refused (429 naming the user, Retry-After) while the key's other users,
// and the application's own calls naming none, go on.
TEST_F(CallLabelsTest, OneEndUserAtItsLimitDoesNotStopTheKeysOthers) {
  extra_keys_ = R"({"name": "web-app", "key": "sk-web", "rpm": 100, "end_user_rpm": 2, "end_user_tpm": 1000}, )";
  gw_->configure(config());
  int n = 0;  // (each asks something new: no cache hits)
  auto ask = [&](const std::string& user) {
    bj::object body{{"model", "llama"},
                    {"messages", bj::array{bj::object{{"role", "user"}, {"content", "question " + std::to_string(++n)}}}}};
    if (!user.empty()) body["user"] = user;
    return post_openai("/v1/chat/completions", bj::serialize(body), "sk-web");
  };
  EXPECT_EQ(ask("mallory").status, 200u);
  EXPECT_EQ(ask("mallory").status, 200u);
  auto refused = ask("mallory");
  EXPECT_EQ(refused.status, 429u) << refused.body;
  EXPECT_NE(refused.body.find("rpm 2 for end user 'mallory' of key 'web-app'"), std::string::npos) << refused.body;
  EXPECT_EQ(bj::parse(refused.body).at("error").at("code"), "end_user_rpm_exceeded");
  EXPECT_EQ(refused.header("retry-after"), "30");
  const auto asked = local_.request_count();
  EXPECT_EQ(asked, 2u) << "the refused one went nowhere";
  EXPECT_EQ(ask("alice").status, 200u);
  EXPECT_EQ(ask("").status, 200u) << "the application's own call";
  EXPECT_EQ(ask("").status, 200u);
  EXPECT_EQ(ask("").status, 200u);
  // Through the Messages API the end user is metadata.user_id: the same person.
  auto as_anthropic = post("/v1/messages",
                           R"({"model":"llama","max_tokens":16,"metadata":{"user_id":"mallory"},"messages":[{"role":"user","content":"hi"}]})",
                           "sk-web");
  EXPECT_EQ(as_anthropic.status, 429u) << as_anthropic.body;
  EXPECT_EQ(bj::parse(as_anthropic.body).at("error").at("type"), "rate_limit_error");
  clock_.advance(30s);
  EXPECT_EQ(ask("mallory").status, 200u) << "half a minute refills one";
}

// The tokens an end user's answers report count against its tpm.
TEST_F(CallLabelsTest, AnEndUsersTokensCountAgainstItsOwnTokenLimit) {
  extra_keys_ = R"({"name": "web-app", "key": "sk-web", "end_user_tpm": 10}, )";
  gw_->configure(config());
  const std::string body = R"({"model":"llama","user":"bob","messages":[{"role":"user","content":"one two three four five six"}]})";
  ASSERT_EQ(post_openai("/v1/chat/completions", body, "sk-web").status, 200u);  // 6 + 8 tokens: 4 over
  auto refused = post_openai("/v1/chat/completions", body, "sk-web");
  EXPECT_EQ(refused.status, 429u) << refused.body;
  EXPECT_EQ(bj::parse(refused.body).at("error").at("code"), "end_user_tpm_exceeded") << refused.body;
  EXPECT_EQ(post_openai("/v1/chat/completions", R"({"model":"llama","user":"carol","messages":[{"role":"user","content":"hi"}]})",
                        "sk-web").status, 200u);
}

}  // namespace
}  // namespace spectra::ai
