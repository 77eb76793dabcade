#pragma once
// The API a client of the chat pipeline speaks. A chat request is served as
// it came; a Messages (Anthropic) or Responses (OpenAI) request for a model
// that does not speak it natively is translated into a chat request, and
// its answer — whole, streamed, or replayed from the cache — is written back
// in the client's API by that dialect's writer.
#include <boost/json/object.hpp>

#include <string>
#include <string_view>

#include "ai/adapter.h"

namespace spectra::ai {

enum class Dialect { chat, messages, responses };

// Chat completion chunks, in order, as a dialect's event stream.
class DialectStream {
 public:
  virtual ~DialectStream() = default;
  // The events for one chunk (the stream's opening events before the first).
  virtual std::string chunk(const boost::json::object& chunk) = 0;
  // The closing events, with the upstream's usage.
  virtual std::string end(const Usage& usage) = 0;
  // Ends a stream that failed after its first byte, in the dialect's terms.
  virtual std::string error(std::string_view message) = 0;
};

}  // namespace spectra::ai
