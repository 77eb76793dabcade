#pragma once
// One config-API call as the CLI sees it: either a parsed 2xx answer or an
// ApiError already phrased for the operator, with the exit code to return.
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

#include "cli/transport.h"

namespace spectra::cli {

namespace bj = boost::json;

enum ExitCode : int {
  kExitOk = 0,
  kExitRefused = 1,      // the server answered 4xx/5xx (or nonsense)
  kExitUsage = 2,        // bad flags, bad input file; nothing was sent
  kExitUnreachable = 3,  // no HTTP answer at all
  kExitAuth = 4,         // 401 or 403
};

// Where the token came from, so a 401/403 can say what to change.
enum class TokenSource { kNone, kFlag, kTokenFile, kEnv, kDefaultFile };

struct SessionOptions {
  std::string url;
  std::optional<std::string> token;
  TokenSource token_source = TokenSource::kNone;
  std::string token_file;  // the file read, for kTokenFile and kDefaultFile
};

struct ApiReply {
  unsigned status = 0;
  bj::value body;  // null for an empty body (204)
  http::ClientResponse raw;
};

struct ApiError {
  int exit_code = kExitRefused;
  std::string message;               // printed as "error: <message>"
  std::vector<std::string> details;  // printed below it, indented by two spaces
};

void print_error(std::ostream& err, const ApiError& e);

// No HTTP answer: exit 3 with a hint to start the daemon.
ApiError error_from_transport(const Status& s, const std::string& url);
// A non-2xx answer. `sent_base` is the If-Match revision of the request, for
// the 409 message.
ApiError error_from_response(const http::ClientResponse& r, const SessionOptions& opts,
                             std::optional<std::int64_t> sent_base);

using CallOutcome = std::variant<ApiReply, ApiError>;

class ApiSession {
 public:
  ApiSession(ApiTransport& transport, SessionOptions opts)
      : transport_(transport), opts_(std::move(opts)) {}

  // `body` (if any) is sent as JSON; `if_match` as If-Match: "N".
  CallOutcome call(http::Verb verb, const std::string& target, const bj::value* body = nullptr,
                   std::optional<std::int64_t> if_match = std::nullopt);
  const SessionOptions& options() const { return opts_; }

 private:
  ApiTransport& transport_;
  SessionOptions opts_;
};

// Percent-encodes one path segment (section names, token ids).
std::string encode_segment(std::string_view s);

// The integer in `v` if it holds one that fits int64 (revisions, counts).
std::optional<std::int64_t> as_int(const bj::value* v);
// The string in `v`, or `fallback`.
std::string as_text(const bj::value* v, std::string fallback = "");

}  // namespace spectra::cli
