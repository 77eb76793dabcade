#include "http/router.h"

namespace spectra::http {

void Router::add(Verb method, std::string pattern, RouteHandler handler) {
  routes_.push_back({method, std::move(pattern), std::move(handler)});
}

std::vector<RouteInfo> Router::routes() const {
  std::vector<RouteInfo> out;
  for (const auto& r : routes_) out.push_back({r.method, r.pattern});
  return out;
}

bool Router::match(std::string_view pattern, std::string_view path, Params* params) {
  std::size_t pi = 0, xi = 0;
  while (pi < pattern.size() && xi < path.size()) {
    if (pattern[pi] == '{') {
      std::size_t close = pattern.find('}', pi);
      std::string name(pattern.substr(pi + 1, close - pi - 1));
      std::size_t end = path.find('/', xi);
      if (end == std::string_view::npos) end = path.size();
      if (end == xi) return false;  // empty segment
      if (params) (*params)[name] = percent_decode(path.substr(xi, end - xi));
      pi = close + 1;
      xi = end;
      continue;
    }
    if (pattern[pi] != path[xi]) return false;
    ++pi;
    ++xi;
  }
  return pi == pattern.size() && xi == path.size();
}

asio::awaitable<void> Router::dispatch(Exchange& ex) const {
  std::string_view path = path_of(ex.request().target());
  std::string allow;
  for (const auto& r : routes_) {
    Params params;
    if (!match(r.pattern, path, &params)) continue;
    if (r.method == ex.request().method() ||
        (r.method == Verb::get && ex.request().method() == Verb::head)) {
      co_await r.handler(ex, params);
      co_return;
    }
    if (!allow.empty()) allow += ", ";
    allow += std::string(bhttp::to_string(r.method));
  }
  if (!allow.empty()) {
    Response res = format_(HttpStatus::method_not_allowed, "method_not_allowed",
                                  "method " + std::string(ex.request().method_string()) +
                                      " is not allowed on " + std::string(path));
    res.set(bhttp::field::allow, allow);
    co_await ex.respond(std::move(res));
    co_return;
  }
  { Response res_ = format_(HttpStatus::not_found, "not_found",
                                     "no such resource: " + std::string(path)); co_await ex.respond(std::move(res_)); }
}

std::string_view path_of(std::string_view target) {
  auto q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hexval = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    if (s[i] == '+') {
      out.push_back(' ');
      continue;
    }
    out.push_back(s[i]);
  }
  return out;
}

std::map<std::string, std::string> query_of(std::string_view target) {
  std::map<std::string, std::string> out;
  auto q = target.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    auto eq = part.find('=');
    if (!part.empty()) {
      out[percent_decode(part.substr(0, eq))] =
          eq == std::string_view::npos ? "" : percent_decode(part.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return out;
}

}  // namespace spectra::http
