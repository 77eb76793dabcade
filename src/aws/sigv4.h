#pragma once
// AWS Signature Version 4 (header signing and presigned URLs), as specified in
// "Create a signed AWS API request" and checked against the aws-c-auth suite in
// shared/testdata/aws-sigv4. Pure: no clock, no I/O; the caller passes the time.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/crypto.h"
#include "common/result.h"

namespace spectra::aws::sigv4 {

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

struct Header {
  std::string name;
  std::string value;
  bool operator==(const Header&) const = default;
};

// The request as it will go on the wire.
struct SigningRequest {
  std::string method;               // "GET", "POST", ...
  std::string path;                 // percent-encoded once, as in the request line
  std::string query;                // raw query string without '?', may be empty
  std::vector<Header> headers;      // in order; must include Host
  std::string_view body;            // not owned; ignored when payload_hash is set
};

// Credentials. The secret and the session token must never be logged: this is a
// plain std::string because src/common has no Secret type yet (TODO: switch to
// it when it lands), so nothing in this module formats a Credentials value.
struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty when the credentials are long-lived
};

struct SigningParams {
  std::string region;   // "us-east-1"
  std::string service;  // "bedrock" (the signing name, not the host prefix)
  std::chrono::system_clock::time_point time;
  // S3 wants both false; every other service wants both true.
  bool normalize_path = true;
  bool double_encode_path = true;
  // Also send (and sign) x-amz-content-sha256 with the payload hash.
  bool add_content_sha256_header = false;
  // When false the session token is attached after signing and is not part of
  // the signature (a few services, e.g. IoT, want this).
  bool sign_session_token = true;
  // Overrides sha256_hex(body), e.g. with kUnsignedPayload.
  std::optional<std::string> payload_hash;
};

struct SigningResult {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;x-amz-date"
  std::string signature;       // lower-case hex
  std::string authorization;   // the Authorization header value
  // Headers the caller sets on the request, replacing any of the same name:
  // X-Amz-Date, X-Amz-Security-Token (with a token), x-amz-content-sha256 (if
  // asked for), Authorization.
  std::vector<Header> headers;
};

// Signs with the Authorization header. Request headers named Authorization,
// X-Amz-Date or X-Amz-Security-Token (and x-amz-content-sha256 when the signer
// adds it) are replaced, not signed. Hop-by-hop headers and ones proxies rewrite
// (Connection, Expect, Keep-Alive, Proxy-*, TE, Transfer-Encoding, Upgrade,
// User-Agent, X-Amzn-Trace-Id) are left unsigned. Fails with invalid_argument
// for missing credentials, region, service, method or Host header.
Result<SigningResult> sign(const SigningRequest& request, const Credentials& credentials,
                           const SigningParams& params);

struct PresignResult {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;
  std::string signature;
  // The full query string to send: the request's own parameters plus the
  // X-Amz-* ones, canonically encoded and sorted, then X-Amz-Signature.
  std::string query;
};

// Signs with query parameters (a presigned URL) valid for `expires` (1 s to 7 days).
Result<PresignResult> presign(const SigningRequest& request, const Credentials& credentials,
                              const SigningParams& params, std::chrono::seconds expires);

// "20150830T123600Z" (X-Amz-Date) and "20150830" (the credential scope date), in UTC.
std::string amz_date(std::chrono::system_clock::time_point t);
std::string scope_date(std::chrono::system_clock::time_point t);

// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
crypto::Sha256Digest derive_signing_key(std::string_view secret_access_key,
                                        std::string_view date, std::string_view region,
                                        std::string_view service);

}  // namespace spectra::aws::sigv4
