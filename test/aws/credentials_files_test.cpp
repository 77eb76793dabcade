// INI parsing and the shared credentials/config files, with real files in a
// temporary folder.
#include <gtest/gtest.h>

#include <filesystem>

#include "aws/credentials.h"
#include "common/file_util.h"

namespace spectra::aws {
namespace {

TEST(Ini, SectionsKeysCommentsAndWhitespace) {
  auto ini = parse_ini(
      "# comment\n"
      "; another\n"
      "[default]\r\n"
      "  AWS_Access_Key_ID =  AKID1  \r\n"
      "aws_secret_access_key=abc/def+ghi=\n"
      "\n"
      "[ profile dev ]\n"
      "region = eu-west-1\n"
      "s3 =\n"
      "    max_concurrent_requests = 20\n"
      "    region = nested-not-top-level\n"
      "output = json\n"
      "[default]\n"
      "region = us-east-1\n"
      "empty =\n");
  ASSERT_TRUE(ini.ok()) << ini.status().to_string();
  const IniSection& def = ini->at("default");
  EXPECT_EQ(def.at("aws_access_key_id"), "AKID1");
  EXPECT_EQ(def.at("aws_secret_access_key"), "abc/def+ghi=");  // '=' inside a value is kept
  EXPECT_EQ(def.at("region"), "us-east-1");                    // duplicate sections merge
  EXPECT_EQ(def.at("empty"), "");
  const IniSection& dev = ini->at("profile dev");
  EXPECT_EQ(dev.at("region"), "eu-west-1");  // the nested s3 region did not leak
  EXPECT_EQ(dev.at("output"), "json");
  EXPECT_EQ(dev.count("max_concurrent_requests"), 0u);
}

TEST(Ini, ErrorsNameTheLineNotItsText) {
  auto no_section = parse_ini("aws_secret_access_key = hunter2\n");
  ASSERT_FALSE(no_section.ok());
  EXPECT_NE(no_section.status().message().find("line 1"), std::string::npos);
  EXPECT_EQ(no_section.status().message().find("hunter2"), std::string::npos);
  auto bad_header = parse_ini("[default]\nx=1\n[broken\n");
  ASSERT_FALSE(bad_header.ok());
  EXPECT_NE(bad_header.status().message().find("line 3"), std::string::npos);
  EXPECT_FALSE(parse_ini("[default]\njust some words\n").ok());
  EXPECT_FALSE(parse_ini("[]\n").ok());
  EXPECT_FALSE(parse_ini("[default]\n= value\n").ok());
  EXPECT_TRUE(parse_ini("").ok());
}

class SharedFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = ::testing::TempDir() + "bedrock_creds_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(home_);
    ASSERT_TRUE(fs::make_dirs(home_ + "/.aws").ok());
  }
  void TearDown() override { std::filesystem::remove_all(home_); }

  void write(const std::string& rel, const std::string& text) {
    ASSERT_TRUE(fs::write_file_atomic(home_ + "/" + rel, text, 0600).ok());
  }
  Result<Credentials> get(std::map<std::string, std::string> vars = {}) {
    vars["HOME"] = home_;
    return SharedFilesCredentialsProvider(Environment::with_vars(vars)).get();
  }

  std::string home_;
};

TEST_F(SharedFilesTest, DefaultProfileFromTheCredentialsFile) {
  write(".aws/credentials",
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n"
        "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = s2\naws_session_token = t2\n");
  auto c = get();
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->keys.access_key_id, "AKIDDEFAULT");
  EXPECT_EQ(c->keys.session_token, "");
  EXPECT_EQ(c->source, "profile default (" + home_ + "/.aws/credentials)");
  auto dev = get({{"AWS_PROFILE", "dev"}});
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(dev->keys.access_key_id, "AKIDDEV");
  EXPECT_EQ(dev->keys.session_token, "t2");
}

TEST_F(SharedFilesTest, ConfigFileProfilesAndPrecedence) {
  write(".aws/config",
        "[default]\nregion = eu-central-1\n"
        "[profile cfg]\naws_access_key_id = AKIDCFG\naws_secret_access_key = s\n"
        "aws_security_token = legacy\n"
        "[profile both]\naws_access_key_id = AKIDFROMCONFIG\naws_secret_access_key = s\n");
  write(".aws/credentials",
        "[both]\naws_access_key_id = AKIDFROMCREDS\naws_secret_access_key = s\n");
  auto cfg = get({{"AWS_PROFILE", "cfg"}});
  ASSERT_TRUE(cfg.ok()) << cfg.status().to_string();
  EXPECT_EQ(cfg->keys.access_key_id, "AKIDCFG");
  EXPECT_EQ(cfg->keys.session_token, "legacy");
  EXPECT_EQ(get({{"AWS_PROFILE", "both"}})->keys.access_key_id, "AKIDFROMCREDS");
  // The default profile only sets a region: not configured here, so a chain
  // moves on (to IMDS).
  EXPECT_EQ(get().status().code(), Code::kNotFound);
}

TEST_F(SharedFilesTest, PathOverridesAndTilde) {
  write("elsewhere-creds",
        "[default]\naws_access_key_id = AKIDELSEWHERE\naws_secret_access_key = s\n");
  write("elsewhere-config", "[profile p]\nregion = ap-south-1\n");
  auto c = get({{"AWS_SHARED_CREDENTIALS_FILE", "~/elsewhere-creds"}});
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->keys.access_key_id, "AKIDELSEWHERE");
  auto env = Environment::with_vars(
      {{"HOME", home_}, {"AWS_CONFIG_FILE", home_ + "/elsewhere-config"}, {"AWS_PROFILE", "p"}});
  EXPECT_EQ(resolve_region(env), "ap-south-1");
}

TEST_F(SharedFilesTest, MisconfigurationsAreErrorsNotFallThrough) {
  write(".aws/credentials", "[default]\naws_access_key_id = AKIDNOSECRET\n");
  write(".aws/config",
        "[profile assume]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = default\n");
  EXPECT_EQ(get().status().code(), Code::kInvalidArgument);
  auto assume = get({{"AWS_PROFILE", "assume"}});
  EXPECT_EQ(assume.status().code(), Code::kInvalidArgument);
  EXPECT_NE(assume.status().message().find("role_arn"), std::string::npos);
  auto missing = get({{"AWS_PROFILE", "nope"}});
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("'nope'"), std::string::npos);
  write(".aws/credentials", "garbage line\n");
  EXPECT_EQ(get().status().code(), Code::kInvalidArgument);
}

TEST_F(SharedFilesTest, NoFilesIsNotFound) {
  EXPECT_EQ(get().status().code(), Code::kNotFound);
  EXPECT_EQ(SharedFilesCredentialsProvider(Environment::with_vars({})).get().status().code(),
            Code::kNotFound);  // no HOME at all
}

TEST_F(SharedFilesTest, RegionResolutionOrder) {
  write(".aws/config", "[default]\nregion = from-config\n");
  EXPECT_EQ(resolve_region(Environment::with_vars({{"HOME", home_}})), "from-config");
  EXPECT_EQ(resolve_region(Environment::with_vars({{"HOME", home_}, {"AWS_DEFAULT_REGION", "d"}})),
            "d");
  EXPECT_EQ(resolve_region(Environment::with_vars(
                {{"HOME", home_}, {"AWS_DEFAULT_REGION", "d"}, {"AWS_REGION", "r"}})),
            "r");
  EXPECT_EQ(resolve_region(Environment::with_vars({})), std::nullopt);
}

}  // namespace
}  // namespace spectra::aws
