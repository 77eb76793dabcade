#pragma once
// Reader for the safetensors format: an 8-byte little-endian header length,
// a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}},
// then the raw tensor bytes. The file is untrusted input: every offset, shape
// and size is checked before a byte is read.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace spectra::embed {

struct TensorInfo {
  std::string dtype;  // "F32", "I64", ...
  std::vector<std::int64_t> shape;
  std::size_t begin = 0;  // byte offsets into the data section
  std::size_t end = 0;
};

class SafetensorsFile {
 public:
  static Result<SafetensorsFile> open(const std::string& path);
  // Takes the whole file content.
  static Result<SafetensorsFile> parse(std::string bytes);

  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }

  // Copies an F32 tensor out, checking that its shape is `shape`.
  Result<std::vector<float>> read_f32(const std::string& name,
                                      const std::vector<std::int64_t>& shape) const;

 private:
  std::string bytes_;
  std::size_t data_start_ = 0;
  std::map<std::string, TensorInfo> tensors_;
};

std::string shape_string(const std::vector<std::int64_t>& shape);

}  // namespace spectra::embed
