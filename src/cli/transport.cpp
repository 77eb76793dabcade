#include "cli/transport.h"

namespace spectra::cli {

Result<http::ClientResponse> HttpTransport::send(http::Verb verb, const std::string& target,
                                                 const std::string& body,
                                                 const HeaderList& headers) {
  return client_.send(verb, target, body, headers);
}

Result<std::unique_ptr<ApiTransport>> make_http_transport(const std::string& base_url) {
  auto ep = http::parse_base_url(base_url);
  if (!ep.ok()) return ep.status();
  return std::unique_ptr<ApiTransport>(std::make_unique<HttpTransport>(std::move(ep).value()));
}

}  // namespace spectra::cli
