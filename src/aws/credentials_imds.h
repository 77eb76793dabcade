#pragma once
// EC2 instance-role credentials through the instance metadata service,
// IMDSv2 only (session token first; no fallback to the token-less v1 flow):
//   PUT  /latest/api/token                         X-aws-ec2-metadata-token-ttl-seconds: N
//   GET  /latest/meta-data/iam/security-credentials/        -> role name
//   GET  /latest/meta-data/iam/security-credentials/<role>  -> JSON keys + Expiration
// both GETs with X-aws-ec2-metadata-token. The endpoint is
// AWS_EC2_METADATA_SERVICE_ENDPOINT (tests point it at a fake on loopback),
// default http://169.254.169.254; AWS_EC2_METADATA_DISABLED=true turns the
// provider off.
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "aws/credentials.h"

namespace spectra::aws {

struct HttpFetchRequest {
  std::string method;  // "GET", "PUT"
  std::string url;     // http://host[:port]/path
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpFetchResponse {
  unsigned status = 0;
  std::string body;
};

// The one network call the credentials code makes, behind an interface so
// that the library stays pure. Production: aws::NetHttpFetcher (net_fetcher.h).
class HttpFetcher {
 public:
  virtual ~HttpFetcher() = default;
  // A transport failure (refused, unreachable, timed out) is an error; any
  // HTTP answer, 4xx/5xx included, is a response.
  virtual Result<HttpFetchResponse> fetch(const HttpFetchRequest& request) = 0;
};

struct ImdsOptions {
  std::chrono::seconds token_ttl{21600};  // the maximum IMDS allows
};

class ImdsCredentialsProvider final : public CredentialsProvider {
 public:
  ImdsCredentialsProvider(Environment env, std::shared_ptr<HttpFetcher> fetcher,
                          ImdsOptions options = {})
      : env_(std::move(env)), fetcher_(std::move(fetcher)), options_(options) {}
  // kNotFound when disabled, when nothing answers at the endpoint (not on
  // EC2) or when the instance has no role; other errors when IMDS answers
  // wrongly.
  Result<Credentials> get() override;
  std::string name() const override { return "imds"; }

 private:
  Environment env_;
  std::shared_ptr<HttpFetcher> fetcher_;
  ImdsOptions options_;
};

// "2024-05-17T15:09:54Z" (fractional seconds and a +00:00 offset accepted).
Result<std::chrono::system_clock::time_point> parse_iso8601_utc(std::string_view text);

// Environment -> shared files -> IMDS, behind a refreshing cache.
std::unique_ptr<CachingCredentialsProvider> default_credentials_chain(
    const Environment& env, std::shared_ptr<HttpFetcher> fetcher, const Clock& clock,
    CacheOptions options = {});

}  // namespace spectra::aws
