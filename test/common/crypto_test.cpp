#include "common/crypto.h"

#include <gtest/gtest.h>

namespace spectra::crypto {
namespace {

TEST(Crypto, Sha256KnownAnswer) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Crypto, HmacRfc4231Case2) {
  EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Crypto, Base64RoundTrip) {
  for (std::string s : std::initializer_list<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\0\xff\x10", 3)}) {
    auto d = base64_decode(base64(s));
    ASSERT_TRUE(d.ok()) << s;
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_FALSE(base64_decode("abc").ok());
  EXPECT_FALSE(base64_decode("a$c=").ok());
}

TEST(Crypto, AeadRoundTripAndTamper) {
  std::string key = random_bytes(kAeadKeyBytes);
  auto sealed = aead_seal(key, "sk-secret-value", "/ai/providers/0/api_key");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->find("sk-secret-value"), std::string::npos);
  auto opened = aead_open(key, *sealed, "/ai/providers/0/api_key");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, "sk-secret-value");
  // Another context, another key, or one flipped bit must all fail.
  EXPECT_FALSE(aead_open(key, *sealed, "/ai/providers/1/api_key").ok());
  EXPECT_FALSE(aead_open(random_bytes(kAeadKeyBytes), *sealed, "/ai/providers/0/api_key").ok());
  std::string bad = *sealed;
  bad[14] ^= 1;
  EXPECT_FALSE(aead_open(key, bad, "/ai/providers/0/api_key").ok());
  EXPECT_FALSE(aead_open(key, "short", "").ok());
}

TEST(Crypto, TokensAreDistinctAndUrlSafe) {
  std::string a = random_token(), b = random_token();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 43u);
  EXPECT_EQ(a.find_first_of("+/="), std::string::npos);
  EXPECT_TRUE(constant_time_equal(a, a));
  EXPECT_FALSE(constant_time_equal(a, b));
}

}  // namespace
}  // namespace spectra::crypto
