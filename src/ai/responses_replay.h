#pragma once
// A whole Responses API answer (the `response` object) replayed as the
// typed event stream OpenAI sends for it, so that an answer from the exact
// cache can be streamed: response.created and response.in_progress; per
// output item output_item.added, then for a message each output_text part
// (content_part.added, one output_text.delta with the whole text,
// output_text.done, content_part.done), for a function call
// function_call_arguments.delta and .done; output_item.done; and
// response.completed with the answer. sequence_number counts from 0; there
// is no [DONE]. Pure.
#include <boost/json/object.hpp>

#include <string>

namespace spectra::ai {

std::string responses_events(const boost::json::object& response);

}  // namespace spectra::ai
