#pragma once
// What the fake Bedrock answers, as pure functions, so tests can compute the
// expected reply and usage for any request without a server.
//
// Rules (deterministic):
// - The request is validated the way Bedrock does: messages non-empty, first
//   turn from the user, roles alternating, no blank text, tool blocks only
//   with a toolConfig. Violations are ValidationException (400).
// - inputTokens = whitespace-separated words in every system and message text
//   and every toolResult text; outputTokens = words of the reply text, plus
//   words of the serialized tool input for a tool call.
// - Last user turn holds a toolResult: reply "Tool result received: <text>".
// - Else, with tools configured and "weather" (any case) in the last user
//   text: a short text block "Checking the weather." then a toolUse of the
//   first tool whose name contains "weather" (else the first tool), input
//   {"location": <last word of the text, punctuation stripped>}.
// - Else: "You said: <last user text>".
// - With additionalModelRequestFields.thinking enabled (Claude): the budget
//   must be >= 1024 and below maxTokens, temperature 1 if set, and the
//   assistant turn with tool calls must start with its reasoningContent,
//   whose signature is checked; the reply starts with a signed reasoning
//   block (streamed as reasoningContent text deltas, then the signature).
// - With additionalModelRequestFields.reasoningConfig (Nova 2): the effort
//   must be low, medium or high; the reply starts with a redacted reasoning
//   block ("[REDACTED]", unsigned), as Nova 2 Lite's.
// - stopSequences cut the reply before the first match (stop_sequence);
//   maxTokens truncates it to that many words (max_tokens).
#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "fakes/fake_bedrock.h"

namespace spectra::fakes {

namespace bj = boost::json;

struct BedrockReply {
  std::string text;  // may be empty for a bare tool call
  bool tool = false;
  std::string tool_use_id;
  std::string tool_name;
  bj::object tool_input;
  std::string stop_reason;  // end_turn | tool_use | max_tokens | stop_sequence
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  // With additionalModelRequestFields.thinking: "Thinking about: <last user
  // text or tool result>", first in the answer, signed; counted as output.
  std::string reasoning, reasoning_signature;
  // Prompt caching: for each cache point, a key of the prefix before it and
  // its input tokens (points before 1,024 tokens, Claude's minimum, are
  // left out: Bedrock caches nothing there).
  std::vector<std::pair<std::string, std::int64_t>> cache_prefixes;
  std::int64_t cache_read_tokens = 0, cache_write_tokens = 0;
  // With guardrailConfig.trace enabled: the guardrail's trace ({"guardrail":
  // {inputAssessment, outputAssessments, modelOutput}}), in Converse's
  // answer and ConverseStream's metadata event.
  bj::object trace;
};

// As Bedrock bills a request with cache points: the longest prefix already
// cached (`memory`, the server's, keyed with the model) is read, the rest up
// to the last point written and remembered; inputTokens keeps the rest.
void apply_prompt_cache(BedrockReply& reply, std::set<std::string>& memory, std::string_view model);

// The signature the fake gives a reasoning text (checked when sent back).
std::string reasoning_signature(std::string_view text);

// A ValidationException message, or the reply of `model` (a foundation
// model's id; an inference profile's is resolved first): Claude's thinking
// as each generation takes it (4.7 adaptive only, 4.6 either, older ones on
// a budget), and no `thinking` for any other model.
Result<BedrockReply> make_reply(const bj::object& converse_request, std::string_view model);

std::int64_t count_words(std::string_view text);

// A request's guardrailConfig, as Bedrock takes it (ConverseStream's with
// a streamProcessingMode, Converse's without): a ValidationException
// message for a malformed one or a guardrail the account does not have;
// else `reply` becomes the guardrail's answer when it intervenes, and with
// trace enabled gets the guardrail's trace: a blocked word as a
// wordPolicy.customWords match, and text units (one per 1,000 characters
// assessed, per policy, as Bedrock bills them) in invocationMetrics.
Status apply_guardrail(const bj::object& converse_request, bool stream,
                       const std::map<std::string, FakeBedrockOptions::Guardrail>& guardrails, BedrockReply& reply);

// The Converse (non-streamed) response body for a reply.
bj::object converse_response(const BedrockReply& reply);

// The ConverseStream events for a reply, in order: {event type, JSON payload}.
// Text is sent one word a delta; the tool input in three fragments.
struct StreamEvent {
  std::string type;
  std::string payload;
  bool is_delta = false;  // contentBlockDelta: what the fault counters count
};
std::vector<StreamEvent> stream_events(const BedrockReply& reply);

// A deterministic unit-length vector for Titan embeddings.
std::vector<double> titan_vector(std::string_view text, std::size_t dims);

}  // namespace spectra::fakes
