// Runs every case of the aws-c-auth SigV4 suite kept in
// shared/testdata/aws-sigv4 (read in place, never copied into the repo), in both
// signing styles: Authorization header and presigned query string.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "aws/sigv4.h"
#include "aws/sigv4_canonical.h"
#include "common/file_util.h"
#include "common/json_util.h"

namespace spectra::aws::sigv4 {
namespace {

namespace stdfs = std::filesystem;

const stdfs::path kSuiteDir = stdfs::path(SPECTRA_SOURCE_DIR) / ".." / "shared" / "testdata" /
                              "aws-sigv4";

// The suite has 38 cases; a smaller count means the data went missing.
constexpr std::size_t kMinCases = 38;

struct HttpText {
  SigningRequest request;
  std::string body;  // request.body points here
};

// Parses the suite's request.txt / *-signed-request.txt: request line, headers
// (a line starting with whitespace continues the previous header, as obs-fold),
// blank line, body.
bool parse_http(const std::string& text, HttpText* out) {
  const std::size_t blank = text.find("\n\n");
  const std::string head = text.substr(0, blank);
  out->body = blank == std::string::npos ? "" : text.substr(blank + 2);
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < head.size()) {
    std::size_t nl = head.find('\n', pos);
    if (nl == std::string::npos) nl = head.size();
    lines.push_back(head.substr(pos, nl - pos));
    pos = nl + 1;
  }
  if (lines.empty()) return false;
  // The target may contain spaces ("/example space/"): method is before the
  // first space, the version after the last.
  const std::string& rl = lines[0];
  const std::size_t sp1 = rl.find(' ');
  const std::size_t sp2 = rl.rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1) return false;
  SigningRequest& r = out->request;
  r.method = rl.substr(0, sp1);
  const std::string target = rl.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::size_t q = target.find('?');
  r.path = target.substr(0, q);
  r.query = q == std::string::npos ? "" : target.substr(q + 1);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      if (r.headers.empty()) return false;
      r.headers.back().value.append(" ").append(line);
      continue;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) return false;
    r.headers.push_back({line.substr(0, colon), line.substr(colon + 1)});
  }
  r.body = out->body;
  return true;
}

