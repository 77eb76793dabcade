#pragma once
// The chat API's reasoning parameters for Claude (from Anthropic or on
// Bedrock): OpenAI's reasoning_effort, or Anthropic's own `thinking` and
// `output_config` objects for clients that send them (and for requests
// translated from Anthropic's Messages API). Pure.
//
// Claude thinks in one of two ways, by model generation: on a token budget
// (`{"type":"enabled","budget_tokens":n}`; Claude 3.7 to 4.5) or
// adaptively, deciding itself how much to think, guided by an effort level
// (`{"type":"adaptive"}` with `output_config.effort`; Claude 4.6 and later,
// where 4.7 and later refuse a budget). reasoning_effort is mapped to the
// one the model takes; a `thinking` object is taken as the client sent it.
#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace spectra::ai::reasoning {

namespace bj = boost::json;

// What a request asks of a model that thinks.
struct Thinking {
  std::int64_t budget = 0;  // > 0: extended thinking on this many tokens
  bool adaptive = false;    // the model decides how much to think
  std::string display;      // adaptive: "summarized" or "omitted"; empty: the model's default
  std::string effort;       // output_config.effort: low, medium, high or max; empty: none asked

  bool on() const { return budget > 0 || adaptive; }
  // Anthropic's `thinking` object for it (when on()).
  bj::object object() const;
};

// True for a Claude model id (Anthropic's "claude-opus-4-7", Bedrock's
// "us.anthropic.claude-sonnet-4-6-v1:0") that thinks adaptively: version
// 4.6 or later, or a name without a version the gateway can read (newer
// model names). False for 3.x and 4.0 to 4.5.
bool thinks_adaptively(std::string_view model_id);

// The request's thinking for `model_id`: `thinking` {"type":"enabled",
// "budget_tokens": n >= 1024}, {"type":"adaptive"[, "display"]} or
// {"type":"disabled"} as sent; else reasoning_effort — adaptive at that
// effort (minimal and low: low, xhigh: max) on models that think
// adaptively, a budget on the others (minimal and low 1,024 tokens, medium
// 2,048, high 4,096, xhigh 8,192); none: off. `output_config.effort` (low, medium, high, max) is taken as
// sent and wins over reasoning_effort. Fails (kInvalidArgument) naming the
// parameter.
Result<Thinking> thinking(const bj::object& request, std::string_view model_id);

// With thinking on, what these models refuse, refused naming the client's
// parameter (as OpenAI refuses sampling for its reasoning models):
// temperature other than 1, top_k, top_p below 0.95, a forced tool.
Status thinking_conflicts(const bj::object& request);

// The output limit to send with thinking on: OpenAI's max_completion_tokens
// (or max_tokens) counts reasoning as these models' limit counts thinking,
// so on a budget the client's must exceed it; without one, `fallback` is
// for the answer and the budget (adaptive: 12,288 tokens) comes on top.
Result<std::int64_t> max_tokens_with_thinking(const bj::object& request, const Thinking& thinking,
                                              std::int64_t fallback);

// Upstreams that speak OpenAI's chat API (kind "openai" or "vllm"), for a
// request translated from Anthropic's Messages API whose `thinking` they
// cannot take: whether `model_id` takes reasoning_effort instead — by name
// on OpenAI's API (o1 but not o1-mini or o1-preview, o3, o4, gpt-5 but not
// its chat models, gpt-oss), every model on vLLM (the server takes the
// field; a chat template that knows it uses it).
bool takes_reasoning_effort(std::string_view kind, std::string_view model_id);

// That request's `thinking` as reasoning_effort: a budget of up to 4,096
// tokens low, up to 16,384 medium, more high; adaptive at its
// output_config.effort (max: high; none asked: empty, the model's default);
// disabled, absent or malformed: empty.
std::string reasoning_effort_for(const bj::object& request);

// Whether a request asks for thinking at all: `thinking` of type enabled
// or adaptive (true) or disabled (false); else reasoning_effort "none"
// (false) or any other effort (true); neither: no answer (the model's
// default).
std::optional<bool> wants_thinking(const bj::object& request);

// For a vLLM model whose chat template turns thinking on and off with a
// boolean keyword (Qwen3's enable_thinking, say): `request` with
// chat_template_kwargs[kwarg] = on, unless the client set that keyword
// itself. False, `request` untouched, when it did or when chat_template_kwargs
// is not an object.
bool switch_template_thinking(bj::object& request, std::string_view kwarg, bool on);

}  // namespace spectra::ai::reasoning
