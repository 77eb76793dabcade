#include "config/secrets.h"

#include <map>

#include "common/crypto.h"
#include "common/file_util.h"
#include "common/json_util.h"

namespace spectra::config {
namespace {
constexpr std::string_view kSealedPrefix = "enc:v1:";
constexpr std::string_view kAad = "spectra-config-secret";
}  // namespace

Result<SecretBox> SecretBox::load_or_create(const std::string& path) {
  auto existing = fs::read_file(path, 1024);
  if (existing.ok()) {
    auto key = crypto::base64_decode(std::string_view(*existing).substr(0, 44));
    if (!key.ok() || key->size() != crypto::kAeadKeyBytes) {
      return internal_error("secret key file " + path + " is corrupt");
    }
    return SecretBox(std::move(*key));
  }
  if (existing.status().code() != Code::kNotFound) return existing.status();
  std::string key = crypto::random_bytes(crypto::kAeadKeyBytes);
  if (Status s = fs::write_file_atomic(path, crypto::base64(key) + "\n", 0600); !s.ok()) return s;
  return SecretBox(std::move(key));
}

std::string SecretBox::seal(std::string_view plaintext) const {
  auto sealed = crypto::aead_seal(key_, plaintext, kAad);
  assert(sealed.ok() && "sealing with a valid key cannot fail");
  return std::string(kSealedPrefix) + crypto::base64(*sealed);
}

Result<std::string> SecretBox::open(std::string_view sealed) const {
  if (sealed.rfind(kSealedPrefix, 0) != 0) return internal_error("stored secret is not sealed");
  auto raw = crypto::base64_decode(sealed.substr(kSealedPrefix.size()));
  if (!raw.ok()) return internal_error("stored secret is corrupt");
  return crypto::aead_open(key_, *raw, kAad);
}

std::string SecretBox::fingerprint(std::string_view plaintext) const {
  return crypto::hex(crypto::hmac_sha256(key_, plaintext)).substr(0, 16);
}

void seal_secrets(const Node& node, bj::value& v, const SecretBox& box) {
  for_each_secret(node, v, "", [&](bj::value& s, const std::string&) {
    if (!s.get_string().empty()) s = box.seal(s.get_string());
  });
}

Status open_secrets(const Node& node, bj::value& v, const SecretBox& box) {
  Status result;
  for_each_secret(node, v, "", [&](bj::value& s, const std::string& path) {
    if (s.get_string().empty() || !result.ok()) return;
    auto plain = box.open(s.get_string());
    if (!plain.ok()) {
      result = internal_error("cannot decrypt the secret at " + path + ": " + plain.status().message());
      return;
    }
    s = *plain;
  });
  return result;
}

void mask_secrets(const Node& node, bj::value& v) {
  for_each_secret(node, v, "", [](bj::value& s, const std::string&) {
    if (!s.get_string().empty()) s = kMask;
  });
}

void fingerprint_secrets(const Node& node, bj::value& v, const SecretBox& box) {
  for_each_secret(node, v, "", [&](bj::value& s, const std::string&) {
    if (!s.get_string().empty()) s = std::string(kMask) + ":" + box.fingerprint(s.get_string());
  });
}

void restore_masked(const Node& node, bj::value& incoming, const bj::value& current,
                    const std::string& path, Errors& errors) {
  switch (node.type) {
    case Type::kString:
      if (node.secret && incoming.is_string() && incoming.get_string() == kMask) {
        if (current.is_string() && !current.get_string().empty()) {
          incoming = current;
        } else {
          errors.push_back({path, "is \"***\" but no secret is stored here; send the real value"});
        }
      }
      return;
    case Type::kObject: {
      if (!incoming.is_object()) return;
      for (const auto& f : node.fields) {
        auto* in = incoming.get_object().if_contains(f.name);
        if (!in) continue;
        const bj::value* cur = current.is_object() ? current.get_object().if_contains(f.name) : nullptr;
        static const bj::value kNull;
        restore_masked(*f.node, *in, cur ? *cur : kNull, json::pointer_join(path, f.name), errors);
      }
      return;
    }
    case Type::kArray: {
      if (!incoming.is_array()) return;
      static const bj::value kNull;
      const bj::array* cur = current.is_array() ? &current.get_array() : nullptr;
      const std::string& key = node.unique_field;
      for (std::size_t i = 0; i < incoming.get_array().size(); ++i) {
        bj::value& item = incoming.get_array()[i];
        const bj::value* match = nullptr;
        if (cur && !key.empty() && item.is_object()) {
          const auto* id = item.get_object().if_contains(key);
          for (const auto& c : *cur) {
            const auto* cid = c.is_object() ? c.get_object().if_contains(key) : nullptr;
            if (id && cid && *id == *cid) match = &c;
          }
        } else if (cur && key.empty() && i < cur->size()) {
          match = &(*cur)[i];
        }
        restore_masked(*node.items, item, match ? *match : kNull, json::pointer_join(path, i), errors);
      }
      return;
    }
    default:
      return;
  }
}

}  // namespace spectra::config
