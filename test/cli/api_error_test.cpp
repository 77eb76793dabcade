#include <gtest/gtest.h>

#include <sstream>

#include "cli/api.h"
#include "fake_api.h"

namespace spectra::cli {
namespace {

using testing::error_answer;
using testing::FakeApi;
using testing::json_answer;

std::string printed(const ApiError& e) {
  std::ostringstream s;
  print_error(s, e);
  return s.str();
}

SessionOptions with_token(TokenSource source, std::string file = "") {
  SessionOptions o;
  o.url = "http://127.0.0.1:8080";
  o.token = "secret-token-value";
  o.token_source = source;
  o.token_file = std::move(file);
  return o;
}

TEST(ErrorFromResponse, ValidationErrorsListEachPath) {
  auto r = error_answer(
      422, "invalid_config", "2 problems in the config; nothing was changed",
      R"("errors":[{"path":"/network/snat/to_address","reason":"not an IPv4 address"},)"
      R"({"path":"/dns/servers/0","reason":"required"}])");
  ApiError e = error_from_response(r, with_token(TokenSource::kFlag), 7);
  EXPECT_EQ(e.exit_code, kExitRefused);
  EXPECT_EQ(printed(e),
            "error: 2 problems in the config; nothing was changed\n"
            "  /network/snat/to_address: not an IPv4 address\n"
            "  /dns/servers/0: required\n");
}

TEST(ErrorFromResponse, StaleBaseNamesBothRevisions) {
  auto r = error_answer(409, "conflict", "revision 8 exists", R"("current_revision":9)");
  ApiError e = error_from_response(r, with_token(TokenSource::kFlag), 7);
  EXPECT_EQ(e.exit_code, kExitRefused);
  EXPECT_EQ(printed(e),
            "error: the config changed since revision 7 (now at 9); re-run to apply on "
            "top of the new revision\n");
  ApiError no_head = error_from_response(error_answer(409, "conflict", "x"), {}, 7);
  EXPECT_NE(no_head.message.find("(now at a newer revision)"), std::string::npos);
  // A 409 on a request without If-Match is not about revisions.
  ApiError other = error_from_response(error_answer(409, "already_exists", "token name taken"), {},
                                       std::nullopt);
  EXPECT_EQ(printed(other), "error: token name taken\n");
}

TEST(ErrorFromResponse, UnauthenticatedSaysHowToPassAToken) {
  auto r = error_answer(401, "unauthenticated", "missing bearer token");
  ApiError none = error_from_response(r, SessionOptions{}, std::nullopt);
  EXPECT_EQ(none.exit_code, kExitAuth);
  std::string text = printed(none);
  EXPECT_NE(text.find("no token was given"), std::string::npos) << text;
  EXPECT_NE(text.find("HTTP 401: missing bearer token"), std::string::npos) << text;
  EXPECT_NE(text.find("--token TOKEN, --token-file FILE or the SPECTRA_TOKEN"), std::string::npos);

  std::string from_file = printed(
      error_from_response(r, with_token(TokenSource::kDefaultFile, "./state/admin.token"), {}));
  EXPECT_NE(from_file.find("rejected the token in ./state/admin.token (default token file)"),
            std::string::npos)
      << from_file;
  EXPECT_NE(
      printed(error_from_response(r, with_token(TokenSource::kEnv), {})).find("SPECTRA_TOKEN"),
      std::string::npos);
}

TEST(ErrorFromResponse, ForbiddenSaysAdminRoleIsNeeded) {
  auto r = error_answer(403, "permission_denied", "token 'ci' has role viewer; this needs admin");
  ApiError e = error_from_response(r, with_token(TokenSource::kFlag), 3);
  EXPECT_EQ(e.exit_code, kExitAuth);
  EXPECT_EQ(printed(e),
            "error: permission denied: the token given with --token lacks the admin role this "
            "command needs (HTTP 403: token 'ci' has role viewer; this needs admin)\n"
            "  use an admin token: --token TOKEN, --token-file FILE or SPECTRA_TOKEN\n");
}

TEST(ErrorFromResponse, NonJsonBodiesFallBackToStatusAndFirstLine) {
  http::ClientResponse r;
  r.status = 502;
  r.body = "Bad gateway\r\n<html>...</html>";
  ApiError e = error_from_response(r, {}, std::nullopt);
  EXPECT_EQ(e.exit_code, kExitRefused);
  EXPECT_EQ(printed(e), "error: HTTP 502: Bad gateway\n");
  r.body = R"({"detail": "not our shape"})";
  EXPECT_EQ(printed(error_from_response(r, {}, std::nullopt)),
            "error: HTTP 502: {\"detail\": \"not our shape\"}\n");
}

TEST(ErrorFromTransport, PointsAtTheDaemon) {
  ApiError e = error_from_transport(
      unavailable("cannot connect to 127.0.0.1:8080: Connection refused"), "http://127.0.0.1:8080");
  EXPECT_EQ(e.exit_code, kExitUnreachable);
  EXPECT_EQ(printed(e),
            "error: cannot reach the config API at http://127.0.0.1:8080: cannot connect "
            "to 127.0.0.1:8080: Connection refused; is spectrad running? (make run)\n");
}

TEST(ApiSession, SendsTokenIfMatchAndJsonBody) {
  FakeApi api;
  auto env = api.env();
  auto transport = env.make_transport("http://127.0.0.1:8080");
  ASSERT_TRUE(transport.ok());
  api.on(http::Verb::put, "/api/v1/config", json_answer(200, R"({"revision":8,"diff":[]})"));
  ApiSession s(**transport, with_token(TokenSource::kFlag));
  bj::value body = bj::object{{"config", bj::object{{"a", 1}}}};
  CallOutcome out = s.call(http::Verb::put, "/api/v1/config", &body, 7);
  ASSERT_TRUE(std::holds_alternative<ApiReply>(out));
  EXPECT_EQ(std::get<ApiReply>(out).body.at("revision").to_number<int>(), 8);
  ASSERT_EQ(api.requests().size(), 1u);
  const auto& req = api.requests()[0];
  EXPECT_EQ(req.header("Authorization"), "Bearer secret-token-value");
  EXPECT_EQ(req.header("If-Match"), "\"7\"");
  EXPECT_EQ(req.header("Accept"), "application/json");
  EXPECT_EQ(req.body, R"({"config":{"a":1}})");
}

TEST(ApiSession, NoTokenNoAuthorizationHeaderAndEmptyBodies) {
  FakeApi api;
  auto transport = api.env().make_transport("http://127.0.0.1:8080");
  ASSERT_TRUE(transport.ok());
  http::ClientResponse no_content;
  no_content.status = 204;
  api.on(http::Verb::delete_, "/api/v1/tokens/t1", no_content);
  ApiSession s(**transport, SessionOptions{});
  CallOutcome out = s.call(http::Verb::delete_, "/api/v1/tokens/t1");
  ASSERT_TRUE(std::holds_alternative<ApiReply>(out));
  EXPECT_TRUE(std::get<ApiReply>(out).body.is_null());
  EXPECT_FALSE(api.requests()[0].header("Authorization").has_value());
  EXPECT_FALSE(api.requests()[0].header("If-Match").has_value());
  EXPECT_EQ(api.requests()[0].body, "");
}

TEST(ApiSession, GarbageInASuccessIsAnError) {
  FakeApi api;
  auto transport = api.env().make_transport("http://127.0.0.1:8080");
  ASSERT_TRUE(transport.ok());
  api.on(http::Verb::get, "/api/v1/status", json_answer(200, "{not json"));
  ApiSession s(**transport, SessionOptions{});
  CallOutcome out = s.call(http::Verb::get, "/api/v1/status");
  ASSERT_TRUE(std::holds_alternative<ApiError>(out));
  EXPECT_EQ(std::get<ApiError>(out).exit_code, kExitRefused);
  EXPECT_NE(std::get<ApiError>(out).message.find("unexpected answer from the config API (HTTP 200"),
            std::string::npos);
}

TEST(Helpers, EncodeSegmentAndNumbers) {
  EXPECT_EQ(encode_segment("network"), "network");
  EXPECT_EQ(encode_segment("a/b c%"), "a%2Fb%20c%25");
  EXPECT_EQ(encode_segment("ü"), "%C3%BC");
  bj::value big(static_cast<std::uint64_t>(1) << 63);
  EXPECT_FALSE(as_int(&big).has_value());
  bj::value small(static_cast<std::uint64_t>(12));
  EXPECT_EQ(as_int(&small), 12);
  EXPECT_FALSE(as_int(nullptr).has_value());
  bj::value s("x");
  EXPECT_EQ(as_text(&s), "x");
  EXPECT_EQ(as_text(nullptr, "?"), "?");
}

}  // namespace
}  // namespace spectra::cli
