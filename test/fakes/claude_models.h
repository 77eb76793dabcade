#pragma once
// What the fakes know of Claude's generations: the services' own rules, kept
// apart from the gateway's reading of model ids (ai/reasoning) so that the
// tests of that reading are not circular.
#include <string_view>

namespace spectra::fakes {

// How a Claude model thinks: 4.7 adaptively only (a budget is refused), 4.6
// either way, older ones on a budget only. By name, as Anthropic's API
// ("claude-opus-4-7") and Bedrock ("us.anthropic.claude-opus-4-7-v1:0")
// spell it.
enum class Thinks { budget, either, adaptive };
inline Thinks thinks_for(std::string_view model) {
  if (model.find("claude-opus-4-7") != std::string_view::npos) return Thinks::adaptive;
  if (model.find("claude-opus-4-6") != std::string_view::npos || model.find("claude-sonnet-4-6") != std::string_view::npos) {
    return Thinks::either;
  }
  return Thinks::budget;
}

}  // namespace spectra::fakes
