#include "embed/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace spectra::embed {
namespace {

// A safetensors file: 8-byte little-endian header length, header, data.
std::string file_bytes(const std::string& header, const std::vector<float>& data) {
  std::string out(8, '\0');
  std::uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  out += header;
  std::string raw(data.size() * sizeof(float), '\0');
  if (!data.empty()) std::memcpy(raw.data(), data.data(), raw.size());
  return out + raw;
}

const char* kHeader = R"({"__metadata__":{"format":"pt"},)"
                      R"("w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                      R"("b":{"dtype":"F32","shape":[1],"data_offsets":[24,28]},)"
                      R"("ids":{"dtype":"I64","shape":[1],"data_offsets":[28,36]}})";

TEST(Safetensors, ReadsTensorsByNameAndShape) {
  auto f = SafetensorsFile::parse(file_bytes(kHeader, {1, 2, 3, 4, 5, 6, 7, 0, 0}));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->tensors().size(), 3u);
  EXPECT_TRUE(f->contains("ids"));
  auto w = f->read_f32("w", {2, 3});
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  EXPECT_EQ(*w, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  auto b = f->read_f32("b", {1});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, (std::vector<float>{7}));
}

TEST(Safetensors, ReportsMissingTensorWrongShapeAndDtype) {
  auto f = SafetensorsFile::parse(file_bytes(kHeader, {1, 2, 3, 4, 5, 6, 7, 0, 0}));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->read_f32("nope", {1}).status().code(), Code::kNotFound);
  auto shape = f->read_f32("w", {3, 2});
  EXPECT_EQ(shape.status().code(), Code::kInvalidArgument);
  EXPECT_NE(shape.status().message().find("[2, 3]"), std::string::npos);
  EXPECT_EQ(f->read_f32("ids", {1}).status().code(), Code::kInvalidArgument);
}

TEST(Safetensors, RejectsMalformedFiles) {
  const auto rejects = [](const std::string& bytes) {
    auto f = SafetensorsFile::parse(bytes);
    return !f.ok() && f.status().code() == Code::kInvalidArgument;
  };
  EXPECT_TRUE(rejects("abc"));
  std::string huge_len(8, '\xff');
  EXPECT_TRUE(rejects(huge_len + "{}"));
  EXPECT_TRUE(rejects(file_bytes("[1,2]", {})));
  EXPECT_TRUE(rejects(file_bytes("{not json", {})));
  // Offsets past the end of the data.
  EXPECT_TRUE(
      rejects(file_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", {1})));
  // Byte size that does not match the shape.
  EXPECT_TRUE(
      rejects(file_bytes(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", {1, 2})));
  // Reversed offsets, negative dimension, unknown dtype, missing fields.
  EXPECT_TRUE(
      rejects(file_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", {1})));
  EXPECT_TRUE(
      rejects(file_bytes(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", {1})));
  EXPECT_TRUE(rejects(file_bytes(R"({"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}})", {1})));
  EXPECT_TRUE(rejects(file_bytes(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", {1})));
  EXPECT_TRUE(rejects(file_bytes(R"({"w":5})", {1})));
  // Overflowing element count.
  EXPECT_TRUE(rejects(file_bytes(
      R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", {1})));
}

TEST(Safetensors, OpenReportsMissingFile) {
  auto f = SafetensorsFile::open("/nonexistent/model.safetensors");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace spectra::embed
