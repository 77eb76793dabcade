#pragma once
// Which backends a load balancer sends new connections to, and how weights
// become slots in an nftables numgen/jhash map. Pure functions shared by the
// nftables renderer and the IPVS backend.
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "net/network_config.h"

namespace spectra::net {

// Facts observed outside the config that change what is rendered.
struct BackendFacts {
  // Backend keys ("addr:port") the health checker holds unhealthy, by LB name.
  std::map<std::string, std::set<std::string>> unhealthy;
  // Backend sets from an external source (backend_source nlb_target_group), by LB name.
  std::map<std::string, std::vector<Backend>> external;
};

struct SelectedBackends {
  std::vector<Backend> backends;  // deduplicated by key, config order
  std::vector<Backend> all;       // every known backend, healthy or not (their counters persist)
  bool fail_open = false;         // every backend unhealthy: all are kept (as AWS NLB does)
};

// The backends that get new connections: static or external ones, duplicates
// merged (weights added), unhealthy ones left out unless that leaves none.
SelectedBackends select_backends(const LoadBalancer& lb, const BackendFacts& facts);

// Expands weights into slot indices for a `mod N` map. Weights are reduced by
// their GCD and, when the sum exceeds max_slots, scaled down (each at least 1).
// interleave=true spreads a backend's slots (smooth weighted round robin), so
// `numgen inc` does not send bursts to one backend.
std::vector<std::size_t> weighted_slots(const std::vector<std::uint32_t>& weights, bool interleave,
                                        std::size_t max_slots = 256);

}  // namespace spectra::net
