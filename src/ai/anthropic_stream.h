#pragma once
// Anthropic's streamed Messages answer (SSE: message_start,
// content_block_start/delta/stop, message_delta, message_stop, ping, error)
// -> OpenAI chat.completion.chunk objects.
//
// Chunks, in order: one with delta {role: assistant, content: ""} at
// message_start; delta.content per text_delta; per tool_use block one
// delta.tool_calls [{index, id, type, function {name, arguments: ""}}] then one
// per input_json_delta fragment; one with an empty delta and finish_reason at
// the first message_delta carrying a stop_reason (or at message_stop).
// usage() holds message_start's input (+ cache) tokens and the last reported
// output tokens; the core emits the usage chunk if the client asked for it.
//
// An `error` event, a protocol violation (bad JSON, events out of order, an
// SSE event over 4 MiB) or a stream that ends before message_stop is an error
// result with *error filled; errors are sticky. Unknown event, block and
// delta types are skipped. Bytes after message_stop are ignored.
#include <cstdint>
#include <memory>
#include <string>

#include "ai/adapter.h"

namespace spectra::ai::anthropic {

std::unique_ptr<StreamTranslator> make_stream_translator(std::string model, std::string request_id,
                                                         std::int64_t created);

}  // namespace spectra::ai::anthropic
