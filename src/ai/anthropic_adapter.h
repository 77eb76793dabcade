#pragma once
// ProviderAdapter for Anthropic's Messages API (POST /v1/messages,
// anthropic-version 2023-06-01).
//
// Translation contract, OpenAI chat-completions -> Anthropic:
//
//   system / developer messages   -> top-level `system` (a string when there is
//                                    exactly one plain-text system message,
//                                    otherwise an array of text blocks)
//   user / assistant content      -> text blocks; image_url parts -> image blocks
//                                    (data: URLs -> base64 source, http(s) -> url
//                                    source); file parts with a PDF data: URL ->
//                                    document blocks
//   assistant tool_calls          -> tool_use blocks (arguments parsed into `input`)
//   tool messages                 -> tool_result blocks in a user turn
//   consecutive same-role turns   -> merged into one turn (Anthropic alternates
//                                    roles); inside a user turn, tool_result
//                                    blocks are moved first as Anthropic requires
//   tools / tool_choice           -> tools{name, description, input_schema} /
//                                    {type: auto|none|any|tool, name}
//   parallel_tool_calls: false    -> tool_choice.disable_parallel_tool_use: true
//   max_completion_tokens,
//   max_tokens                    -> max_tokens (AnthropicOptions::default_max_tokens
//                                    when absent, since Anthropic requires it)
//   temperature                   -> temperature, clamped to Anthropic's [0, 1]
//                                    (OpenAI allows up to 2; clamping keeps OpenAI
//                                    clients working rather than failing upstream)
//   top_p, top_k, stop            -> top_p, top_k, stop_sequences
//   user                          -> metadata.user_id
//   response_format json_object /
//   json_schema                   -> emulated: an extra system text block that
//                                    instructs the model to answer with JSON only
//                                    (and, for json_schema, gives the schema). We
//                                    chose this over forcing a tool call because
//                                    it leaves the caller's own tools and
//                                    tool_choice untouched and the answer arrives
//                                    as ordinary content, streamed or not. It is
//                                    an instruction, not a guarantee.
//   `cache_control` on content parts, system parts and tools is passed through
//   (Anthropic prompt caching) for clients that send it.
//   reasoning_effort              -> thinking {type: enabled, budget_tokens}:
//                                    minimal/low 1,024, medium 2,048, high 4,096
//                                    (none: off); Anthropic's own `thinking`
//                                    object is taken as is. max_tokens must
//                                    exceed the budget (without one: the default
//                                    plus the budget); temperature other than 1,
//                                    top_k, top_p below 0.95 and a forced tool
//                                    are refused with thinking on, as Anthropic
//                                    (and OpenAI for its reasoning models) do.
//   assistant thinking_blocks     -> thinking / redacted_thinking blocks first in
//                                    the turn (with thinking on; signatures as
//                                    returned), as tool use with thinking needs
//
// Refused with kInvalidArgument (the core answers 400 invalid_request_error):
// n > 1, logprobs, top_logprobs, audio output, the legacy functions /
// function_call / role "function", input_audio parts, file_id references.
// Ignored because Anthropic has no equivalent and they do not change the shape
// of the answer: presence_penalty, frequency_penalty, logit_bias, seed, store,
// service_tier, OpenAI `metadata`, prediction, stream_options (the core owns
// include_usage).
//
// Anthropic -> OpenAI: stop_reason end_turn/stop_sequence/pause_turn -> stop,
// max_tokens -> length, tool_use -> tool_calls, refusal -> content_filter.
// Usage: prompt = input + cache_read + cache_creation input tokens, completion =
// output tokens (thinking included), cached = cache_read input tokens.
// Thinking: its text as message.reasoning_content (delta.reasoning_content as
// it streams; the de-facto field of DeepSeek, vLLM and LiteLLM) and each
// block whole and signed in message.thinking_blocks (in a stream, one delta
// when the block ends), for the client to send back. Unknown block/event
// types are skipped (Anthropic's versioning policy adds new ones).
#include <cstdint>

#include "ai/adapter.h"

namespace spectra::ai {

struct AnthropicOptions {
  std::int64_t default_max_tokens = 4096;  // Anthropic requires max_tokens
  std::string api_version = "2023-06-01";
  std::string default_base_url = "https://api.anthropic.com";  // when the target has none
};

class AnthropicAdapter final : public ProviderAdapter {
 public:
  explicit AnthropicAdapter(AnthropicOptions options = {}) : options_(std::move(options)) {}

  Result<UpstreamRequest> build_chat(const bj::object& request, const ModelTarget& target,
                                     bool stream) const override;
  // The returned chat.completion carries Anthropic's message id and `created: 0`:
  // adapters have no clock, so the core stamps `created` (and may replace `id`).
  Result<bj::object> parse_chat(unsigned http_status, std::string_view body,
                                const ModelTarget& target, Usage* usage,
                                UpstreamError* error) const override;
  std::unique_ptr<StreamTranslator> stream_translator(const ModelTarget& target,
                                                      std::string request_id,
                                                      std::int64_t created) const override;
  UpstreamError parse_error(unsigned http_status, std::string_view body) const override;
  // <base>/v1<path> with anthropic-version (the Messages API relayed as is).
  Result<UpstreamRequest> native_request(const ModelTarget& target, std::string_view path) const override;
  // POST /v1/messages/count_tokens with the Messages request build_chat
  // makes, cut to what count_tokens takes (model, messages, system, tools,
  // tool_choice); its answer is {"input_tokens": n}.
  Result<UpstreamRequest> build_count_tokens(const bj::object& request, const ModelTarget& target) const override;
  Result<std::int64_t> parse_count_tokens(std::string_view body) const override;

  const AnthropicOptions& options() const { return options_; }

 private:
  // The Messages request body for a chat request (build_chat's and
  // build_count_tokens' start).
  Result<bj::object> messages_body(const bj::object& request, const ModelTarget& target, bool stream) const;

  AnthropicOptions options_;
};

}  // namespace spectra::ai
