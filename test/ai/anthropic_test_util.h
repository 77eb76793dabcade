#pragma once
// Shared helpers for the Anthropic adapter tests.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "ai/anthropic_adapter.h"

namespace spectra::ai::testing {

inline std::string read_testdata(const std::string& name) {
  std::ifstream in(std::string(SPECTRA_SOURCE_DIR) + "/test/ai/testdata/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing test/ai/testdata/" << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bj::object obj(std::string_view json) { return bj::parse(json).as_object(); }

inline ModelTarget target() {
  ModelTarget t;
  t.provider = "anthropic-test";
  t.kind = "anthropic";
  t.model = "claude-3-5-sonnet-20241022";
  t.base_url = "http://127.0.0.1:9999";
  return t;
}

// The Anthropic request body build_chat produces for `openai_request`.
inline bj::object anthropic_body(const std::string& openai_request, bool stream = false) {
  AnthropicAdapter a;
  auto r = a.build_chat(obj(openai_request), target(), stream);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  if (!r.ok()) return {};
  return bj::parse(r->body).as_object();
}

// The error message build_chat gives for `openai_request` ("" if it succeeds).
inline std::string build_error(const std::string& openai_request) {
  AnthropicAdapter a;
  auto r = a.build_chat(obj(openai_request), target(), false);
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  return r.status().message();
}

}  // namespace spectra::ai::testing
