#include "ai/endpoint_walk.h"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <functional>

#include "common/log.h"

namespace spectra::ai {

namespace {

// splitmix64's finalizer: a hash's bits spread over the whole word.
std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::uint64_t conversation_affinity(const boost::json::object& chat_body, std::string_view end_user) {
  std::string id(end_user);
  id.push_back('\0');
  if (const auto* messages = chat_body.if_contains("messages"); messages && messages->is_array()) {
    for (const auto& m : messages->get_array()) {
      const auto* o = m.if_object();
      const auto* role = o ? o->if_contains("role") : nullptr;
      const auto* content = o ? o->if_contains("content") : nullptr;
      if (!role || !role->is_string() || !content) continue;
      const bool first_user = role->get_string() == "user";
      if (!first_user && role->get_string() != "system" && role->get_string() != "developer") continue;
      id += boost::json::serialize(*content);
      id.push_back('\0');
      if (first_user) break;
    }
  }
  const std::uint64_t h = mix(std::hash<std::string>{}(id));
  return h ? h : 1;
}

std::string origin_url(std::string_view endpoint, std::string_view path) {
  std::size_t origin_end = endpoint.size();
  if (auto scheme = endpoint.find("://"); scheme != std::string_view::npos) {
    origin_end = std::min(endpoint.size(), endpoint.find('/', scheme + 3));
  }
  return std::string(endpoint.substr(0, origin_end)).append(path);
}

EndpointWalk::EndpointWalk(UpstreamHealth& health, RoundRobin& rr, const ProviderConfig& p, std::uint64_t affinity)
    : health_(health), p_(p), ep_(&p.base_url) {
  if (p.endpoints.empty()) {
    all_ejected_ = !health_.available(p.name, *ep_);
    return;
  }
  const std::size_t n = std::min(p.endpoints.size(), kMaxEndpoints);
  if (affinity != 0 && p.conversation_affinity && n > 1) {
    // The conversation's first replica that is up (its very first if none is).
    affinity_ = affinity;
    at_ = first_in_order(n, /*any=*/false);
    if (at_ == n) {
      all_ejected_ = true;
      at_ = first_in_order(n, /*any=*/true);
    }
    tried_ = std::uint64_t{1} << at_;
    ep_ = &p.endpoints[at_];
    return;
  }
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

std::size_t EndpointWalk::first_in_order(std::size_t n, bool any) const {
  std::size_t best = n;
  std::uint64_t best_score = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (tried_ & (std::uint64_t{1} << i)) continue;
    if (!any && !health_.available(p_.name, p_.endpoints[i])) continue;
    // Rendezvous hashing: each replica's score for this conversation, by
    // its URL (so that reordering the list moves no conversation).
    const std::uint64_t score = mix(affinity_ ^ std::hash<std::string>{}(p_.endpoints[i]));
    if (best == n || score > best_score) {
      best = i;
      best_score = score;
    }
  }
  return best;
}

bool EndpointWalk::advance() {
  const std::size_t n = std::min(p_.endpoints.size(), kMaxEndpoints);
  if (affinity_ != 0) {
    const std::size_t i = first_in_order(n, /*any=*/false);
    if (i == n) return false;
    at_ = i;
    tried_ |= std::uint64_t{1} << i;
    ep_ = &p_.endpoints[i];
    return true;
  }
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
