#include "aws/credentials.h"

#include <cstdlib>

#include "common/file_util.h"
#include "common/log.h"

namespace spectra::aws {
namespace {

constexpr std::size_t kMaxCredentialFileBytes = 1u << 20;

std::string format_time(std::chrono::system_clock::time_point t) {
  return sigv4::amz_date(t);  // 20240101T000000Z: compact, UTC, unambiguous
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Credentials& c) {
  os << "Credentials{access_key_id=" << c.keys.access_key_id
     << ", secret=" << (c.keys.secret_access_key.empty() ? "(none)" : "***")
     << ", token=" << (c.keys.session_token.empty() ? "(none)" : "***") << ", source=" << c.source;
  if (c.expiration) os << ", expires=" << format_time(*c.expiration);
  return os << "}";
}

Environment Environment::process() {
  Environment env;
  env.getenv = [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): read-only use
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
  env.read_file = [](const std::string& path) {
    return fs::read_file(path, kMaxCredentialFileBytes);
  };
  return env;
}

Environment Environment::with_vars(std::map<std::string, std::string> vars) {
  Environment env = process();
  env.getenv = [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  return env;
}

std::optional<std::string> Environment::var(const std::string& name) const {
  if (!getenv) return std::nullopt;
  auto v = getenv(name);
  if (!v || v->empty()) return std::nullopt;
  return v;
}

Result<Credentials> EnvironmentCredentialsProvider::get() {
  auto id = env_.var("AWS_ACCESS_KEY_ID");
  auto secret = env_.var("AWS_SECRET_ACCESS_KEY");
  if (!id && !secret) return not_found("AWS_ACCESS_KEY_ID is not set");
  if (!id || !secret) {
    return invalid_argument(
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together; only one is");
  }
  Credentials c;
  c.keys.access_key_id = *id;
  c.keys.secret_access_key = *secret;
  if (auto token = env_.var("AWS_SESSION_TOKEN")) c.keys.session_token = *token;
  c.source = "environment";
  return c;
}

Result<Credentials> ChainCredentialsProvider::get() {
  std::string tried;
  for (const auto& p : providers_) {
    auto r = p->get();
    if (r.ok()) return r;
    if (r.status().code() != Code::kNotFound) {
      return Status(r.status().code(), p->name() + ": " + r.status().message());
    }
    if (!tried.empty()) tried += "; ";
    tried += p->name() + ": " + r.status().message();
  }
  return not_found("no AWS credentials found (" + tried + ")");
}

CachingCredentialsProvider::CachingCredentialsProvider(std::unique_ptr<CredentialsProvider> inner,
                                                       const Clock& clock, CacheOptions options)
    : inner_(std::move(inner)), clock_(clock), options_(options) {}

void CachingCredentialsProvider::invalidate() {
  std::lock_guard lock(mu_);
  cached_.reset();
  next_attempt_ = {};
}

Result<Credentials> CachingCredentialsProvider::get() {
  std::lock_guard lock(mu_);
  const auto now = clock_.system_now();
  auto valid = [&now](const Credentials& c) { return !c.expiration || now < *c.expiration; };
  if (cached_) {
    const bool fresh = !cached_->expiration || now < *cached_->expiration - options_.refresh_margin;
    if (fresh || (valid(*cached_) && now < next_attempt_)) return *cached_;
  }
  // The refresh happens under the lock: concurrent callers wait for one
  // fetch instead of each asking the metadata service.
  auto r = inner_->get();
  next_attempt_ = now + options_.retry_interval;
  if (r.ok()) {
    boost::json::object fields{{"source", r->source}};
    if (r->expiration) fields["expires"] = format_time(*r->expiration);
    log::info("aws credentials loaded", std::move(fields));
    cached_ = *r;
    return r;
  }
  if (cached_ && valid(*cached_)) {
    log::warn("aws credentials refresh failed; using the cached ones until they expire",
              {{"error", r.status().to_string()}, {"expires", format_time(*cached_->expiration)}});
    return *cached_;
  }
  cached_.reset();
  return r.status();
}

}  // namespace spectra::aws
