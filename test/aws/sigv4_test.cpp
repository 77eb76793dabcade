#include "aws/sigv4.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

namespace spectra::aws::sigv4 {
namespace {

using namespace std::chrono;

const system_clock::time_point kTime =
    sys_days{year{2015} / 8 / 30} + hours{12} + minutes{36};

Credentials example_credentials() {
  return {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
}

SigningParams params_for(std::string service) {
  SigningParams p;
  p.region = "us-east-1";
  p.service = std::move(service);
  p.time = kTime;
  return p;
}

const Header* find(const std::vector<Header>& headers, std::string_view name) {
  auto it = std::find_if(headers.begin(), headers.end(),
                         [&](const Header& h) { return h.name == name; });
  return it == headers.end() ? nullptr : &*it;
}

TEST(SigV4, DerivedSigningKeyMatchesAwsDocumentation) {
  // From "Examples of how to derive a signing key for Signature Version 4".
  EXPECT_EQ(crypto::hex(derive_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215",
                                           "us-east-1", "iam")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
  EXPECT_EQ(crypto::hex(derive_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830",
                                           "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
}

TEST(SigV4, AmzDate) {
  EXPECT_EQ(amz_date(kTime), "20150830T123600Z");
  EXPECT_EQ(scope_date(kTime), "20150830");
  EXPECT_EQ(amz_date(system_clock::time_point{}), "19700101T000000Z");
  // Sub-second parts are truncated, not rounded.
  EXPECT_EQ(amz_date(sys_days{year{2024} / 2 / 29} + hours{23} + minutes{59} + seconds{59} +
                     milliseconds{999}),
            "20240229T235959Z");
}

TEST(SigV4, IamListUsersDocumentationExample) {
  SigningRequest req;
  req.method = "GET";
  req.path = "/";
  req.query = "Action=ListUsers&Version=2010-05-08";
  req.headers = {{"Host", "iam.amazonaws.com"},
                 {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  auto r = sign(req, example_credentials(), params_for("iam"));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->canonical_request,
            "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
            "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
            "host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "content-type;host;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(r->string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  EXPECT_EQ(r->signature, "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
  EXPECT_EQ(r->authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
  ASSERT_EQ(r->headers.size(), 2u);
  EXPECT_EQ(r->headers[0], (Header{"X-Amz-Date", "20150830T123600Z"}));
  EXPECT_EQ(r->headers[1], (Header{"Authorization", r->authorization}));
}

TEST(SigV4, BedrockConverseStreamRequest) {
  const std::string body = R"({"messages":[{"role":"user","content":[{"text":"hi"}]}]})";
  SigningRequest req;
  req.method = "POST";
  req.path = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream";
  req.headers = {{"Host", "bedrock-runtime.us-east-1.amazonaws.com"},
                 {"Content-Type", "application/json"},
                 {"Accept", "application/vnd.amazon.eventstream"},
                 {"User-Agent", "spectra/0.1"}};
  req.body = body;
  Credentials creds = example_credentials();
  creds.session_token = "token/with+specials==";
  SigningParams params = params_for("bedrock");
  params.add_content_sha256_header = true;
  auto r = sign(req, creds, params);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const std::string hash = crypto::sha256_hex(body);
  EXPECT_EQ(r->canonical_request,
            "POST\n/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse-stream\n\n"
            "accept:application/vnd.amazon.eventstream\n"
            "content-type:application/json\n"
            "host:bedrock-runtime.us-east-1.amazonaws.com\n"
            "x-amz-content-sha256:" + hash + "\n"
            "x-amz-date:20150830T123600Z\n"
            "x-amz-security-token:token/with+specials==\n\n"
            "accept;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token\n" +
                hash);
  ASSERT_NE(find(r->headers, "X-Amz-Security-Token"), nullptr);
  EXPECT_EQ(find(r->headers, "X-Amz-Security-Token")->value, "token/with+specials==");
  ASSERT_NE(find(r->headers, "x-amz-content-sha256"), nullptr);
  EXPECT_EQ(find(r->headers, "x-amz-content-sha256")->value, hash);
  EXPECT_NE(r->authorization.find("/us-east-1/bedrock/aws4_request"), std::string::npos);
}

TEST(SigV4, SignerOwnedHeadersAreReplacedNotSigned) {
  SigningRequest req;
  req.method = "GET";
  req.path = "/";
  req.headers = {{"Host", "example.amazonaws.com"},
                 {"Authorization", "Bearer stale"},
                 {"X-Amz-Date", "19990101T000000Z"},
                 {"x-amz-security-token", "stale"},
                 {"Connection", "keep-alive"},
                 {"X-Amzn-Trace-Id", "Root=1-abc"}};
  auto r = sign(req, example_credentials(), params_for("service"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->signed_headers, "host;x-amz-date");
  EXPECT_EQ(r->canonical_request.find("stale"), std::string::npos);
  EXPECT_EQ(r->canonical_request.find("1999"), std::string::npos);
  // No token in the credentials: none is sent either.
  EXPECT_EQ(find(r->headers, "X-Amz-Security-Token"), nullptr);
}

TEST(SigV4, UnsignedSessionTokenIsSentButNotSigned) {
  SigningRequest req;
  req.method = "GET";
  req.path = "/";
  req.headers = {{"Host", "example.amazonaws.com"}};
  Credentials creds = example_credentials();
  creds.session_token = "tok";
  SigningParams params = params_for("service");
  params.sign_session_token = false;
  auto r = sign(req, creds, params);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->signed_headers, "host;x-amz-date");
  ASSERT_NE(find(r->headers, "X-Amz-Security-Token"), nullptr);

  auto p = presign(req, creds, params, seconds{60});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->canonical_request.find("X-Amz-Security-Token"), std::string::npos);
  EXPECT_NE(p->query.find("&X-Amz-Security-Token=tok&X-Amz-Signature="), std::string::npos);
}

TEST(SigV4, PayloadHashOverride) {
  SigningRequest req;
  req.method = "PUT";
  req.path = "/bucket/key";
  req.headers = {{"Host", "s3.amazonaws.com"}};
  req.body = "ignored";
  SigningParams params = params_for("s3");
  params.payload_hash = std::string(kUnsignedPayload);
  params.add_content_sha256_header = true;
  params.normalize_path = false;
  params.double_encode_path = false;
  auto r = sign(req, example_credentials(), params);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->canonical_request.ends_with("\nUNSIGNED-PAYLOAD"));
  EXPECT_NE(r->canonical_request.find("x-amz-content-sha256:UNSIGNED-PAYLOAD\n"),
            std::string::npos);
}

TEST(SigV4, PresignReplacesCallerAuthParams) {
  SigningRequest req;
  req.method = "GET";
  req.path = "/";
  req.query = "X-Amz-Signature=old&X-Amz-Date=old&keep=1";
  req.headers = {{"Host", "example.amazonaws.com"}};
  auto p = presign(req, example_credentials(), params_for("service"), seconds{300});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->query.find("old"), std::string::npos);
  EXPECT_NE(p->query.find("keep=1"), std::string::npos);
  EXPECT_NE(p->query.find("X-Amz-Expires=300"), std::string::npos);
  EXPECT_TRUE(p->query.ends_with("&X-Amz-Signature=" + p->signature));
}

TEST(SigV4, SignatureDependsOnEveryInput) {
  SigningRequest req;
  req.method = "GET";
  req.path = "/";
  req.headers = {{"Host", "example.amazonaws.com"}};
  const std::string base = sign(req, example_credentials(), params_for("service"))->signature;

  Credentials other = example_credentials();
  other.secret_access_key.back() = 'X';
  EXPECT_NE(sign(req, other, params_for("service"))->signature, base);
  SigningParams later = params_for("service");
  later.time += seconds{1};
  EXPECT_NE(sign(req, example_credentials(), later)->signature, base);
  EXPECT_NE(sign(req, example_credentials(), params_for("other"))->signature, base);
  SigningRequest post = req;
  post.method = "POST";
  EXPECT_NE(sign(post, example_credentials(), params_for("service"))->signature, base);
  EXPECT_EQ(sign(req, example_credentials(), params_for("service"))->signature, base);
}

TEST(SigV4, RejectsBadInput) {
  SigningRequest req;
  req.method = "GET";
  req.path = "/";
  req.headers = {{"Host", "example.amazonaws.com"}};
  const SigningParams params = params_for("service");

  SigningRequest no_host = req;
  no_host.headers.clear();
  EXPECT_EQ(sign(no_host, example_credentials(), params).status().code(), Code::kInvalidArgument);
  SigningRequest no_method = req;
  no_method.method.clear();
  EXPECT_FALSE(sign(no_method, example_credentials(), params).ok());
  EXPECT_FALSE(sign(req, Credentials{"AKID", "", ""}, params).ok());
  EXPECT_FALSE(sign(req, Credentials{"", "secret", ""}, params).ok());
  SigningParams bad_region = params;
  bad_region.region = "us-east-1/x";
  EXPECT_FALSE(sign(req, example_credentials(), bad_region).ok());
  SigningParams no_service = params;
  no_service.service.clear();
  EXPECT_FALSE(sign(req, example_credentials(), no_service).ok());

  EXPECT_FALSE(presign(req, example_credentials(), params, seconds{0}).ok());
  EXPECT_FALSE(presign(req, example_credentials(), params, seconds{604801}).ok());
  EXPECT_TRUE(presign(req, example_credentials(), params, seconds{604800}).ok());
}

TEST(SigV4, ErrorsNeverEchoTheSecret) {
  SigningRequest req;
  req.method = "GET";
  Credentials creds = example_credentials();
  auto r = sign(req, creds, params_for("service"));  // no Host
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find(creds.secret_access_key), std::string::npos);
}

}  // namespace
}  // namespace spectra::aws::sigv4
