#pragma once
// The chat API's reasoning parameters for models that think on a token
// budget (Claude, from Anthropic or on Bedrock): OpenAI's reasoning_effort,
// or Anthropic's own `thinking` object for clients that send it. Pure.
#include <boost/json/object.hpp>

#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace spectra::ai::reasoning {

namespace bj = boost::json;

// The thinking budget asked for, 0 for none: `thinking` {"type":"enabled",
// "budget_tokens": n >= 1024} (or "disabled"), else reasoning_effort
// (minimal and low 1,024 tokens, medium 2,048, high 4,096; none: 0).
// Fails (kInvalidArgument) naming the parameter.
Result<std::int64_t> thinking_budget(const bj::object& request);

// With thinking on, what these models refuse, refused naming the client's
// parameter (as OpenAI refuses sampling for its reasoning models):
// temperature other than 1, top_k, top_p below 0.95, a forced tool.
Status thinking_conflicts(const bj::object& request);

// The output limit to send with thinking on: OpenAI's max_completion_tokens
// (or max_tokens) counts reasoning as these models' limit counts thinking,
// so the client's must exceed the budget; without one, `fallback` is for
// the answer and the budget comes on top.
Result<std::int64_t> max_tokens_with_thinking(const bj::object& request, std::int64_t budget, std::int64_t fallback);

}  // namespace spectra::ai::reasoning
