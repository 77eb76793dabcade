#include "ai/cached_answer.h"

#include <charconv>

namespace spectra::ai {

namespace {
constexpr std::string_view kAnswerTag = "a1 ";

// A whole count: 1-19 digits, non-negative.
bool parse_count(std::string_view s, std::int64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && out >= 0;
}

// The count up to `end`, consumed with it.
bool read_count(std::string_view& in, char end, std::int64_t& out) {
  const auto stop = in.find(end);
  if (stop == std::string_view::npos || !parse_count(in.substr(0, stop), out)) return false;
  in.remove_prefix(stop + 1);
  return true;
}

constexpr std::string_view kFinishTag = "f:";

bool is_finish_word(std::string_view w) {
  if (w.empty() || w.size() > 32) return false;
  for (char ch : w) {
    if (!((ch >= 'a' && ch <= 'z') || ch == '_')) return false;
  }
  return true;
}

}  // namespace

std::string encode_cached_answer(const Usage& u, std::string_view json, std::string_view finish_reason) {
  std::string out;
  out.reserve(json.size() + 64);
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
  if (is_finish_word(finish_reason)) {
    out += ' ';
    out += kFinishTag;
    out += finish_reason;
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
  // The rest of the line: the cache reads, then the writes and the finish
  // reason if there are.
  const std::size_t eol = in.find('\n');
  if (eol == std::string_view::npos) return std::nullopt;
  std::string_view line = in.substr(0, eol);
  std::string_view finish;
  if (const std::size_t tag = line.rfind(" f:"); tag != std::string_view::npos) {
    finish = line.substr(tag + 3);
    if (!is_finish_word(finish)) return std::nullopt;
    line = line.substr(0, tag);
  }
  const std::size_t space = line.find(' ');
  if (!parse_count(line.substr(0, space), a.usage.cached_prompt_tokens) ||
      (space != std::string_view::npos && !parse_count(line.substr(space + 1), a.usage.cache_write_tokens))) {
    return std::nullopt;
  }
  in.remove_prefix(eol + 1);
  if (in.empty()) return std::nullopt;
  a.usage.reported = true;
  a.finish_reason = finish;
  a.json = in;
  return a;
}

}  // namespace spectra::ai
