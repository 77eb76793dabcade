#pragma once
// Kernel settings the gateway role needs (ip_forward, rp_filter, conntrack
// limit): the wanted values are a pure function of the config; reading and
// writing them goes through an interface.
#include <boost/json/array.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "net/network_config.h"

namespace spectra::net {

class SysctlWriter {
 public:
  virtual ~SysctlWriter() = default;
  // `key` is the path under /proc/sys, e.g. "net/ipv4/ip_forward" (slashes,
  // so interface names with dots stay unambiguous).
  virtual Result<std::string> read(const std::string& key) = 0;
  virtual Status write(const std::string& key, const std::string& value) = 0;
};

// /proc/sys of the calling thread's network namespace.
class ProcSysctl : public SysctlWriter {
 public:
  explicit ProcSysctl(std::string root = "/proc/sys") : root_(std::move(root)) {}
  Result<std::string> read(const std::string& key) override;
  Status write(const std::string& key, const std::string& value) override;

 private:
  std::string root_;
};

struct SysctlSetting {
  std::string key;
  std::string value;
  bool required = false;  // a failure fails the apply (ip_forward); others degrade status
};

struct SysctlResult {
  SysctlSetting setting;
  std::string before;  // value read before writing ("" if unreadable)
  bool ok = false;
  std::string error;
};

// ip_forward=1 when anything is routed through the gateway (NAT, port
// forwards, load balancers); rp_filter=2 (loose) on the egress interface, so
// DNATed and asymmetric flows are not dropped; nf_conntrack_max when set.
std::vector<SysctlSetting> desired_sysctls(const NetworkConfig& config);

// Reads each setting and writes the ones that differ.
std::vector<SysctlResult> apply_sysctls(SysctlWriter& w,
                                        const std::vector<SysctlSetting>& settings);

// Lines like "~ net.ipv4.ip_forward: 0 -> 1" for the settings that differ.
std::vector<std::string> plan_sysctls(SysctlWriter& w, const std::vector<SysctlSetting>& settings);

// "net/ipv4/ip_forward" -> "net.ipv4.ip_forward"
std::string sysctl_display(const std::string& key);

boost::json::array sysctl_status(const std::vector<SysctlResult>& results);

}  // namespace spectra::net
