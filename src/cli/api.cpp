#include "cli/api.h"

#include <boost/json/serialize.hpp>

#include "cli/diff_format.h"
#include "common/json_util.h"

namespace spectra::cli {
namespace {

// Config documents and histories can be large; the API is trusted more than
// a random peer but the CLI still bounds what it holds in memory.
constexpr json::ParseLimits kReplyLimits{64u << 20, 128};

const char* kTokenHint =
    "pass a token with --token TOKEN, --token-file FILE or the SPECTRA_TOKEN "
    "environment variable (default file: ./state/admin.token)";

std::string describe_token(const SessionOptions& o) {
  switch (o.token_source) {
    case TokenSource::kFlag:
      return "the token given with --token";
    case TokenSource::kTokenFile:
      return "the token in " + o.token_file + " (--token-file)";
    case TokenSource::kEnv:
      return "the token in SPECTRA_TOKEN";
    case TokenSource::kDefaultFile:
      return "the token in " + o.token_file + " (default token file)";
    case TokenSource::kNone:
      break;
  }
  return "the request without a token";
}

std::string first_line(const std::string& body) {
  std::string line = body.substr(0, body.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  if (line.size() > 200) line = line.substr(0, 200) + "...";
  return line;
}

}  // namespace

void print_error(std::ostream& err, const ApiError& e) {
  err << "error: " << e.message << "\n";
  for (const auto& d : e.details) err << "  " << d << "\n";
}

ApiError error_from_transport(const Status& s, const std::string& url) {
  return {kExitUnreachable,
          "cannot reach the config API at " + url + ": " + s.message() +
              "; is spectrad running? (make run)",
          {}};
}

ApiError error_from_response(const http::ClientResponse& r, const SessionOptions& opts,
                             std::optional<std::int64_t> sent_base) {
  bj::value parsed;
  const bj::object* error = nullptr;
  if (auto p = json::parse(r.body, kReplyLimits); p.ok() && p->is_object()) {
    parsed = std::move(p).value();
    if (const bj::value* e = parsed.get_object().if_contains("error")) error = e->if_object();
  }
  std::string message = error ? as_text(error->if_contains("message")) : "";
  if (message.empty()) {
    message = "HTTP " + std::to_string(r.status);
    if (std::string line = first_line(r.body); !line.empty()) message += ": " + line;
  }
  const std::string status_tag = " (HTTP " + std::to_string(r.status) + ": " + message + ")";

  ApiError out{kExitRefused, message, {}};
  switch (r.status) {
    case 401:
      out.exit_code = kExitAuth;
      if (opts.token_source == TokenSource::kNone) {
        out.message = "authentication required: no token was given" + status_tag;
      } else {
        out.message =
            "authentication failed: the config API rejected " + describe_token(opts) + status_tag;
      }
      out.details.push_back(kTokenHint);
      return out;
    case 403:
      out.exit_code = kExitAuth;
      out.message = "permission denied: " + describe_token(opts) +
                    " lacks the admin role this command needs" + status_tag;
      out.details.push_back(
          "use an admin token: --token TOKEN, --token-file FILE or SPECTRA_TOKEN");
      return out;
    case 409:
      if (sent_base) {
        auto head = error ? as_int(error->if_contains("current_revision")) : std::nullopt;
        out.message = "the config changed since revision " + std::to_string(*sent_base) +
                      " (now at " +
                      (head ? std::to_string(*head) : std::string("a newer revision")) +
                      "); re-run to apply on top of the new revision";
        return out;
      }
      break;
    default:
      break;
  }
  if (const bj::value* errs = error ? error->if_contains("errors") : nullptr;
      errs && errs->is_array()) {
    for (const auto& e : errs->get_array()) {
      const bj::object* o = e.if_object();
      if (!o) {
        out.details.push_back(compact_value(e));
        continue;
      }
      std::string path = as_text(o->if_contains("path"), "/");
      if (path.empty()) path = "/";
      out.details.push_back(path + ": " + as_text(o->if_contains("reason"), "invalid"));
    }
  }
  return out;
}

CallOutcome ApiSession::call(http::Verb verb, const std::string& target, const bj::value* body,
                             std::optional<std::int64_t> if_match) {
  HeaderList headers;
  headers.emplace_back("Accept", "application/json");
  if (opts_.token) headers.emplace_back("Authorization", "Bearer " + *opts_.token);
  if (if_match) headers.emplace_back("If-Match", "\"" + std::to_string(*if_match) + "\"");
  std::string payload = body ? bj::serialize(*body) : std::string();

  auto r = transport_.send(verb, target, payload, headers);
  if (!r.ok()) return error_from_transport(r.status(), opts_.url);
  if (r->status < 200 || r->status >= 300) return error_from_response(*r, opts_, if_match);

  ApiReply reply;
  reply.status = r->status;
  if (!r->body.empty()) {
    auto p = json::parse(r->body, kReplyLimits);
    if (!p.ok()) {
      return ApiError{kExitRefused,
                      "unexpected answer from the config API (HTTP " + std::to_string(r->status) +
                          " on " + target + "): " + p.status().message(),
                      {}};
    }
    reply.body = std::move(p).value();
  }
  reply.raw = std::move(r).value();
  return reply;
}

std::string encode_segment(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::optional<std::int64_t> as_int(const bj::value* v) {
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(v->get_uint64());
  }
  return std::nullopt;
}

std::string as_text(const bj::value* v, std::string fallback) {
  if (!v || v->is_null()) return fallback;
  if (v->is_string()) return std::string(v->get_string());
  return compact_value(*v);
}

}  // namespace spectra::cli
