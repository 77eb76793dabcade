#pragma once
// API bearer tokens. A token is "sgw_<id>_<secret>"; only a SHA-256 of the
// whole token is stored, so the store never holds a usable credential.
#include <boost/json/object.hpp>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/store.h"

namespace spectra::api {

enum class Role { kViewer, kAdmin };
const char* role_name(Role r);
bool parse_role(std::string_view s, Role* out);

struct Principal {
  std::string token_id;
  std::string name;
  Role role = Role::kViewer;
};

struct TokenInfo {
  std::string id;
  std::string name;
  Role role = Role::kViewer;
  std::string created_at;
  std::string hash;  // sha256 hex of the full token
  boost::json::object to_json() const;  // without the hash
};

class TokenService {
 public:
  TokenService(store::Store& store, std::string root = "/spectra");
  Status open();

  // Creates the first admin token if the store has none, writing it to
  // `token_file` (0600). Returns true if one was created.
  Result<bool> bootstrap_admin(const std::string& token_file);
  // Replaces every admin-named token by a new one written to `token_file`.
  Status reset_admin(const std::string& token_file);

  Result<Principal> authenticate(std::string_view authorization_header) const;
  // Returns the token in clear, once.
  Result<std::string> create(const std::string& name, Role role, TokenInfo* info);
  Status revoke(const std::string& id);
  std::vector<TokenInfo> list() const;

 private:
  std::string key(const std::string& id) const { return root_ + "/auth/tokens/" + id; }

  store::Store& store_;
  std::string root_;
  mutable std::mutex mu_;
  std::map<std::string, TokenInfo> tokens_;  // by id; guarded by mu_
};

}  // namespace spectra::api
