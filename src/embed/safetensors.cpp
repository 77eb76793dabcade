#include "embed/safetensors.h"

#include <bit>
#include <boost/json/value.hpp>
#include <cstring>
#include <utility>

#include "common/file_util.h"
#include "common/json_util.h"

namespace spectra::embed {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian and is copied as is");

constexpr std::size_t kMaxFileBytes = std::size_t{2} << 30;
constexpr std::size_t kMaxHeaderBytes = 100 << 20;
constexpr std::int64_t kMaxElements = std::int64_t{1} << 34;

std::size_t dtype_size(std::string_view dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL" || dtype == "F8_E4M3" ||
      dtype == "F8_E5M2") {
    return 1;
  }
  return 0;
}

Result<TensorInfo> parse_entry(const std::string& name, const boost::json::value& v,
                               std::size_t data_size) {
  const auto bad = [&](const std::string& why) {
    return invalid_argument("safetensors tensor '" + name + "': " + why);
  };
  const auto* obj = v.if_object();
  if (obj == nullptr) return bad("entry is not an object");
  const auto* dtype = obj->if_contains("dtype");
  const auto* shape = obj->if_contains("shape");
  const auto* offsets = obj->if_contains("data_offsets");
  if (dtype == nullptr || !dtype->is_string()) return bad("missing dtype");
  if (shape == nullptr || !shape->is_array()) return bad("missing shape");
  if (offsets == nullptr || !offsets->is_array() || offsets->as_array().size() != 2) {
    return bad("missing data_offsets");
  }
  TensorInfo info;
  info.dtype = std::string(dtype->as_string());
  const std::size_t elem = dtype_size(info.dtype);
  if (elem == 0) return bad("unknown dtype " + info.dtype);
  std::int64_t count = 1;
  for (const auto& d : shape->as_array()) {
    if (!d.is_int64() && !d.is_uint64()) return bad("shape entry is not an integer");
    const std::int64_t dim = d.is_int64() ? d.as_int64() : static_cast<std::int64_t>(d.as_uint64());
    if (dim < 0 || dim > kMaxElements) return bad("shape entry out of range");
    info.shape.push_back(dim);
    if (dim != 0 && count > kMaxElements / dim) return bad("too many elements");
    count *= dim;
  }
  std::size_t off[2];
  for (int i = 0; i < 2; ++i) {
    const auto& o = offsets->as_array()[i];
    if (o.is_uint64())
      off[i] = o.as_uint64();
    else if (o.is_int64() && o.as_int64() >= 0)
      off[i] = static_cast<std::size_t>(o.as_int64());
    else
      return bad("data offset is not a non-negative integer");
  }
  info.begin = off[0];
  info.end = off[1];
  if (info.begin > info.end || info.end > data_size) return bad("data offsets outside the file");
  if (info.end - info.begin != static_cast<std::size_t>(count) * elem) {
    return bad("byte size does not match shape " + shape_string(info.shape));
  }
  return info;
}

}  // namespace

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  auto bytes = fs::read_file(path, kMaxFileBytes);
  if (!bytes.ok()) {
    return Status(bytes.status().code(), "weights " + path + ": " + bytes.status().message());
  }
  auto file = parse(std::move(*bytes));
  if (!file.ok()) return Status(file.status().code(), path + ": " + file.status().message());
  return file;
}

Result<SafetensorsFile> SafetensorsFile::parse(std::string bytes) {
  if (bytes.size() < 8) return invalid_argument("safetensors file shorter than its header size");
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  if (header_len > kMaxHeaderBytes || header_len > bytes.size() - 8) {
    return invalid_argument("safetensors header length " + std::to_string(header_len) +
                            " is out of range");
  }
  std::string_view header(bytes.data() + 8, header_len);
  auto doc = json::parse(header, {.max_bytes = kMaxHeaderBytes, .max_depth = 8});
  if (!doc.ok())
    return Status(doc.status().code(), "safetensors header: " + doc.status().message());
  const auto* root = doc->if_object();
  if (root == nullptr) return invalid_argument("safetensors header is not a JSON object");

  SafetensorsFile file;
  file.data_start_ = 8 + header_len;
  const std::size_t data_size = bytes.size() - file.data_start_;
  for (const auto& [key, value] : *root) {
    std::string name(key);
    if (name == "__metadata__") continue;
    auto info = parse_entry(name, value, data_size);
    if (!info.ok()) return info.status();
    file.tensors_.emplace(std::move(name), std::move(*info));
  }
  file.bytes_ = std::move(bytes);
  return file;
}

Result<std::vector<float>> SafetensorsFile::read_f32(const std::string& name,
                                                     const std::vector<std::int64_t>& shape) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) return not_found("tensor '" + name + "' is missing from the weights");
  const TensorInfo& info = it->second;
  if (info.dtype != "F32") {
    return invalid_argument("tensor '" + name + "' has dtype " + info.dtype + ", expected F32");
  }
  if (info.shape != shape) {
    return invalid_argument("tensor '" + name + "' has shape " + shape_string(info.shape) +
                            ", expected " + shape_string(shape));
  }
  std::vector<float> out((info.end - info.begin) / sizeof(float));
  if (!out.empty()) {
    std::memcpy(out.data(), bytes_.data() + data_start_ + info.begin, info.end - info.begin);
  }
  return out;
}

}  // namespace spectra::embed
