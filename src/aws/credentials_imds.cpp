#include "aws/credentials_imds.h"

#include "common/json_util.h"

namespace spectra::aws {
namespace {

namespace bj = boost::json;

constexpr std::string_view kDefaultEndpoint = "http://169.254.169.254";
constexpr std::string_view kRolesPath = "/latest/meta-data/iam/security-credentials/";

Status bad_answer(std::string what) {
  return unavailable("instance metadata service: " + std::move(what));
}

bool valid_role_name(std::string_view role) {
  if (role.empty() || role.size() > 128) return false;
  for (char c : role) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '=' || c == ',' || c == '.' || c == '@' || c == '_' ||
                    c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string json_string(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : "";
}

}  // namespace

Result<std::chrono::system_clock::time_point> parse_iso8601_utc(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS, checked character by character.
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd";
  if (text.size() < kShape.size()) return invalid_argument("not an ISO 8601 time");
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    const bool ok = kShape[i] == 'd' ? (text[i] >= '0' && text[i] <= '9') : text[i] == kShape[i];
    if (!ok) return invalid_argument("not an ISO 8601 time");
  }
  auto num = [text](std::size_t pos, std::size_t len) {
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) v = v * 10 + (text[i] - '0');
    return v;
  };
  const int y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
            s = num(17, 2);
  std::string_view rest = text.substr(19);
  if (!rest.empty() && rest[0] == '.') {
    rest.remove_prefix(1);
    while (!rest.empty() && rest[0] >= '0' && rest[0] <= '9') rest.remove_prefix(1);
  }
  if (rest != "Z" && rest != "+00:00") return invalid_argument("ISO 8601 time is not in UTC");
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60)
    return invalid_argument("ISO 8601 time out of range");
  return system_clock::time_point(sys_days(ymd) + hours(h) + minutes(mi) + seconds(s));
}

Result<Credentials> ImdsCredentialsProvider::get() {
  if (auto disabled = env_.var("AWS_EC2_METADATA_DISABLED");
      disabled && (*disabled == "true" || *disabled == "TRUE" || *disabled == "True")) {
    return not_found("AWS_EC2_METADATA_DISABLED is set");
  }
  if (!fetcher_) return not_found("no HTTP fetcher for the instance metadata service");
  std::string endpoint(kDefaultEndpoint);
  if (auto e = env_.var("AWS_EC2_METADATA_SERVICE_ENDPOINT")) endpoint = *e;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();

  auto token = fetcher_->fetch(
      {"PUT",
       endpoint + "/latest/api/token",
       {{"X-aws-ec2-metadata-token-ttl-seconds", std::to_string(options_.token_ttl.count())}}});
  if (!token.ok()) {
    return not_found("no instance metadata service at " + endpoint + ": " +
                     token.status().message());
  }
  if (token->status != 200 || token->body.empty()) {
    return bad_answer("token request answered HTTP " + std::to_string(token->status));
  }
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"X-aws-ec2-metadata-token", token->body}};

  auto roles = fetcher_->fetch({"GET", endpoint + std::string(kRolesPath), auth});
  if (!roles.ok()) return bad_answer("role list: " + roles.status().message());
  if (roles->status == 404) return not_found("the instance has no IAM role");
  if (roles->status != 200) {
    return bad_answer("role list answered HTTP " + std::to_string(roles->status));
  }
  std::string_view list = roles->body;
  std::string role(list.substr(0, list.find('\n')));
  while (!role.empty() && (role.back() == '\r' || role.back() == ' ')) role.pop_back();
  if (!valid_role_name(role)) return bad_answer("role list holds no valid role name");

  auto doc = fetcher_->fetch({"GET", endpoint + std::string(kRolesPath) + role, auth});
  if (!doc.ok()) return bad_answer("credentials of role " + role + ": " + doc.status().message());
  if (doc->status != 200) {
    return bad_answer("credentials of role " + role + " answered HTTP " +
                      std::to_string(doc->status));
  }
  auto parsed = json::parse(doc->body, {64u << 10, 8});
  if (!parsed.ok() || !parsed->is_object()) return bad_answer("credentials are not a JSON object");
  const bj::object& o = parsed->get_object();
  if (const std::string code = json_string(o, "Code"); !code.empty() && code != "Success") {
    return bad_answer("credentials Code is " + code);
  }
  Credentials c;
  c.keys.access_key_id = json_string(o, "AccessKeyId");
  c.keys.secret_access_key = json_string(o, "SecretAccessKey");
  c.keys.session_token = json_string(o, "Token");
  if (c.keys.access_key_id.empty() || c.keys.secret_access_key.empty()) {
    return bad_answer("credentials lack AccessKeyId or SecretAccessKey");
  }
  const std::string expiration = json_string(o, "Expiration");
  if (!expiration.empty()) {
    auto t = parse_iso8601_utc(expiration);
    if (!t.ok()) return bad_answer("credentials Expiration: " + t.status().message());
    c.expiration = *t;
  }
  c.source = "imds role " + role;
  return c;
}

std::unique_ptr<CachingCredentialsProvider> default_credentials_chain(
    const Environment& env, std::shared_ptr<HttpFetcher> fetcher, const Clock& clock,
    CacheOptions options) {
  std::vector<std::unique_ptr<CredentialsProvider>> providers;
  providers.push_back(std::make_unique<EnvironmentCredentialsProvider>(env));
  providers.push_back(std::make_unique<SharedFilesCredentialsProvider>(env));
  providers.push_back(std::make_unique<ImdsCredentialsProvider>(env, std::move(fetcher)));
  return std::make_unique<CachingCredentialsProvider>(
      std::make_unique<ChainCredentialsProvider>(std::move(providers)), clock, options);
}

}  // namespace spectra::aws
