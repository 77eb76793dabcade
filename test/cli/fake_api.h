#pragma once
// A fake config API for CLI tests: answers requests with canned responses in
// the shapes spectrad sends (JSON bodies, {"error": {...}} on failure, ETag on
// config reads) and records every request it saw.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/run_cli.h"
#include "cli/transport.h"

namespace spectra::cli::testing {

struct SeenRequest {
  http::Verb verb;
  std::string target;
  std::string body;
  HeaderList headers;

  // The value of header `name` (case-sensitive as the CLI sends it), or nullopt.
  std::optional<std::string> header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return std::nullopt;
  }
};

inline http::ClientResponse json_answer(unsigned status, std::string body,
                                        std::map<std::string, std::string> headers = {}) {
  http::ClientResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  r.headers["content-type"] = "application/json";
  return r;
}

// `extra` is JSON members to add inside "error", e.g. R"("current_revision": 9)".
inline http::ClientResponse error_answer(unsigned status, const std::string& code,
                                         const std::string& message,
                                         const std::string& extra = "") {
  std::string body = R"({"error":{"code":")" + code + R"(","message":")" + message + "\"";
  if (!extra.empty()) body += "," + extra;
  body += "}}";
  return json_answer(status, body);
}

class FakeApi {
 public:
  // Every request with this verb and exact target gets `answer`.
  void on(http::Verb verb, const std::string& target, http::ClientResponse answer) {
    routes_[{verb, target}] = std::move(answer);
  }
  // Every request fails as if nothing listened.
  void unreachable(Status s) { unreachable_ = std::move(s); }

  const std::vector<SeenRequest>& requests() const { return requests_; }
  const std::string& transport_url() const { return url_; }

  // A CliEnv with no variables and no files unless given; stdin reads `input`.
  CliEnv env(std::map<std::string, std::string> vars = {},
             std::map<std::string, std::string> files = {}) {
    CliEnv env;
    env.getenv = [vars](const std::string& n) -> std::optional<std::string> {
      auto it = vars.find(n);
      return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    env.file_exists = [files](const std::string& p) { return files.count(p) > 0; };
    env.read_file = [files](const std::string& p) -> Result<std::string> {
      auto it = files.find(p);
      if (it == files.end()) return not_found("No such file or directory");
      return it->second;
    };
    env.stdin_stream = &stdin_;
    env.make_transport = [this](const std::string& url) -> Result<std::unique_ptr<ApiTransport>> {
      auto ep = http::parse_base_url(url);
      if (!ep.ok()) return ep.status();
      url_ = url;
      return std::unique_ptr<ApiTransport>(std::make_unique<Transport>(*this));
    };
    return env;
  }
  void set_stdin(const std::string& text) {
    stdin_.clear();  // a previous run read to EOF
    stdin_.str(text);
  }

 private:
  class Transport final : public ApiTransport {
   public:
    explicit Transport(FakeApi& api) : api_(api) {}
    Result<http::ClientResponse> send(http::Verb verb, const std::string& target,
                                      const std::string& body, const HeaderList& headers) override {
      api_.requests_.push_back({verb, target, body, headers});
      if (api_.unreachable_) return *api_.unreachable_;
      auto it = api_.routes_.find({verb, target});
      if (it == api_.routes_.end()) {
        ADD_FAILURE() << "unexpected request " << http::bhttp::to_string(verb) << " " << target;
        return error_answer(404, "not_found", "no route for " + target);
      }
      return it->second;
    }

   private:
    FakeApi& api_;
  };

  std::map<std::pair<http::Verb, std::string>, http::ClientResponse> routes_;
  std::optional<Status> unreachable_;
  std::vector<SeenRequest> requests_;
  std::string url_;
  std::istringstream stdin_;
};

struct RunOutput {
  int code = -1;
  std::string out;
  std::string err;
};

inline RunOutput run(const CliEnv& env, std::vector<std::string> args) {
  std::ostringstream out, err;
  RunOutput r;
  r.code = run_cli(std::move(args), out, err, env);
  r.out = out.str();
  r.err = err.str();
  return r;
}

// A GET /api/v1/config answer at revision `rev`, as spectrad sends it.
inline http::ClientResponse config_answer(int rev, const std::string& config_json) {
  return json_answer(200,
                     R"({"revision":)" + std::to_string(rev) + R"(,"config":)" + config_json + "}",
                     {{"etag", "\"" + std::to_string(rev) + "\""}});
}

}  // namespace spectra::cli::testing
