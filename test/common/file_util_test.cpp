#include "common/file_util.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>

namespace spectra::fs {
namespace {

TEST(FileUtil, AtomicWriteSetsModeAndReplaces) {
  auto dir = std::filesystem::temp_directory_path() / ("spectra-fs-" + std::to_string(getpid()));
  ASSERT_TRUE(make_dirs(dir.string()).ok());
  std::string path = (dir / "key").string();
  ASSERT_TRUE(write_file_atomic(path, "one", 0600).ok());
  ASSERT_TRUE(write_file_atomic(path, "two", 0600).ok());
  auto r = read_file(path);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "two");
  struct stat st{};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(read_file((dir / "missing").string()).status().code(), Code::kNotFound);
  EXPECT_EQ(read_file(path, 1).status().code(), Code::kResourceExhausted);
  // No temp file is left behind.
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) (void)e, ++files;
  EXPECT_EQ(files, 1);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spectra::fs
