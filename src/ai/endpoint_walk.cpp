#include "ai/endpoint_walk.h"

#include <algorithm>

#include "common/log.h"

namespace spectra::ai {

std::string origin_url(std::string_view endpoint, std::string_view path) {
  std::size_t origin_end = endpoint.size();
  if (auto scheme = endpoint.find("://"); scheme != std::string_view::npos) {
    origin_end = std::min(endpoint.size(), endpoint.find('/', scheme + 3));
  }
  return std::string(endpoint.substr(0, origin_end)).append(path);
}

EndpointWalk::EndpointWalk(UpstreamHealth& health, RoundRobin& rr, const ProviderConfig& p)
    : health_(health), p_(p), ep_(&p.base_url) {
  if (p.endpoints.empty()) {
    all_ejected_ = !health_.available(p.name, *ep_);
    return;
  }
  const std::size_t n = std::min(p.endpoints.size(), kMaxEndpoints);
  const std::size_t start = rr.next(p.name) % n;
  at_ = start;
  for (std::size_t k = 0; k < n; ++k) {
    if (health_.available(p.name, p.endpoints[(start + k) % n])) {
      at_ = (start + k) % n;
      break;
    }
    if (k + 1 == n) all_ejected_ = true;
  }
  tried_ = std::uint64_t{1} << at_;
  ep_ = &p.endpoints[at_];
}

std::string EndpointWalk::openai_base() const {
  if (p_.endpoints.empty()) return p_.openai_base_url();
  std::string_view base = *ep_;
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  return std::string(base);
}

void EndpointWalk::record(bool ok, bool retry, std::string_view error) {
  if (ok) {
    health_.success(p_.name, *ep_);
  } else if (retry && health_.failure(p_.name, *ep_, error)) {
    log::warn("upstream endpoint ejected after repeated failures; other endpoints and targets first until its "
              "cool-down ends",
              {{"provider", p_.name}, {"endpoint", ep_->empty() ? std::string("(provider default)") : *ep_}});
  }
}

bool EndpointWalk::advance() {
  const std::size_t n = std::min(p_.endpoints.size(), kMaxEndpoints);
  for (std::size_t k = 1; k < n; ++k) {
    const std::size_t i = (at_ + k) % n;
    const std::uint64_t bit = std::uint64_t{1} << i;
    if (!(tried_ & bit) && health_.available(p_.name, p_.endpoints[i])) {
      at_ = i;
      tried_ |= bit;
      ep_ = &p_.endpoints[i];
      return true;
    }
  }
  return false;
}

}  // namespace spectra::ai
