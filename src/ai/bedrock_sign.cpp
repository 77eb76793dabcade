#include "ai/bedrock_sign.h"

#include <algorithm>

#include "aws/sigv4_canonical.h"

namespace spectra::ai::bedrock {

Result<UrlParts> split_url(std::string_view url) {
  UrlParts out;
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) return invalid_argument("bedrock: URL has no scheme");
  out.scheme = aws::sigv4::lower_ascii(url.substr(0, sep));
  std::string_view rest = url.substr(sep + 3);
  const auto slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  std::string_view target = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return invalid_argument("bedrock: URL needs a host and no user info");
  }
  const std::string_view default_port = out.scheme == "https"  ? ":443"
                                        : out.scheme == "http" ? ":80"
                                                               : "";
  if (!default_port.empty() && authority.size() > default_port.size() &&
      authority.substr(authority.size() - default_port.size()) == default_port &&
      authority.back() != ']') {
    authority.remove_suffix(default_port.size());
  }
  out.host = std::string(authority);
  const auto q = target.find('?');
  out.path = std::string(target.substr(0, q));
  if (out.path.empty()) out.path = "/";
  if (q != std::string_view::npos) out.query = std::string(target.substr(q + 1));
  return out;
}

Status sign_upstream_request(UpstreamRequest& request, const aws::sigv4::Credentials& credentials,
                             std::string_view region, std::string_view service,
                             std::chrono::system_clock::time_point time) {
  auto url = split_url(request.url);
  if (!url.ok()) return url.status();
  auto& headers = request.headers;
  headers.erase(std::remove_if(headers.begin(), headers.end(),
                               [](const auto& h) {
                                 const std::string n = aws::sigv4::lower_ascii(h.first);
                                 return n == "host" || n == "x-amz-date" ||
                                        n == "x-amz-security-token" || n == "authorization";
                               }),
                headers.end());
  headers.emplace_back("host", url->host);

  aws::sigv4::SigningRequest sr;
  sr.method = request.method;
  sr.path = url->path;
  sr.query = url->query;
  for (const auto& [name, value] : headers) sr.headers.push_back({name, value});
  sr.body = request.body;
  aws::sigv4::SigningParams params;
  params.region = std::string(region);
  params.service = std::string(service);
  params.time = time;
  auto signed_req = aws::sigv4::sign(sr, credentials, params);
  if (!signed_req.ok()) return signed_req.status();
  for (const auto& h : signed_req->headers) headers.emplace_back(h.name, h.value);
  return {};
}

}  // namespace spectra::ai::bedrock
