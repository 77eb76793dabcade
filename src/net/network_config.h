#pragma once
// The typed view of the config's `network` section. The section reaching here
// has passed schema validation with every default filled in; parse_network_config
// still re-checks the lexical form of every string that ends up inside an nft
// script (names, addresses, CIDRs, interface), so a bypassed validator cannot
// turn into nft command injection.
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace spectra::net {

enum class Protocol { kTcp, kUdp };
enum class FwProtocol { kAny, kTcp, kUdp, kIcmp };
enum class L4Backend { kAuto, kIpvs, kNftables };
enum class Scheduler { kRoundRobin, kWeighted, kSourceHash, kRandom };
enum class SnatMode { kMasquerade, kSnat };
enum class Direction { kInput, kForward, kOutput };
enum class Action { kAllow, kDeny };
enum class Policy { kAccept, kDrop };

const char* protocol_name(Protocol p);
const char* l4_backend_name(L4Backend b);
const char* scheduler_name(Scheduler s);
const char* policy_name(Policy p);

struct SourceNat {
  bool enabled = false;
  SnatMode mode = SnatMode::kMasquerade;
  std::string to_address;                 // mode kSnat only
  std::vector<std::string> source_cidrs;  // IPv4 and/or IPv6 CIDR text
};

struct PortForward {
  std::string name;
  Protocol protocol = Protocol::kTcp;
  std::uint16_t listen_port = 0;
  std::string target_address;
  std::uint16_t target_port = 0;
  std::vector<std::string> allow_cidrs;  // empty allows every source
};

struct Backend {
  std::string address;
  std::uint16_t port = 0;
  std::uint32_t weight = 1;
  // "10.0.0.1:80": identifies a backend within its load balancer.
  std::string key() const;
};

struct HealthCheck {
  bool enabled = true;
  std::chrono::milliseconds interval{2000};
  std::chrono::milliseconds timeout{1000};
  int healthy_threshold = 2;
  int unhealthy_threshold = 2;
  std::uint16_t port = 0;  // 0: the backend's own port
};

struct LoadBalancer {
  std::string name;
  Protocol protocol = Protocol::kTcp;
  std::string listen_address;
  std::uint16_t listen_port = 0;
  Scheduler scheduler = Scheduler::kRoundRobin;
  bool external_backends = false;  // backend_source nlb_target_group
  std::string target_group_arn;
  std::vector<Backend> backends;  // static backends
  HealthCheck health_check;
};

struct FirewallRule {
  std::string name;
  Direction direction = Direction::kForward;
  Action action = Action::kAllow;
  FwProtocol protocol = FwProtocol::kAny;
  std::vector<std::string> source_cidrs;
  std::vector<std::string> destination_cidrs;
  std::vector<std::string> ports;  // "80" or "1000-2000"
};

struct Firewall {
  bool enabled = false;
  Policy default_input = Policy::kAccept;
  Policy default_forward = Policy::kAccept;
  std::vector<FirewallRule> rules;
};

struct NetworkConfig {
  std::string egress_interface = "eth0";
  L4Backend l4_backend = L4Backend::kAuto;
  std::int64_t conntrack_max = 0;  // 0 keeps the kernel default
  SourceNat snat;
  std::vector<PortForward> port_forwards;
  std::vector<LoadBalancer> load_balancers;
  Firewall firewall;

  // Whether packets have to be routed through this host (NAT, forwards, LBs).
  bool needs_forwarding() const;
};

// Parses a normalised `network` section. Errors name the JSON pointer at fault.
Result<NetworkConfig> parse_network_config(const boost::json::object& network);

// Lexical checks shared with the renderer's tests.
bool is_ipv4(const std::string& s);
bool is_cidr(const std::string& s, bool* v6);
bool is_interface_name(const std::string& s);
bool is_object_name(const std::string& s);  // [a-z0-9_-]{1,63}

}  // namespace spectra::net
