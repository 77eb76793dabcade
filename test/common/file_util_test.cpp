#include "common/file_util.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
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

// A soft limit below the hard one is raised to it (and left there).
TEST(FileUtil, RaisesTheOpenFileLimitToTheHardLimit) {
  rlimit before{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &before), 0);
  rlimit low = before;
  low.rlim_cur = std::min<rlim_t>(before.rlim_max, 256);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  auto raised = raise_open_file_limit();
  ASSERT_TRUE(raised.ok()) << raised.status().to_string();
  EXPECT_EQ(*raised, static_cast<std::uint64_t>(before.rlim_max));
  rlimit after{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, before.rlim_max);
  auto again = raise_open_file_limit();  // idempotent
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, static_cast<std::uint64_t>(before.rlim_max));
  ::setrlimit(RLIMIT_NOFILE, &before);
}

}  // namespace
}  // namespace spectra::fs
