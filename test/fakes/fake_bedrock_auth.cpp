// SigV4 verification for the fake Bedrock: the signature is recomputed from
// the request as received, with the fake's own copy of the secret.
#include <boost/beast/core/string.hpp>

#include "aws/sigv4_canonical.h"
#include "common/crypto.h"
#include "fakes/fake_bedrock.h"

namespace spectra::fakes {
namespace {

constexpr std::string_view kMismatch =
    "The request signature we calculated does not match the signature you provided. Check "
    "your AWS Secret Access Key and signing method. Consult the service documentation for "
    "details.";
constexpr std::string_view kBadToken = "The security token included in the request is invalid.";

std::optional<SignatureProblem> problem(std::string_view type, std::string_view message) {
  return SignatureProblem{std::string(type), std::string(message)};
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto pos = s.find(sep, start);
    out.emplace_back(s.substr(start, pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// "20150830T123600Z" -> time point.
std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  auto num = [s](std::size_t pos, std::size_t len) -> int {
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  const int y = num(0, 4), mo = num(4, 2), d = num(6, 2), h = num(9, 2), mi = num(11, 2),
            sec = num(13, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0) return std::nullopt;
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return system_clock::time_point(sys_days(ymd) + hours(h) + minutes(mi) + seconds(sec));
}

}  // namespace

std::optional<SignatureProblem> check_signature(const http::Request& req,
                                                const FakeBedrockOptions& options) {
  const std::string auth(req[http::bhttp::field::authorization]);
  if (auth.empty())
    return problem("MissingAuthenticationTokenException", "Missing Authentication Token");
  const std::string prefix = std::string(aws::sigv4::kAlgorithm) + " ";
  if (auth.rfind(prefix, 0) != 0) {
    return problem("IncompleteSignatureException", "Unsupported authorization algorithm");
  }
  std::string credential, signed_headers, signature;
  for (const std::string& part : split(std::string_view(auth).substr(prefix.size()), ',')) {
    const std::string_view p = trim(part);
    const auto eq = p.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = p.substr(0, eq), value = p.substr(eq + 1);
    if (key == "Credential")
      credential = std::string(value);
    else if (key == "SignedHeaders")
      signed_headers = std::string(value);
    else if (key == "Signature")
      signature = std::string(value);
  }
  const std::vector<std::string> scope = split(credential, '/');
  if (scope.size() != 5 || signed_headers.empty() || signature.empty()) {
    return problem("IncompleteSignatureException",
                   "Authorization header requires 'Credential', 'Signature' and "
                   "'SignedHeaders' parameters.");
  }
  if (scope[0] != options.access_key_id) return problem("UnrecognizedClientException", kBadToken);
  const std::string token(req["x-amz-security-token"]);
  if (token != options.session_token) return problem("UnrecognizedClientException", kBadToken);
  const std::string date(req["x-amz-date"]);
  const auto time = parse_amz_date(date);
  if (!time) {
    return problem("IncompleteSignatureException",
                   "Authorization header requires existence of either a 'X-Amz-Date' or a "
                   "'Date' header.");
  }
  if (scope[1] != date.substr(0, 8) || scope[2] != options.region || scope[3] != options.service ||
      scope[4] != "aws4_request") {
    return problem("InvalidSignatureException", "Credential should be scoped correctly.");
  }

  aws::sigv4::SigningRequest sr;
  sr.method = std::string(req.method_string());
  const std::string_view target = req.target();
  const auto q = target.find('?');
  sr.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) sr.query = std::string(target.substr(q + 1));
  for (const std::string& name : split(signed_headers, ';')) {
    if (name == "x-amz-date" || name == "x-amz-security-token") continue;  // the signer's own
    bool found = false;
    for (const auto& field : req) {
      if (boost::beast::iequals(field.name_string(), name)) {
        sr.headers.push_back({name, std::string(field.value())});
        found = true;
      }
    }
    if (!found) return problem("InvalidSignatureException", kMismatch);
  }
  sr.body = req.body();
  aws::sigv4::SigningParams params;
  params.region = options.region;
  params.service = options.service;
  params.time = *time;
  const aws::sigv4::Credentials creds{options.access_key_id, options.secret_access_key,
                                      options.session_token};
  auto expected = aws::sigv4::sign(sr, creds, params);
  if (!expected.ok() || expected->signed_headers != signed_headers ||
      !crypto::constant_time_equal(expected->signature, signature)) {
    return problem("InvalidSignatureException", kMismatch);
  }
  return std::nullopt;
}

}  // namespace spectra::fakes
