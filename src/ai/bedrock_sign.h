#pragma once
// SigV4 for requests the Bedrock adapter built. Kept out of the adapter (which
// never sees credentials) and out of src/aws (which does not know the AI
// gateway's UpstreamRequest): the core calls this right before sending.
#include <chrono>
#include <string>
#include <string_view>

#include "ai/adapter.h"
#include "aws/sigv4.h"

namespace spectra::ai::bedrock {

// Sets Host (from the URL, default port omitted), X-Amz-Date,
// X-Amz-Security-Token (temporary credentials only) and Authorization on
// `request`, replacing any earlier copies, and signs method, path (as
// encoded in the URL; the signer encodes it once more), query, every header
// present and the body. The caller must send Host exactly as set here.
Status sign_upstream_request(
    UpstreamRequest& request, const aws::sigv4::Credentials& credentials, std::string_view region,
    std::string_view service = "bedrock",
    std::chrono::system_clock::time_point time = std::chrono::system_clock::now());

struct UrlParts {
  std::string scheme;
  std::string host;   // Host header value: host[:port], default port dropped
  std::string path;   // as on the wire, "/" when empty
  std::string query;  // without '?'
};
Result<UrlParts> split_url(std::string_view url);

}  // namespace spectra::ai::bedrock
