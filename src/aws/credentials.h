#pragma once
// Where AWS credentials come from, in the SDKs' default order: the
// environment, the shared credentials/config files, then the EC2 instance
// role through IMDSv2 (credentials_imds.h); and a cache that refreshes them
// before they expire (time from an injected spectra::Clock, common/clock.h).
//
// Providers do blocking I/O (files, the metadata service). The cache makes
// the common case a locked read; callers on an I/O thread should still fetch
// off it (or at start-up) when the cache may need a refresh.
//
// Secrets: nothing here logs or formats a secret key or session token. A
// Credentials value prints (gtest, operator<<) with both masked as ***.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "aws/sigv4.h"
#include "common/clock.h"
#include "common/result.h"

namespace spectra::aws {

struct Credentials {
  sigv4::Credentials keys;
  // nullopt for long-lived keys; temporary ones (IMDS, session tokens from a
  // file with an expiry we cannot know) carry it when the source says.
  std::optional<std::chrono::system_clock::time_point> expiration;
  std::string source;  // "environment", "profile default (/home/x/.aws/credentials)", "imds role r"
};

// "Credentials{access_key_id=AKIA..., secret=***, token=***, source=...}".
std::ostream& operator<<(std::ostream& os, const Credentials& c);
inline void PrintTo(const Credentials& c, std::ostream* os) { *os << c; }

// The process environment and file system, injectable for tests.
struct Environment {
  std::function<std::optional<std::string>(const std::string& name)> getenv;
  // Missing file -> kNotFound (fs::read_file's contract).
  std::function<Result<std::string>(const std::string& path)> read_file;

  static Environment process();
  // Variables from `vars`, files from the real file system.
  static Environment with_vars(std::map<std::string, std::string> vars);
  // A variable's value, or nullopt when unset or empty.
  std::optional<std::string> var(const std::string& name) const;
};

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  // kNotFound: this source is not configured here (a chain tries the next).
  // Any other error: the source is configured but broken (a chain stops, so
  // a misconfiguration is never papered over by a different identity).
  virtual Result<Credentials> get() = 0;
  virtual std::string name() const = 0;
};

// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
class EnvironmentCredentialsProvider final : public CredentialsProvider {
 public:
  explicit EnvironmentCredentialsProvider(Environment env) : env_(std::move(env)) {}
  Result<Credentials> get() override;
  std::string name() const override { return "environment"; }

 private:
  Environment env_;
};

// ~/.aws/credentials and ~/.aws/config (AWS_SHARED_CREDENTIALS_FILE,
// AWS_CONFIG_FILE override the paths; AWS_PROFILE picks the profile, default
// "default"). Static keys only: a profile that names role_arn,
// credential_process or sso_* is reported as unsupported (not skipped), and
// an AWS_PROFILE that exists in neither file is an error.
class SharedFilesCredentialsProvider final : public CredentialsProvider {
 public:
  explicit SharedFilesCredentialsProvider(Environment env) : env_(std::move(env)) {}
  Result<Credentials> get() override;
  std::string name() const override { return "shared-files"; }

 private:
  Environment env_;
};

// Tries each provider in order; see CredentialsProvider::get for when it stops.
class ChainCredentialsProvider final : public CredentialsProvider {
 public:
  explicit ChainCredentialsProvider(std::vector<std::unique_ptr<CredentialsProvider>> providers)
      : providers_(std::move(providers)) {}
  Result<Credentials> get() override;
  std::string name() const override { return "chain"; }

 private:
  std::vector<std::unique_ptr<CredentialsProvider>> providers_;
};

struct CacheOptions {
  // Refresh this long before expiry, so no request is signed with keys that
  // expire in flight.
  std::chrono::seconds refresh_margin{5 * 60};
  // After a refresh attempt, wait this long before the next one while the
  // cached keys are still valid (no hammering a failing metadata service).
  std::chrono::seconds retry_interval{10};
};

// Thread-safe. Returns the cached credentials while they are outside the
// refresh margin; inside it, refreshes; if that fails, keeps serving the old
// ones until they actually expire, then fails.
class CachingCredentialsProvider final : public CredentialsProvider {
 public:
  CachingCredentialsProvider(std::unique_ptr<CredentialsProvider> inner, const Clock& clock,
                             CacheOptions options = {});
  Result<Credentials> get() override;
  std::string name() const override { return "cached " + inner_->name(); }
  // Forget the cached keys (e.g. after the upstream answered ExpiredToken).
  void invalidate();

 private:
  std::unique_ptr<CredentialsProvider> inner_;
  const Clock& clock_;
  const CacheOptions options_;
  std::mutex mu_;
  std::optional<Credentials> cached_;                     // guarded by mu_
  std::chrono::system_clock::time_point next_attempt_{};  // guarded by mu_
};

// INI as the AWS CLI writes it: [section], key = value, full-line comments
// (# or ;), keys lower-cased, whitespace trimmed. Indented lines after a key
// with an empty value are that key's sub-properties (s3 = ...) and are
// skipped. A later duplicate section merges into the first; a later key wins.
using IniSection = std::map<std::string, std::string>;
using IniFile = std::map<std::string, IniSection>;
Result<IniFile> parse_ini(std::string_view text);

// AWS_REGION, then AWS_DEFAULT_REGION, then `region` of the profile in the
// config file; nullopt when none is set.
std::optional<std::string> resolve_region(const Environment& env);

}  // namespace spectra::aws
