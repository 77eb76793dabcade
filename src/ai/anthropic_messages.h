#pragma once
// OpenAI chat `messages` -> Anthropic `system` + alternating `messages`.
// Pure functions; the contract table is in ai/anthropic_adapter.h.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <string_view>

#include "common/result.h"

namespace spectra::ai::anthropic {

namespace bj = boost::json;

struct TranslatedMessages {
  bj::array system;    // text blocks from system/developer messages, in order
  bj::array messages;  // {role, content} turns, roles alternating user/assistant
};

// Fails with kInvalidArgument naming the offending field, e.g.
// "messages[3].tool_calls[0].function.arguments: invalid JSON ...".
// `thinking`: an assistant message's thinking_blocks (the model's signed
// thinking, as the gateway returned it) go first in its turn, as Anthropic
// requires with thinking on; without it they are left out.
Result<TranslatedMessages> translate_messages(const bj::array& messages, bool thinking = false);

// One OpenAI content part (text, image_url, file) -> one Anthropic block.
// `where` names the part in error messages.
Result<bj::object> translate_content_part(const bj::object& part, std::string_view where);

// Parses an RFC 2397 `data:` URL of the form data:<media>;base64,<data>.
struct DataUrl {
  std::string_view media_type;
  std::string_view data;
};
bool parse_data_url(std::string_view url, DataUrl* out);

}  // namespace spectra::ai::anthropic
