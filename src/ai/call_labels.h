#pragma once
// Who and what a call is for, as the client labels it, for the audit
// record: the end user its body names, and the metadata of its
// x-spectra-metadata header (an application, a feature, a cost centre).
// Chargeback and abuse investigations run over the audit log; these put
// the application's own names on each line. Pure.
#include <boost/json/object.hpp>

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace spectra::ai {

inline constexpr std::size_t kMaxEndUserBytes = 256;
inline constexpr std::size_t kMaxMetadataEntries = 16;
inline constexpr std::size_t kMaxMetadataKeyBytes = 64;
inline constexpr std::size_t kMaxMetadataValueBytes = 256;

// The end user a request body names: its safety_identifier or user
// (OpenAI's chat, completions, embeddings, Responses), or metadata.user_id
// (Anthropic's Messages), the first that is a non-empty string; at most
// kMaxEndUserBytes of it, cut before a character that would not fit. "" if
// none.
std::string end_user_of(const boost::json::object& body);

// The x-spectra-metadata header: a JSON object of at most
// kMaxMetadataEntries string values, keys of 1..kMaxMetadataKeyBytes and
// values of at most kMaxMetadataValueBytes. Its compact JSON, or an error
// naming what is wrong. An absent (empty) header gives "".
Result<std::string> metadata_of_header(std::string_view header);

}  // namespace spectra::ai
