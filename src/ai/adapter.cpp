#include "ai/adapter.h"

namespace spectra::ai {

bj::object UpstreamError::to_openai() const {
  bj::object err{{"message", message}, {"type", type.empty() ? "api_error" : type}, {"param", nullptr}};
  if (code.empty()) err["code"] = nullptr;
  else err["code"] = code;
  return bj::object{{"error", std::move(err)}};
}

}  // namespace spectra::ai
