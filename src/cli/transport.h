#pragma once
// The seam between the CLI and the network: commands talk to an ApiTransport,
// production passes HttpTransport (the blocking http::Client), tests pass a
// fake that answers with canned, protocol-faithful responses.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "http/client.h"
#include "http/types.h"

namespace spectra::cli {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class ApiTransport {
 public:
  virtual ~ApiTransport() = default;
  // A non-ok Result means no HTTP answer arrived (connect, timeout, reset);
  // any HTTP status, including 4xx/5xx, is an ok Result.
  virtual Result<http::ClientResponse> send(http::Verb verb, const std::string& target,
                                            const std::string& body, const HeaderList& headers) = 0;
};

class HttpTransport final : public ApiTransport {
 public:
  explicit HttpTransport(http::Endpoint endpoint) : client_(std::move(endpoint)) {}
  Result<http::ClientResponse> send(http::Verb verb, const std::string& target,
                                    const std::string& body, const HeaderList& headers) override;

 private:
  http::Client client_;
};

// Parses `base_url` and connects lazily; a bad URL is an invalid_argument.
Result<std::unique_ptr<ApiTransport>> make_http_transport(const std::string& base_url);

}  // namespace spectra::cli
