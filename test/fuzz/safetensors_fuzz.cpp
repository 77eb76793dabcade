// libFuzzer target: the safetensors reader must reject, never crash on, any
// file, and every tensor it accepts must be readable with its own shape.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "embed/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto file =
      spectra::embed::SafetensorsFile::parse(std::string(reinterpret_cast<const char*>(data), size));
  if (!file.ok()) return 0;
  for (const auto& [name, info] : file->tensors()) {
    if (info.dtype != "F32") continue;
    auto t = file->read_f32(name, info.shape);
    if (!t.ok() || t->size() * sizeof(float) != info.end - info.begin) std::abort();
  }
  return 0;
}
