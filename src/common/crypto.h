#pragma once
// Thin, allocation-honest wrappers over OpenSSL 3 for the primitives the
// gateway uses: digests, HMAC, random bytes, AEAD for secrets at rest.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace spectra::crypto {

using Sha256Digest = std::array<std::uint8_t, 32>;

Sha256Digest sha256(std::string_view data);
std::string sha256_hex(std::string_view data);
Sha256Digest hmac_sha256(std::string_view key, std::string_view data);

// Cryptographically secure random bytes (aborts if the CSPRNG fails: there is
// no safe way to continue without randomness).
std::string random_bytes(std::size_t n);
// A random URL-safe token with `bytes` bytes of entropy.
std::string random_token(std::size_t bytes = 32);

std::string hex(std::string_view bytes);
std::string hex(const Sha256Digest& d);
std::string base64(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);
std::string base64url(std::string_view bytes);  // no padding

// Compares in time independent of where the inputs differ.
bool constant_time_equal(std::string_view a, std::string_view b);

// AES-256-GCM. Output layout: 12-byte nonce | ciphertext | 16-byte tag.
// `aad` binds the ciphertext to its context (e.g. the JSON path of a secret).
inline constexpr std::size_t kAeadKeyBytes = 32;
Result<std::string> aead_seal(std::string_view key, std::string_view plaintext,
                              std::string_view aad);
Result<std::string> aead_open(std::string_view key, std::string_view sealed,
                              std::string_view aad);

}  // namespace spectra::crypto
