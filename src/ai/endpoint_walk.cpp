#include "ai/endpoint_walk.h"

#include "common/log.h"

namespace spectra::ai {

EndpointWalk::EndpointWalk(UpstreamHealth& health, RoundRobin& rr, const ProviderConfig& p) : health_(health), p_(p) {
  if (p.endpoints.empty()) {
    ep_ = p.base_url;
    all_ejected_ = !health_.available(p.name, ep_);
    return;
  }
  const std::size_t n = p.endpoints.size();
  tried_.assign(n, false);
  const std::size_t start = rr.next(p.name) % n;
  at_ = start;
  for (std::size_t k = 0; k < n; ++k) {
    if (health_.available(p.name, p.endpoints[(start + k) % n])) {
      at_ = (start + k) % n;
      break;
    }
    if (k + 1 == n) all_ejected_ = true;
  }
  tried_[at_] = true;
  ep_ = p.endpoints[at_];
}

std::string EndpointWalk::openai_base() const {
  if (p_.endpoints.empty()) return p_.openai_base_url();
  std::string_view base = ep_;
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  return std::string(base);
}

void EndpointWalk::record(bool ok, bool retry, std::string_view error) {
  if (ok) {
    health_.success(p_.name, ep_);
  } else if (retry && health_.failure(p_.name, ep_, error)) {
    log::warn("upstream endpoint ejected after repeated failures; other endpoints and targets first until its "
              "cool-down ends",
              {{"provider", p_.name}, {"endpoint", ep_.empty() ? std::string("(provider default)") : ep_}});
  }
}

bool EndpointWalk::advance() {
  const std::size_t n = p_.endpoints.size();
  for (std::size_t k = 1; k < n; ++k) {
    const std::size_t i = (at_ + k) % n;
    if (!tried_[i] && health_.available(p_.name, p_.endpoints[i])) {
      at_ = i;
      tried_[i] = true;
      ep_ = p_.endpoints[i];
      return true;
    }
  }
  return false;
}

}  // namespace spectra::ai
