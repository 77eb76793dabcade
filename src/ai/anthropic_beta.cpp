#include "ai/anthropic_beta.h"

#include <algorithm>

namespace spectra::ai::anthropic_beta {

namespace {

bool plain_token(std::string_view s) {
  if (s.empty() || s.size() > kMaxFlagBytes) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  });
}

// What each flag must be, after `where` (the header, or the chat field).
Status not_a_flag(std::string_view where) {
  return invalid_argument(std::string(where) + ": each flag is a name of at most " + std::to_string(kMaxFlagBytes) +
                          " letters, digits, '-', '_' or '.'");
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<bj::array> from_header(std::string_view header) {
  bj::array flags;
  std::size_t start = 0;
  while (start <= header.size()) {
    std::size_t comma = header.find(',', start);
    if (comma == std::string_view::npos) comma = header.size();
    const std::string_view flag = trimmed(header.substr(start, comma - start));
    start = comma + 1;
    if (flag.empty()) continue;
    if (!plain_token(flag)) return not_a_flag("anthropic-beta");
    if (std::find(flags.begin(), flags.end(), bj::value(flag)) != flags.end()) continue;
    if (flags.size() == kMaxFlags) return invalid_argument("anthropic-beta: at most " + std::to_string(kMaxFlags) + " flags");
    flags.emplace_back(flag);
  }
  return flags;
}

Result<std::vector<std::string_view>> of(const bj::object& chat) {
  std::vector<std::string_view> flags;
  const bj::value* v = chat.if_contains("anthropic_beta");
  if (!v || v->is_null()) return flags;
  const bj::array* a = v->if_array();
  if (!a || a->size() > kMaxFlags) {
    return invalid_argument("anthropic_beta must be an array of at most " + std::to_string(kMaxFlags) + " beta flags");
  }
  for (const bj::value& f : *a) {
    if (!f.is_string() || !plain_token(f.get_string())) return not_a_flag("anthropic_beta");
    flags.emplace_back(f.get_string());
  }
  return flags;
}

bj::array allowed_of(const std::vector<std::string_view>& flags, const std::vector<std::string>& allowed) {
  bj::array out;
  for (std::string_view f : flags) {
    if (std::find(allowed.begin(), allowed.end(), f) == allowed.end()) continue;
    if (std::find(out.begin(), out.end(), bj::value(f)) == out.end()) out.emplace_back(f);
  }
  return out;
}

std::string header_value(const std::vector<std::string_view>& flags) {
  std::string out;
  for (std::string_view f : flags) {
    if (!out.empty()) out.push_back(',');
    out.append(f);
  }
  return out;
}

}  // namespace spectra::ai::anthropic_beta
