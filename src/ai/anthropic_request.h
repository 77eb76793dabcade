#pragma once
// OpenAI chat-completions request -> Anthropic Messages request body.
// Pure; the contract table is in ai/anthropic_adapter.h.
#include <boost/json/object.hpp>
#include <cstdint>
#include <string>

#include "common/result.h"

namespace spectra::ai::anthropic {

namespace bj = boost::json;

struct RequestOptions {
  std::string model;  // the upstream model id
  std::string base_model;  // the model it runs, if its id names none (thinking's rules); empty: model
  bool stream = false;
  std::int64_t default_max_tokens = 4096;
};

// Fails with kInvalidArgument naming the offending parameter.
Result<bj::object> translate_request(const bj::object& request, const RequestOptions& options);

// The system instruction that emulates `response_format` (empty for "text").
Result<std::string> response_format_instruction(const bj::value& response_format);

}  // namespace spectra::ai::anthropic
