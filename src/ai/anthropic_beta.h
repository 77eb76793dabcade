#pragma once
// Anthropic's beta flags (the `anthropic-beta` header) on their way through
// the gateway. A Messages client's header travels in the chat request it is
// translated into, as `anthropic_beta` (an array of flags; a chat client may
// send the field itself). Anthropic gets the flags back as its header;
// Claude on Bedrock gets them in additionalModelRequestFields.anthropic_beta,
// only those the operator listed for the model (Bedrock refuses a whole
// request over one flag the model does not take); OpenAI-compatible
// upstreams get none. Pure: the flags reach an upstream's header, so they
// are checked here to be plain tokens.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace spectra::ai::anthropic_beta {

namespace bj = boost::json;

inline constexpr std::size_t kMaxFlags = 64;
inline constexpr std::size_t kMaxFlagBytes = 128;

// The flags of an anthropic-beta header: comma-separated, blanks around
// each trimmed, empty and repeated ones dropped, in the client's order. An
// error names what is wrong (too many, too long, not a plain token).
Result<bj::array> from_header(std::string_view header);

// The flags of a chat request's `anthropic_beta`: none when it is absent or
// null; an error unless it is an array of at most kMaxFlags plain tokens
// (letters, digits, '-', '_', '.') of at most kMaxFlagBytes each. The views
// point into `chat`.
Result<std::vector<std::string_view>> of(const bj::object& chat);

// The flags that are also in `allowed`, in the request's order, once each.
bj::array allowed_of(const std::vector<std::string_view>& flags, const std::vector<std::string>& allowed);

// The header value for `flags`: comma-separated.
std::string header_value(const std::vector<std::string_view>& flags);

}  // namespace spectra::ai::anthropic_beta
