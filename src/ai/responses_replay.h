#pragma once
// A whole Responses API answer (the `response` object) replayed as the
// typed event stream OpenAI sends for it, so that an answer from the exact
// cache or a kept one can be streamed: response.created and
// response.in_progress; per output item output_item.added, then for a
// reasoning item each summary part (reasoning_summary_part.added, one
// reasoning_summary_text.delta, .done, reasoning_summary_part.done), for a
// message each part (content_part.added; one output_text.delta with the
// whole text and output_text.done, or refusal.delta and refusal.done;
// content_part.done), for a function call function_call_arguments.delta
// and .done; output_item.done; and the
// answer in response.completed, response.incomplete or response.failed
// as its status says. sequence_number counts from 0; events numbered up
// to starting_after are left out (a client resuming a retrieved stream);
// there is no [DONE]. Pure.
#include <boost/json/object.hpp>

#include <cstdint>
#include <string>

namespace spectra::ai {

std::string responses_events(const boost::json::object& response, std::int64_t starting_after = -1);

}  // namespace spectra::ai
