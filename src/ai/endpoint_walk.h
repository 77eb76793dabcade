#pragma once
// Which of a provider's endpoints one upstream call tries, and in what
// order. A vLLM provider lists several replicas: a call starts at the next
// one in round-robin order that is not ejected (UpstreamHealth), and a
// failure that may fail over moves it on to another not ejected, each tried
// at most once. A provider without an endpoint list has one endpoint, its
// base URL. Chat, the pass-through routes and the semantic cache's embedder
// all walk endpoints the same way, so a dead replica costs each of them the
// same: a few failures, then nothing until its cool-down ends. A provider
// with replica_affinity: conversation walks a chat conversation's replicas
// in an order of their own instead (rendezvous hashing of the
// conversation and each endpoint): every turn starts at the same replica,
// and when that one is down only its conversations move.
#include <boost/json/object.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "ai/gateway_config.h"
#include "ai/upstream_health.h"

namespace spectra::ai {

// A path on an endpoint's origin, where vLLM serves /health and /tokenize:
// "/health" on "http://10.0.3.10:8000/v1" is "http://10.0.3.10:8000/health".
std::string origin_url(std::string_view endpoint, std::string_view path);

// What identifies a chat conversation for replica affinity: its end user,
// its system (and developer) messages and its first user message, which
// every later turn repeats. Never 0.
std::uint64_t conversation_affinity(const boost::json::object& chat_body, std::string_view end_user);

// Where each provider's round-robin stands. Thread-safe.
class RoundRobin {
 public:
  std::size_t next(const std::string& provider) {
    std::lock_guard lock(mu_);
    return at_[provider]++;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::size_t> at_;  // guarded by mu_
};

class EndpointWalk {
 public:
  // `p` and `health` must outlive the walk. `affinity` (conversation_affinity;
  // 0: none) orders the replicas when the provider keeps conversations on one.
  EndpointWalk(UpstreamHealth& health, RoundRobin& rr, const ProviderConfig& p, std::uint64_t affinity = 0);

  // The endpoint to try now (the health key; for chat, the adapter's base URL).
  const std::string& endpoint() const { return *ep_; }
  // The endpoint as an OpenAI-compatible base URL, without a trailing slash.
  std::string openai_base() const;
  // Every endpoint was ejected when the walk started (endpoint() is one anyway).
  bool all_ejected() const { return all_ejected_; }

  // The outcome of the try at endpoint(): a success restores it; a failure
  // that may fail over (`retry`: no connection, a timeout, 5xx/429, a broken
  // answer) counts towards its ejection; anything else (the client's error,
  // a stream broken after its first token) says nothing either way.
  void record(bool ok, bool retry, std::string_view error);
  // Moves to another endpoint not ejected and not tried yet; false when
  // there is none (endpoint() is unchanged then).
  bool advance();

 private:
  // No allocation per call: the endpoint points into the config, and the
  // tried set is a bit mask (the config allows at most 64 endpoints; any
  // beyond are not used).
  static constexpr std::size_t kMaxEndpoints = 64;
  UpstreamHealth& health_;
  const ProviderConfig& p_;
  const std::string* ep_;
  std::size_t at_ = 0;       // ep_'s index in p_.endpoints
  std::uint64_t tried_ = 0;  // bit i: p_.endpoints[i] was tried
  bool all_ejected_ = false;
  std::uint64_t affinity_ = 0;  // non-zero: replicas in this conversation's order
  // The untried endpoint (of the first n) this conversation ranks first,
  // among the available ones unless `any`; n when there is none.
  std::size_t first_in_order(std::size_t n, bool any) const;
};

}  // namespace spectra::ai
