#pragma once
// Amazon Bedrock provider: the Converse / ConverseStream APIs behind the
// gateway's OpenAI chat-completions surface, and Titan text embeddings
// through InvokeModel (see bedrock_embeddings.h).
//
// Pure like every adapter (adapter.h): the request is built unsigned; the
// gateway core signs it with ai::bedrock::sign_upstream_request
// (bedrock_sign.h) using credentials from aws::CredentialsProvider.
//
// Translation contract (OpenAI -> Converse), decided here once:
// - system/developer messages -> `system` text blocks, in order.
// - user content: text parts -> {text}; image_url parts must be data: URLs
//   (base64) -> {image:{format, source:{bytes}}}. Remote image URLs are
//   refused: an adapter does no I/O and Bedrock does not fetch them.
// - assistant tool_calls -> {toolUse:{toolUseId, name, input}} (arguments
//   must be JSON; "" counts as {}).
// - tool messages -> a user turn of {toolResult:{toolUseId, content:[{text}]}}.
//   Text, not {json}: every Bedrock model accepts text results, and the
//   string the client sent reaches the model unchanged.
// - consecutive turns of one role are merged (Bedrock requires alternation);
//   empty text blocks are dropped (Bedrock rejects blank text).
// - max_completion_tokens | max_tokens -> maxTokens, temperature, top_p ->
//   topP, stop -> stopSequences. n > 1 is refused. Parameters Converse has
//   no field for (seed, penalties, logprobs, logit_bias, user) are dropped.
// - reasoning_effort (or Anthropic's `thinking` object) on a Claude model ->
//   additionalModelRequestFields.thinking {type: enabled, budget_tokens}, as
//   on Anthropic (reasoning.h: budgets, max tokens, refused conflicts);
//   assistant thinking_blocks -> reasoningContent blocks first in the turn.
//   Answers: reasoningContent -> message.reasoning_content and, signed,
//   thinking_blocks (streamed: reasoning_content deltas, the block whole at
//   its contentBlockStop). On Nova 2, reasoning_effort -> reasoningConfig
//   (reasons_at_an_effort). Other models' reasoning is not mapped.
// - response_format json_object/json_schema -> an extra system instruction
//   (Converse has no JSON mode; this is best effort, stated in the docs).
// - tools -> toolConfig.tools[].toolSpec; tool_choice auto -> {auto:{}},
//   required -> {any:{}}, {function:{name}} -> {tool:{name}}; none -> no
//   toolConfig unless the history holds tool blocks (Bedrock then requires
//   one), in which case the tools are kept without a toolChoice.
//   If the history uses tools but the request lists none, a permissive
//   toolSpec is synthesised for each tool name used, for the same reason.
//
// Usage: Bedrock's inputTokens excludes prompt-cache reads and writes, so
// prompt_tokens = inputTokens + cacheReadInputTokens + cacheWriteInputTokens
// and cached_prompt_tokens = cacheReadInputTokens (OpenAI's meaning).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ai/adapter.h"

namespace spectra::ai {

class BedrockAdapter final : public ProviderAdapter {
 public:
  Result<UpstreamRequest> build_chat(const bj::object& request, const ModelTarget& target,
                                     bool stream) const override;

  // The chat.completion carries `id` = "chatcmpl-" + a digest of the body and
  // `created` = 0: the adapter has no clock and Converse returns no id, so
  // the core overwrites both with its request id and time.
  Result<bj::object> parse_chat(unsigned http_status, std::string_view body,
                                const ModelTarget& target, Usage* usage,
                                UpstreamError* error) const override;

  // Decodes application/vnd.amazon.eventstream (both CRCs checked). Emits a
  // role chunk at messageStart, content / tool_calls deltas, a finish chunk
  // at messageStop and, at the metadata event, a usage chunk with
  // `choices: []` (OpenAI's include_usage shape; the core drops it when the
  // client did not ask). done() turns true at metadata, the last event.
  // finish() fails if the stream ended before messageStop or mid-frame.
  std::unique_ptr<StreamTranslator> stream_translator(const ModelTarget& target,
                                                      std::string request_id,
                                                      std::int64_t created) const override;

  // Bedrock error bodies are {"message": "..."} (some services send
  // "Message"); the status alone picks the OpenAI type (the exception name is
  // only in a header the adapter does not see).
  UpstreamError parse_error(unsigned http_status, std::string_view body) const override;

  // CountTokens: POST /model/{modelId}/count-tokens with the Converse
  // request build_chat makes, cut to what it takes ({"input": {"converse":
  // {messages, system, toolConfig}}}); its answer is {"inputTokens": n}.
  // Bedrock counts for some models only (Claude by its bare model id;
  // not Nova, not inference profiles): the others answer 400.
  Result<UpstreamRequest> build_count_tokens(const bj::object& request, const ModelTarget& target) const override;
  Result<std::int64_t> parse_count_tokens(std::string_view body) const override;

  // Titan text embeddings through InvokeModel: one call per input text
  // (bedrock_embeddings.h), assembled into one OpenAI response.
  Result<std::vector<UpstreamRequest>> build_embeddings(const bj::object& request,
                                                        const ModelTarget& target) const override;
  Result<bj::object> parse_embeddings(const std::vector<std::pair<unsigned, std::string>>& answers,
                                      const bj::object& request, std::string_view model, Usage* usage,
                                      UpstreamError* error) const override;
};

namespace bedrock {

// scheme://host of the runtime endpoint: target.base_url (trailing '/'
// removed) when set, else https://bedrock-runtime.{region}.amazonaws.com.
Result<std::string> endpoint(const ModelTarget& target);

// "/model/{modelId}/{action}" with the model id percent-encoded once (':' and
// '/' included, as the REST binding of a path label requires).
std::string model_path(std::string_view model_id, std::string_view action);

// The Converse request body for an OpenAI chat request (exposed for
// tests). For Claude, reasoning_effort / thinking / output_config become
// additionalModelRequestFields.thinking and .output_config, as on
// Anthropic's API (reasoning.h), and assistant thinking_blocks
// reasoningContent blocks; the request's anthropic_beta flags that are in
// `betas` (the operator's list for the model) go in
// additionalModelRequestFields.anthropic_beta.
Result<bj::object> converse_body(const bj::object& request, std::string_view model_id = {},
                                 const std::vector<std::string>& betas = {});

// True for a Bedrock model id of Claude (bare or an inference profile).
bool is_claude(std::string_view model_id);
// True for a Nova 2 model id: reasoning_effort (minimal/low -> low, medium,
// high) becomes additionalModelRequestFields.reasoningConfig
// {type: enabled, maxReasoningEffort}; its (redacted) reasoningContent
// comes back as Claude's does, and is not sent back.
bool reasons_at_an_effort(std::string_view model_id);

// maxTokens sent with thinking on when the client gave no limit, on top of
// the budget.
inline constexpr std::int64_t kDefaultAnswerTokens = 4096;

// OpenAI finish_reason for a Converse stopReason.
std::string finish_reason(std::string_view stop_reason);

}  // namespace bedrock
}  // namespace spectra::ai
