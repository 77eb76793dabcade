#pragma once
// The L4 load-balancing backend choice (IPVS where the kernel has it,
// nftables otherwise) and the IPVS applier that keeps the kernel's IPVS
// services in line with the config over generic netlink.
//
// This machine's kernel has no IPVS: the applier is exercised through a fake
// transport in the unit tests only; nftables carries the end-to-end tests.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "net/ipvs_netlink.h"
#include "net/lb_select.h"
#include "net/network_config.h"

namespace spectra::net {

enum class L4Impl { kNftables, kIpvs };
const char* l4_impl_name(L4Impl i);

// One request, its reply (everything up to and including the ack or error).
class NetlinkTransport {
 public:
  virtual ~NetlinkTransport() = default;
  virtual Result<Bytes> request(const Bytes& msg) = 0;
};

// A NETLINK_GENERIC socket in the calling thread's network namespace.
class GenlSocket : public NetlinkTransport {
 public:
  static Result<std::unique_ptr<GenlSocket>> open();
  ~GenlSocket() override;
  Result<Bytes> request(const Bytes& msg) override;

 private:
  explicit GenlSocket(int fd) : fd_(fd) {}
  int fd_;
};

Result<std::uint16_t> resolve_genl_family(NetlinkTransport& nl, const std::string& name);

// What the machine offers, behind an interface so selection is testable.
class L4Environment {
 public:
  virtual ~L4Environment() = default;
  virtual bool proc_ip_vs_exists() = 0;     // /proc/net/ip_vs
  virtual bool ipvs_family_resolves() = 0;  // genl family "IPVS"
};

class SystemL4Environment : public L4Environment {
 public:
  bool proc_ip_vs_exists() override;
  bool ipvs_family_resolves() override;
};

// auto: IPVS when either probe says the kernel has it, else nftables.
// ipvs: an error when the kernel has none. nftables: nftables.
Result<L4Impl> choose_l4(L4Backend configured, L4Environment& env);

// IPVS scheduler for a config scheduler (IPVS has no "random": wrr is used).
const char* ipvs_scheduler(Scheduler s);

class IpvsApplier {
 public:
  IpvsApplier(NetlinkTransport& nl, std::uint16_t family_id) : nl_(nl), family_(family_id) {}
  // Makes the services this applier created match the config's load
  // balancers and their selected backends: creates, updates weights, removes
  // departed backends and services. Services it did not create are left alone.
  Status sync(const NetworkConfig& config, const BackendFacts& facts);
  std::size_t service_count() const { return applied_.size(); }

 private:
  Status send(const Bytes& msg, int* err);
  NetlinkTransport& nl_;
  std::uint16_t family_;
  std::uint32_t seq_ = 1;
  struct Applied {
    IpvsService svc;
    std::map<std::string, IpvsDest> dests;  // by "addr:port"
  };
  std::map<std::string, Applied> applied_;  // by "proto/vip:port"
};

}  // namespace spectra::net
