#pragma once
// A small blocking HTTP/1.1 client for the CLI and for tests. It keeps one
// connection alive and reconnects once if the server closed it meanwhile.
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "http/types.h"

namespace spectra::http {

struct Endpoint {
  std::string host;
  std::uint16_t port = 80;
  std::string base_path;  // prefix for every target, usually empty
};

// Parses http://host[:port][/base]. https is refused with a clear message
// (TLS is terminated by HAProxy in front of the appliance).
Result<Endpoint> parse_base_url(std::string_view url);

struct ClientResponse {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string header(const std::string& name) const;
};

class Client {
 public:
  explicit Client(Endpoint endpoint, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Result<ClientResponse> send(Verb method, const std::string& target, const std::string& body = "",
                              const std::vector<std::pair<std::string, std::string>>& headers = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spectra::http
