#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>

#include <string>

namespace spectra::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;
using HttpStatus = bhttp::status;
using Verb = bhttp::verb;

// Per-request facts the server knows and handlers may use.
struct RequestInfo {
  std::string request_id;
  std::string remote_address;
};

Response json_response(HttpStatus status, const boost::json::value& body);
Response text_response(HttpStatus status, std::string body, std::string content_type = "text/plain");
// {"error": {"code": <code>, "message": <message>, ...extra}}: one shape for every
// config-API error, so clients parse one thing.
Response error_response(HttpStatus status, std::string_view code, std::string_view message,
                        boost::json::object extra = {});

// Renders an error the HTTP layer answers by itself (unknown path, wrong
// method, header or body over its limit, malformed HTTP, a handler that
// failed): each server answers in its own API's error shape.
using ErrorFormat = Response (*)(HttpStatus status, std::string_view code, std::string_view message);
// error_response() without extras: the config API's shape, the default.
Response plain_error(HttpStatus status, std::string_view code, std::string_view message);

}  // namespace spectra::http
