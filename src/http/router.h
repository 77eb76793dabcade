#pragma once
// Method + path routing with `{name}` segments. Unknown path: 404; known path,
// wrong method: 405 with Allow. Routes are fixed at start-up (static pipeline).
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "http/server.h"

namespace spectra::http {

using Params = std::map<std::string, std::string>;
using RouteHandler = std::function<asio::awaitable<void>(Exchange&, const Params&)>;

struct RouteInfo {
  Verb method;
  std::string pattern;  // e.g. /api/v1/config/{section}
};

class Router {
 public:
  // 404 and 405 are rendered with `format`: the API's own error shape.
  explicit Router(ErrorFormat format = &plain_error) : format_(format) {}
  void set_error_format(ErrorFormat format) { format_ = format; }
  void add(Verb method, std::string pattern, RouteHandler handler);
  asio::awaitable<void> dispatch(Exchange& ex) const;
  std::vector<RouteInfo> routes() const;

  // Matches `path` (no query) against `pattern`, filling params.
  static bool match(std::string_view pattern, std::string_view path, Params* params);

 private:
  struct Route {
    Verb method;
    std::string pattern;
    RouteHandler handler;
  };
  std::vector<Route> routes_;
  ErrorFormat format_;
};

// Splits "/a/b?x=1&y=2" into path and decoded query parameters.
std::string_view path_of(std::string_view target);
std::map<std::string, std::string> query_of(std::string_view target);
std::string percent_decode(std::string_view s);

}  // namespace spectra::http
