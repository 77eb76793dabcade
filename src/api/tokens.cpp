#include "api/tokens.h"

#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "common/crypto.h"
#include "common/file_util.h"
#include "common/json_util.h"
#include "common/time_util.h"
#include "common/log.h"

namespace spectra::api {
const char* role_name(Role r) { return r == Role::kAdmin ? "admin" : "viewer"; }

bool parse_role(std::string_view s, Role* out) {
  if (s == "admin") *out = Role::kAdmin;
  else if (s == "viewer") *out = Role::kViewer;
  else return false;
  return true;
}

boost::json::object TokenInfo::to_json() const {
  return {{"id", id}, {"name", name}, {"role", role_name(role)}, {"created_at", created_at}};
}

TokenService::TokenService(store::Store& store, std::string root)
    : store_(store), root_(std::move(root)) {}

Status TokenService::open() {
  auto entries = store_.list(root_ + "/auth/tokens", true);
  if (!entries.ok()) return entries.status();
  std::map<std::string, TokenInfo> loaded;
  for (const auto& e : *entries) {
    auto v = json::parse(e.value);
    if (!v.ok() || !v->is_object()) {
      log::warn("skipping a corrupt token record", {{"key", e.key}});
      continue;
    }
    const auto& o = v->get_object();
    TokenInfo t;
    auto str = [&](const char* k) {
      const auto* x = o.if_contains(k);
      return x && x->is_string() ? std::string(x->get_string()) : std::string();
    };
    t.id = str("id");
    t.name = str("name");
    t.created_at = str("created_at");
    t.hash = str("hash");
    if (!parse_role(str("role"), &t.role) || t.id.empty() || t.hash.size() != 64) {
      log::warn("skipping a corrupt token record", {{"key", e.key}});
      continue;
    }
    loaded[t.id] = std::move(t);
  }
  std::lock_guard lock(mu_);
  tokens_ = std::move(loaded);
  return {};
}

Result<std::string> TokenService::create(const std::string& name, Role role, TokenInfo* info) {
  TokenInfo t;
  t.id = crypto::hex(crypto::random_bytes(6));
  t.name = name;
  t.role = role;
  t.created_at = rfc3339_utc();
  std::string token = "sgw_" + t.id + "_" + crypto::random_token(32);
  t.hash = crypto::sha256_hex(token);
  boost::json::object rec = t.to_json();
  rec["hash"] = t.hash;
  auto put = store_.put(key(t.id), boost::json::serialize(rec), store::Precondition::must_not_exist());
  if (!put.ok()) return put.status();
  if (info) *info = t;
  std::lock_guard lock(mu_);
  tokens_[t.id] = std::move(t);
  return token;
}

Status TokenService::revoke(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    if (!tokens_.count(id)) return not_found("no token with id " + id);
  }
  if (Status s = store_.remove(key(id)); !s.ok()) return s;
  std::lock_guard lock(mu_);
  tokens_.erase(id);
  return {};
}

std::vector<TokenInfo> TokenService::list() const {
  std::lock_guard lock(mu_);
  std::vector<TokenInfo> out;
  for (const auto& [id, t] : tokens_) out.push_back(t);
  return out;
}

Result<bool> TokenService::bootstrap_admin(const std::string& token_file) {
  {
    std::lock_guard lock(mu_);
    if (!tokens_.empty()) return false;
  }
  TokenInfo info;
  auto token = create("admin", Role::kAdmin, &info);
  if (!token.ok()) return token.status();
  if (Status s = fs::write_file_atomic(token_file, *token + "\n", 0600); !s.ok()) return s;
  return true;
}

Status TokenService::reset_admin(const std::string& token_file) {
  for (const auto& t : list()) {
    if (t.name == "admin") {
      if (Status s = revoke(t.id); !s.ok()) return s;
    }
  }
  TokenInfo info;
  auto token = create("admin", Role::kAdmin, &info);
  if (!token.ok()) return token.status();
  return fs::write_file_atomic(token_file, *token + "\n", 0600);
}

Result<Principal> TokenService::authenticate(std::string_view header) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (header.empty()) return Status(Code::kUnauthenticated, "missing Authorization: Bearer <token> header");
  if (header.size() < kBearer.size() || !std::equal(kBearer.begin(), kBearer.end(), header.begin(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
      })) {
    return Status(Code::kUnauthenticated, "Authorization header must be 'Bearer <token>'");
  }
  std::string_view token = header.substr(kBearer.size());
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  // sgw_<12 hex id>_<secret>
  if (token.size() < 18 || token.substr(0, 4) != "sgw_" || token[16] != '_') {
    return Status(Code::kUnauthenticated, "the token is not valid");
  }
  std::string id(token.substr(4, 12));
  std::string hash = crypto::sha256_hex(token);
  std::lock_guard lock(mu_);
  auto it = tokens_.find(id);
  if (it == tokens_.end() || !crypto::constant_time_equal(it->second.hash, hash)) {
    return Status(Code::kUnauthenticated, "the token is not valid");
  }
  return Principal{it->second.id, it->second.name, it->second.role};
}

}  // namespace spectra::api
