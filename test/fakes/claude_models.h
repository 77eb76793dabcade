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

// The context window of Claude models, in tokens (the fakes count words),
// and the one the 1M-context beta opens.
inline constexpr long long kClaudeContextWindow = 200000;
inline constexpr long long kClaudeLongContextWindow = 1000000;
inline constexpr std::string_view kContext1m = "context-1m-2025-08-07";

// Whether Bedrock takes an anthropic_beta flag for a Claude model (it
// refuses the whole request over one it does not: "invalid beta flag"):
// interleaved thinking on Claude 4 and later, the 1M context on Sonnet 4
// and later.
inline bool takes_beta(std::string_view model, std::string_view flag) {
  const bool claude4 = model.find("claude-opus-4") != std::string_view::npos ||
                       model.find("claude-sonnet-4") != std::string_view::npos ||
                       model.find("claude-haiku-4") != std::string_view::npos;
  if (flag == "interleaved-thinking-2025-05-14") return claude4;
  if (flag == kContext1m) return model.find("claude-sonnet-4") != std::string_view::npos;
  return false;
}

}  // namespace spectra::fakes
