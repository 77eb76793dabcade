// The shared credentials and config files (~/.aws/credentials, ~/.aws/config).
#include <array>

#include "aws/credentials.h"
#include "aws/sigv4_canonical.h"

namespace spectra::aws {
namespace {

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\f\v";
  const auto b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

struct Paths {
  std::string credentials;
  std::string config;
};

std::string expand_home(const Environment& env, std::string path) {
  if (path.rfind("~/", 0) == 0) {
    if (auto home = env.var("HOME")) return *home + path.substr(1);
  }
  return path;
}

Paths file_paths(const Environment& env) {
  const auto home = env.var("HOME");
  Paths p;
  if (auto v = env.var("AWS_SHARED_CREDENTIALS_FILE"))
    p.credentials = expand_home(env, *v);
  else if (home)
    p.credentials = *home + "/.aws/credentials";
  if (auto v = env.var("AWS_CONFIG_FILE"))
    p.config = expand_home(env, *v);
  else if (home)
    p.config = *home + "/.aws/config";
  return p;
}

// nullopt when the path is empty or the file does not exist.
Result<std::optional<IniFile>> load(const Environment& env, const std::string& path) {
  if (path.empty() || !env.read_file) return std::optional<IniFile>();
  auto text = env.read_file(path);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return std::optional<IniFile>();
    return text.status();
  }
  auto ini = parse_ini(*text);
  if (!ini.ok()) return Status(ini.status().code(), path + ": " + ini.status().message());
  return std::optional<IniFile>(std::move(*ini));
}

const IniSection* find_section(const std::optional<IniFile>& file, const std::string& name) {
  if (!file) return nullptr;
  auto it = file->find(name);
  return it == file->end() ? nullptr : &it->second;
}

// In the config file a profile is [profile name]; the default one may be
// written [default] or [profile default].
const IniSection* config_section(const std::optional<IniFile>& file, const std::string& profile) {
  if (const IniSection* s = find_section(file, "profile " + profile)) return s;
  return profile == "default" ? find_section(file, "default") : nullptr;
}

const std::string* value(const IniSection* s, const std::string& key) {
  if (!s) return nullptr;
  auto it = s->find(key);
  return it == s->end() || it->second.empty() ? nullptr : &it->second;
}

}  // namespace

Result<IniFile> parse_ini(std::string_view text) {
  IniFile file;
  IniSection* section = nullptr;
  bool nested = false;  // inside the indented sub-properties of a key
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const auto nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const std::string_view line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    // Error messages name the line, never its text: it may hold a secret.
    const std::string where = "line " + std::to_string(line_no);
    if (!raw.empty() && is_space(raw[0]) && nested) continue;
    if (line[0] == '[') {
      if (line.back() != ']') return invalid_argument(where + ": malformed section header");
      const std::string name(trim(line.substr(1, line.size() - 2)));
      if (name.empty()) return invalid_argument(where + ": empty section name");
      section = &file[name];
      nested = false;
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) return invalid_argument(where + ": expected key = value");
    if (!section) return invalid_argument(where + ": key outside any [section]");
    const std::string key = sigv4::lower_ascii(trim(line.substr(0, eq)));
    if (key.empty()) return invalid_argument(where + ": empty key");
    const std::string_view val = trim(line.substr(eq + 1));
    (*section)[key] = std::string(val);
    nested = val.empty();
  }
  return file;
}

Result<Credentials> SharedFilesCredentialsProvider::get() {
  const auto explicit_profile = env_.var("AWS_PROFILE");
  const std::string profile = explicit_profile ? *explicit_profile : "default";
  const Paths paths = file_paths(env_);
  auto creds_file = load(env_, paths.credentials);
  if (!creds_file.ok()) return creds_file.status();
  auto config_file = load(env_, paths.config);
  if (!config_file.ok()) return config_file.status();

  const IniSection* in_creds = find_section(*creds_file, profile);
  const IniSection* in_config = config_section(*config_file, profile);
  const std::string where = paths.credentials + ", " + paths.config;
  if (!in_creds && !in_config) {
    if (explicit_profile) {
      return invalid_argument("AWS_PROFILE '" + profile + "' is in neither " + where);
    }
    return not_found("no [default] profile in " + where);
  }
  const IniSection* pick = nullptr;
  std::string path;
  if (value(in_creds, "aws_access_key_id")) {
    pick = in_creds;
    path = paths.credentials;
  } else if (value(in_config, "aws_access_key_id")) {
    pick = in_config;
    path = paths.config;
  }
  if (!pick) {
    constexpr std::array<const char*, 5> kUnsupported = {"role_arn", "credential_process",
                                                         "sso_session", "sso_start_url",
                                                         "web_identity_token_file"};
    for (const char* key : kUnsupported) {
      if (value(in_creds, key) || value(in_config, key)) {
        return invalid_argument("profile '" + profile + "' uses " + key +
                                ", which the gateway does not support; use static keys, "
                                "environment variables or the EC2 instance role");
      }
    }
    return not_found("profile '" + profile + "' has no aws_access_key_id");
  }
  const std::string* secret = value(pick, "aws_secret_access_key");
  if (!secret) {
    return invalid_argument("profile '" + profile + "' in " + path +
                            " has aws_access_key_id but no aws_secret_access_key");
  }
  Credentials c;
  c.keys.access_key_id = *value(pick, "aws_access_key_id");
  c.keys.secret_access_key = *secret;
  if (const std::string* t = value(pick, "aws_session_token"))
    c.keys.session_token = *t;
  else if (const std::string* legacy = value(pick, "aws_security_token")) {
    c.keys.session_token = *legacy;
  }
  c.source = "profile " + profile + " (" + path + ")";
  return c;
}

std::optional<std::string> resolve_region(const Environment& env) {
  if (auto r = env.var("AWS_REGION")) return r;
  if (auto r = env.var("AWS_DEFAULT_REGION")) return r;
  auto config = load(env, file_paths(env).config);
  if (!config.ok()) return std::nullopt;
  const auto profile = env.var("AWS_PROFILE");
  if (const std::string* r =
          value(config_section(*config, profile ? *profile : "default"), "region")) {
    return *r;
  }
  return std::nullopt;
}

}  // namespace spectra::aws
