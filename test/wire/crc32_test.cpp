#include "wire/crc32.h"

#include <gtest/gtest.h>

#include <string>

namespace spectra::wire {
namespace {

// Bit-at-a-time CRC-32 straight from the definition, to check the table version.
std::uint32_t reference_crc32(std::string_view data) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (char ch : data) {
    c ^= static_cast<std::uint8_t>(ch);
    for (int i = 0; i < 8; ++i) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

TEST(Crc32, KnownAnswers) {
  EXPECT_EQ(crc32(""), 0u);
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);  // the standard check value
  EXPECT_EQ(crc32("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
  EXPECT_EQ(crc32(std::string(32, '\0')), 0x190A55ADu);
}

TEST(Crc32, MatchesBitwiseReference) {
  std::string data;
  for (int i = 0; i < 1000; ++i) {
    data.push_back(static_cast<char>((i * 131 + 7) & 0xFF));
    ASSERT_EQ(crc32(data), reference_crc32(data)) << i;
  }
}

TEST(Crc32, UpdateIsIncremental) {
  const std::string data = "incremental crc over split input";
  for (std::size_t cut = 0; cut <= data.size(); ++cut) {
    const std::string_view v = data;
    EXPECT_EQ(crc32_update(crc32(v.substr(0, cut)), v.substr(cut)), crc32(data)) << cut;
  }
}

}  // namespace
}  // namespace spectra::wire
