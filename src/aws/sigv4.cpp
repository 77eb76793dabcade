#include "aws/sigv4.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <string_view>

#include "aws/sigv4_canonical.h"

namespace spectra::aws::sigv4 {
namespace {

// Headers the signer writes itself; a caller's copy is replaced, never signed.
constexpr std::array<std::string_view, 3> kOwnedHeaders = {"authorization", "x-amz-date",
                                                            "x-amz-security-token"};

// Hop-by-hop headers and ones that proxies add or rewrite (as aws-c-auth does):
// signing them would make a valid request fail verification after one hop.
constexpr std::array<std::string_view, 11> kUnsignedHeaders = {
    "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "proxy-connection", "te", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id"};

// Query parameters a presigned URL carries; a caller's copy is replaced.
constexpr std::array<std::string_view, 7> kOwnedParams = {
    "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
    "X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature"};

constexpr auto kMaxPresignExpiry = std::chrono::seconds(7 * 24 * 3600);

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

std::string_view as_view(const crypto::Sha256Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

Status validate(const SigningRequest& request, const Credentials& credentials,
                const SigningParams& params) {
  if (request.method.empty()) return invalid_argument("sigv4: request method is empty");
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return invalid_argument("sigv4: credentials lack an access key id or secret access key");
  }
  for (std::string_view part :
       {std::string_view(params.region), std::string_view(params.service)}) {
    // Each becomes one '/'-separated element of the credential scope.
    if (part.empty() || part.find_first_of("/ \t\r\n") != std::string_view::npos) {
      return invalid_argument("sigv4: region and service must be non-empty tokens");
    }
  }
  return {};
}

// Everything both signing styles share, computed once.
struct Context {
  CanonicalHeaders headers;
  std::string payload_hash;
  std::string date;   // 20150830T123600Z
  std::string scope;  // 20150830/us-east-1/service/aws4_request
  std::string uri;    // CanonicalURI
};

Result<Context> prepare(const SigningRequest& request, const Credentials& credentials,
                        const SigningParams& params, bool signer_owns_content_sha256) {
  if (Status s = validate(request, credentials, params); !s.ok()) return s;
  Context ctx;
  for (const Header& h : request.headers) {
    const std::string name = lower_ascii(h.name);
    if (contains(kOwnedHeaders, name) || contains(kUnsignedHeaders, name)) continue;
    if (signer_owns_content_sha256 && name == "x-amz-content-sha256") continue;
    ctx.headers.add(name, h.value);
  }
  if (!ctx.headers.contains("host")) return invalid_argument("sigv4: request has no Host header");
  ctx.payload_hash = params.payload_hash ? *params.payload_hash : crypto::sha256_hex(request.body);
  ctx.date = amz_date(params.time);
  ctx.scope =
      scope_date(params.time) + "/" + params.region + "/" + params.service + "/aws4_request";
  ctx.uri = canonical_uri(request.path, params.normalize_path, params.double_encode_path);
  return ctx;
}

std::string canonical_request(const SigningRequest& request, const Context& ctx,
                              std::string_view query) {
  std::string out;
  out.append(request.method).push_back('\n');
  out.append(ctx.uri).push_back('\n');
  out.append(query).push_back('\n');
  out.append(ctx.headers.block()).push_back('\n');
  out.append(ctx.headers.signed_headers()).push_back('\n');
  out.append(ctx.payload_hash);
  return out;
}

std::string string_to_sign(const Context& ctx, std::string_view canonical) {
  std::string out(kAlgorithm);
  out.append("\n").append(ctx.date).append("\n").append(ctx.scope).append("\n");
  out.append(crypto::sha256_hex(canonical));
  return out;
}

std::string signature(const Credentials& credentials, const SigningParams& params,
                      std::string_view sts) {
  crypto::Sha256Digest key = derive_signing_key(credentials.secret_access_key,
                                                scope_date(params.time), params.region,
                                                params.service);
  std::string sig = crypto::hex(crypto::hmac_sha256(as_view(key), sts));
  OPENSSL_cleanse(key.data(), key.size());
  return sig;
}

}  // namespace

std::string amz_date(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);
  const auto day = floor<days>(secs);
  const year_month_day ymd{day};
  const hh_mm_ss hms{secs - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::string scope_date(std::chrono::system_clock::time_point t) { return amz_date(t).substr(0, 8); }

crypto::Sha256Digest derive_signing_key(std::string_view secret_access_key, std::string_view date,
                                        std::string_view region, std::string_view service) {
  std::string seed = "AWS4";
  seed.append(secret_access_key);
  crypto::Sha256Digest k_date = crypto::hmac_sha256(seed, date);
  crypto::Sha256Digest k_region = crypto::hmac_sha256(as_view(k_date), region);
  crypto::Sha256Digest k_service = crypto::hmac_sha256(as_view(k_region), service);
  crypto::Sha256Digest k_signing = crypto::hmac_sha256(as_view(k_service), "aws4_request");
  // Intermediate keys are as good as the secret for a day; do not leave them in memory.
  OPENSSL_cleanse(seed.data(), seed.size());
  OPENSSL_cleanse(k_date.data(), k_date.size());
  OPENSSL_cleanse(k_region.data(), k_region.size());
  OPENSSL_cleanse(k_service.data(), k_service.size());
  return k_signing;
}

Result<SigningResult> sign(const SigningRequest& request, const Credentials& credentials,
                           const SigningParams& params) {
  auto ctx = prepare(request, credentials, params, params.add_content_sha256_header);
  if (!ctx.ok()) return ctx.status();
  const bool has_token = !credentials.session_token.empty();
  ctx->headers.add("x-amz-date", ctx->date);
  if (has_token && params.sign_session_token) {
    ctx->headers.add("x-amz-security-token", credentials.session_token);
  }
  if (params.add_content_sha256_header) ctx->headers.add("x-amz-content-sha256", ctx->payload_hash);

  SigningResult r;
  r.canonical_request =
      canonical_request(request, *ctx, canonical_query(parse_query(request.query)));
  r.string_to_sign = string_to_sign(*ctx, r.canonical_request);
  r.signed_headers = ctx->headers.signed_headers();
  r.signature = signature(credentials, params, r.string_to_sign);
  r.authorization = std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" +
                    ctx->scope + ", SignedHeaders=" + r.signed_headers +
                    ", Signature=" + r.signature;
  r.headers.push_back({"X-Amz-Date", ctx->date});
  if (has_token) r.headers.push_back({"X-Amz-Security-Token", credentials.session_token});
  if (params.add_content_sha256_header) {
    r.headers.push_back({"x-amz-content-sha256", ctx->payload_hash});
  }
  r.headers.push_back({"Authorization", r.authorization});
  return r;
}

Result<PresignResult> presign(const SigningRequest& request, const Credentials& credentials,
                              const SigningParams& params, std::chrono::seconds expires) {
  if (expires.count() < 1 || expires > kMaxPresignExpiry) {
    return invalid_argument("sigv4: presign expiry must be 1 to 604800 seconds");
  }
  auto ctx = prepare(request, credentials, params, /*signer_owns_content_sha256=*/false);
  if (!ctx.ok()) return ctx.status();
  const bool has_token = !credentials.session_token.empty();

  PresignResult r;
  r.signed_headers = ctx->headers.signed_headers();
  QueryParams query;
  for (auto& p : parse_query(request.query)) {
    if (!contains(kOwnedParams, p.first)) query.push_back(std::move(p));
  }
  query.emplace_back("X-Amz-Algorithm", std::string(kAlgorithm));
  query.emplace_back("X-Amz-Credential", credentials.access_key_id + "/" + ctx->scope);
  query.emplace_back("X-Amz-Date", ctx->date);
  query.emplace_back("X-Amz-Expires", std::to_string(expires.count()));
  query.emplace_back("X-Amz-SignedHeaders", r.signed_headers);
  if (has_token && params.sign_session_token) {
    query.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  const std::string cq = canonical_query(query);

  r.canonical_request = canonical_request(request, *ctx, cq);
  r.string_to_sign = string_to_sign(*ctx, r.canonical_request);
  r.signature = signature(credentials, params, r.string_to_sign);
  r.query = cq;
  if (has_token && !params.sign_session_token) {
    r.query.append("&X-Amz-Security-Token=").append(uri_encode(credentials.session_token, false));
  }
  r.query.append("&X-Amz-Signature=").append(r.signature);
  return r;
}

}  // namespace spectra::aws::sigv4
