#pragma once
// HttpFetcher over plain HTTP/1.1 for the instance metadata service (which
// is only ever http://, on a link-local or loopback address).
//
// Not spectra::http::Client: that client connects without a deadline, and off
// EC2 a connect to 169.254.169.254 can hang for minutes. Here one deadline
// covers resolve-free connect, write and read, so a credentials chain that
// reaches IMDS off EC2 fails in `timeout` (the SDKs use 1 s too).
//
// A separate library (spectra_aws_net) so that spectra_aws stays free of
// sockets and builds in the fuzz tree.
#include <chrono>

#include "aws/credentials_imds.h"

namespace spectra::aws {

class NetHttpFetcher final : public HttpFetcher {
 public:
  explicit NetHttpFetcher(std::chrono::milliseconds timeout = std::chrono::seconds(1))
      : timeout_(timeout) {}
  // http://host[:port]/path only; host must be an IP literal or "localhost"
  // (no DNS: metadata endpoints are addresses). Bodies over 1 MiB are refused.
  Result<HttpFetchResponse> fetch(const HttpFetchRequest& request) override;

 private:
  std::chrono::milliseconds timeout_;
};

}  // namespace spectra::aws