std::chrono::system_clock::time_point parse_timestamp(const std::string& s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  EXPECT_EQ(std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%dZ", &y, &mo, &d, &h, &mi, &sec), 6) << s;
  using namespace std::chrono;
  const sys_days day{year{y} / month{static_cast<unsigned>(mo)} / static_cast<unsigned>(d)};
  return day + hours{h} + minutes{mi} + seconds{sec};
}

using HeaderList = std::vector<std::pair<std::string, std::string>>;

HeaderList normalized(const std::vector<Header>& headers) {
  HeaderList out;
  for (const Header& h : headers) out.emplace_back(lower_ascii(h.name), trim_header_value(h.value));
  std::sort(out.begin(), out.end());
  return out;
}

QueryParams sorted_params(const std::string& query) {
  QueryParams p = parse_query(query);
  std::sort(p.begin(), p.end());
  return p;
}

// Reads every file of one case; false (with a test failure) if any is missing.
bool load_case(const stdfs::path& dir, std::map<std::string, std::string>* files) {
  static const char* const kFiles[] = {
      "context.json",           "request.txt",
      "header-canonical-request.txt", "header-string-to-sign.txt",
      "header-signature.txt",   "header-signed-request.txt",
      "query-canonical-request.txt",  "query-string-to-sign.txt",
      "query-signature.txt",    "query-signed-request.txt"};
  for (const char* name : kFiles) {
    auto text = fs::read_file((dir / name).string());
    if (!text.ok()) {
      ADD_FAILURE() << dir.filename() << ": cannot read " << name << ": "
                    << text.status().to_string();
      return false;
    }
    (*files)[name] = std::move(*text);
  }
  return true;
}

std::string trim_newlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// Checks one case; returns true only if every comparison was made.
bool run_case(const stdfs::path& dir) {
  std::map<std::string, std::string> f;
  if (!load_case(dir, &f)) return false;
  auto ctx = json::parse(f["context.json"]);
  if (!ctx.ok()) {
    ADD_FAILURE() << "context.json: " << ctx.status().to_string();
    return false;
  }
  const auto& c = ctx->as_object();
  const auto& cred = c.at("credentials").as_object();
  Credentials credentials;
  credentials.access_key_id = cred.at("access_key_id").as_string().c_str();
  credentials.secret_access_key = cred.at("secret_access_key").as_string().c_str();
  if (const auto* t = cred.if_contains("token")) credentials.session_token = t->as_string().c_str();

  SigningParams params;
  params.region = c.at("region").as_string().c_str();
  params.service = c.at("service").as_string().c_str();
  params.time = parse_timestamp(c.at("timestamp").as_string().c_str());
  params.normalize_path = c.at("normalize").as_bool();
  params.add_content_sha256_header = c.at("sign_body").as_bool();
  if (const auto* o = c.if_contains("omit_session_token")) {
    params.sign_session_token = !o->as_bool();
  }
  const auto expires = std::chrono::seconds(c.at("expiration_in_seconds").to_number<int>());

  HttpText in;
  if (!parse_http(f["request.txt"], &in)) {
    ADD_FAILURE() << "cannot parse request.txt";
    return false;
  }

  // Header signing.
  auto signed_req = sign(in.request, credentials, params);
  if (!signed_req.ok()) {
    ADD_FAILURE() << "sign: " << signed_req.status().to_string();
    return false;
  }
  EXPECT_EQ(signed_req->canonical_request, f["header-canonical-request.txt"]);
  EXPECT_EQ(signed_req->string_to_sign, f["header-string-to-sign.txt"]);
  EXPECT_EQ(signed_req->signature, trim_newlines(f["header-signature.txt"]));
  HttpText expected_out;
  if (!parse_http(f["header-signed-request.txt"], &expected_out)) {
    ADD_FAILURE() << "cannot parse header-signed-request.txt";
    return false;
  }
  std::string expected_authz;
  for (const Header& h : expected_out.request.headers) {
    if (lower_ascii(h.name) == "authorization") expected_authz = h.value;
  }
  EXPECT_FALSE(expected_authz.empty());
  EXPECT_EQ(signed_req->authorization, expected_authz);
  std::vector<Header> sent = in.request.headers;
  sent.insert(sent.end(), signed_req->headers.begin(), signed_req->headers.end());
  EXPECT_EQ(normalized(sent), normalized(expected_out.request.headers));

  // Query signing (presigned URL).
  auto presigned = presign(in.request, credentials, params, expires);
  if (!presigned.ok()) {
    ADD_FAILURE() << "presign: " << presigned.status().to_string();
    return false;
  }
  EXPECT_EQ(presigned->canonical_request, f["query-canonical-request.txt"]);
  EXPECT_EQ(presigned->string_to_sign, f["query-string-to-sign.txt"]);
  EXPECT_EQ(presigned->signature, trim_newlines(f["query-signature.txt"]));
  HttpText expected_url;
  if (!parse_http(f["query-signed-request.txt"], &expected_url)) {
    ADD_FAILURE() << "cannot parse query-signed-request.txt";
    return false;
  }
  EXPECT_EQ(sorted_params(presigned->query), sorted_params(expected_url.request.query));
  return true;
}

TEST(SigV4Suite, EveryCaseMatches) {
  ASSERT_TRUE(stdfs::is_directory(kSuiteDir)) << kSuiteDir;
  std::vector<stdfs::path> cases;
  for (const auto& entry : stdfs::directory_iterator(kSuiteDir)) {
    if (entry.is_directory()) cases.push_back(entry.path());
  }
  std::sort(cases.begin(), cases.end());
  ASSERT_GE(cases.size(), kMinCases);

  std::size_t checked = 0;
  for (const auto& dir : cases) {
    SCOPED_TRACE(dir.filename().string());
    if (run_case(dir)) ++checked;
  }
  // Every folder must have been compared in full; none may be skipped.
  EXPECT_EQ(checked, cases.size());
}

}  // namespace
}  // namespace spectra::aws::sigv4
