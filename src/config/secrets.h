#pragma once
// Secrets in the config of record: write-only through the API, encrypted at
// rest (AES-256-GCM, key in a 0600 file beside the store), "***" on read.
#include <boost/json/object.hpp>

#include <string>

#include "common/result.h"
#include "config/schema.h"

namespace spectra::config {

inline constexpr std::string_view kMask = "***";

class SecretBox {
 public:
  // Loads the key at `path`, creating a random one (mode 0600) if missing.
  static Result<SecretBox> load_or_create(const std::string& path);
  static SecretBox from_key(std::string key) { return SecretBox(std::move(key)); }

  std::string seal(std::string_view plaintext) const;        // "enc:v1:<base64>"
  Result<std::string> open(std::string_view sealed) const;   // plaintext
  // A keyed fingerprint: equal secrets give equal fingerprints; reveals nothing.
  std::string fingerprint(std::string_view plaintext) const;

 private:
  explicit SecretBox(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

// For every secret under `node`: seal / open / mask in place.
void seal_secrets(const Node& node, bj::value& v, const SecretBox& box);
Status open_secrets(const Node& node, bj::value& v, const SecretBox& box);
void mask_secrets(const Node& node, bj::value& v);
// Replaces secrets by "***:<fingerprint>" so a diff sees a change without
// seeing the secret; strip_fingerprints() turns them into "***" afterwards.
void fingerprint_secrets(const Node& node, bj::value& v, const SecretBox& box);

// A client that read "***" and sends it back means "keep the stored secret".
// Replaces every "***" in `incoming` by the secret at the same place in
// `current` (array items matched by their unique name, not position). A mask
// with nothing stored behind it is a validation error.
void restore_masked(const Node& node, bj::value& incoming, const bj::value& current,
                    const std::string& path, Errors& errors);

}  // namespace spectra::config
