#include "ai/cached_answer.h"

#include <charconv>

namespace spectra::ai {

namespace {
constexpr std::string_view kAnswerTag = "a1 ";

bool read_count(std::string_view& in, char end, std::int64_t& out) {
  auto stop = in.find(end);
  if (stop == std::string_view::npos || stop == 0 || stop > 19) return false;
  auto r = std::from_chars(in.data(), in.data() + stop, out);
  if (r.ec != std::errc() || r.ptr != in.data() + stop || out < 0) return false;
  in.remove_prefix(stop + 1);
  return true;
}
}  // namespace

std::string encode_cached_answer(const Usage& u, std::string_view json) {
  std::string out;
  out.reserve(json.size() + 48);
  out += kAnswerTag;
  out += std::to_string(u.prompt_tokens);
  out += ' ';
  out += std::to_string(u.completion_tokens);
  out += ' ';
  out += std::to_string(u.cached_prompt_tokens);
  if (u.cache_write_tokens > 0) {
    out += ' ';
    out += std::to_string(u.cache_write_tokens);
  }
  out += '\n';
  out += json;
  return out;
}

std::optional<CachedAnswer> decode_cached_answer(std::string_view in) {
  if (in.substr(0, kAnswerTag.size()) != kAnswerTag) return std::nullopt;
  in.remove_prefix(kAnswerTag.size());
  CachedAnswer a;
  if (!read_count(in, ' ', a.usage.prompt_tokens) || !read_count(in, ' ', a.usage.completion_tokens)) return std::nullopt;
  // The cache reads end the line, or the writes follow them.
  const std::size_t space = in.find(' '), eol = in.find('\n');
  const bool writes = space < eol;
  if (!read_count(in, writes ? ' ' : '\n', a.usage.cached_prompt_tokens) ||
      (writes && !read_count(in, '\n', a.usage.cache_write_tokens)) || in.empty()) {
    return std::nullopt;
  }
  a.usage.reported = true;
  a.json = in;
  return a;
}

}  // namespace spectra::ai
