#include "http/types.h"

#include <boost/json/serialize.hpp>

namespace spectra::http {

Response json_response(HttpStatus status, const boost::json::value& body) {
  Response r{status, 11};
  r.set(bhttp::field::content_type, "application/json");
  r.body() = boost::json::serialize(body);
  r.body().push_back('\n');
  r.prepare_payload();
  return r;
}

Response text_response(HttpStatus status, std::string body, std::string content_type) {
  Response r{status, 11};
  r.set(bhttp::field::content_type, content_type);
  r.body() = std::move(body);
  r.prepare_payload();
  return r;
}

Response error_response(HttpStatus status, std::string_view code, std::string_view message,
                        boost::json::object extra) {
  boost::json::object err;
  err["code"] = code;
  err["message"] = message;
  for (auto& kv : extra) err[kv.key()] = std::move(kv.value());
  return json_response(status, boost::json::object{{"error", std::move(err)}});
}

Response plain_error(HttpStatus status, std::string_view code, std::string_view message) {
  return error_response(status, code, message);
}

}  // namespace spectra::http
