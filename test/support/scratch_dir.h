#pragma once
// A scratch directory for one test's files, <tmp>/spectra-<name>-<pid>,
// empty at the start and removed however the test ends (an ASSERT that
// fails returns before the test's last line).
#include <unistd.h>

#include <filesystem>
#include <string>

namespace spectra::test {

struct ScratchDir {
  explicit ScratchDir(const std::string& name)
      : dir(std::filesystem::temp_directory_path() / ("spectra-" + name + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~ScratchDir() { std::filesystem::remove_all(dir); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const char* name) const { return (dir / name).string(); }
  std::filesystem::path dir;
};

}  // namespace spectra::test
