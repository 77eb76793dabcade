#include "net/sysctl.h"

#include <boost/json/object.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace spectra::net {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  return s;
}

}  // namespace

Result<std::string> ProcSysctl::read(const std::string& key) {
  std::ifstream in(root_ + "/" + key);
  if (!in) return not_found(sysctl_display(key) + ": " + std::strerror(errno));
  std::string v;
  std::getline(in, v);
  return trim(v);
}

Status ProcSysctl::write(const std::string& key, const std::string& value) {
  std::ofstream out(root_ + "/" + key);
  if (!out) return io_error(sysctl_display(key) + ": " + std::strerror(errno));
  out << value << "\n";
  out.flush();
  if (!out) return io_error(sysctl_display(key) + ": write failed: " + std::strerror(errno));
  out.close();
  if (out.fail()) return io_error(sysctl_display(key) + ": " + std::strerror(errno));
  return {};
}

std::vector<SysctlSetting> desired_sysctls(const NetworkConfig& c) {
  std::vector<SysctlSetting> out;
  if (c.needs_forwarding()) {
    out.push_back({"net/ipv4/ip_forward", "1", true});
    out.push_back({"net/ipv4/conf/" + c.egress_interface + "/rp_filter", "2", false});
  }
  if (c.conntrack_max > 0) {
    out.push_back({"net/netfilter/nf_conntrack_max", std::to_string(c.conntrack_max), false});
  }
  return out;
}

std::vector<SysctlResult> apply_sysctls(SysctlWriter& w,
                                        const std::vector<SysctlSetting>& settings) {
  std::vector<SysctlResult> out;
  for (const auto& s : settings) {
    SysctlResult r;
    r.setting = s;
    auto now = w.read(s.key);
    if (now.ok()) r.before = *now;
    if (now.ok() && *now == s.value) {
      r.ok = true;
    } else if (Status st = w.write(s.key, s.value); st.ok()) {
      r.ok = true;
    } else {
      r.error = st.message();
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<std::string> plan_sysctls(SysctlWriter& w, const std::vector<SysctlSetting>& settings) {
  std::vector<std::string> out;
  for (const auto& s : settings) {
    auto now = w.read(s.key);
    std::string have = now.ok() ? *now : "(unreadable)";
    if (have != s.value)
      out.push_back("~ " + sysctl_display(s.key) + ": " + have + " -> " + s.value);
  }
  return out;
}

std::string sysctl_display(const std::string& key) {
  std::string out = key;
  for (char& c : out) {
    if (c == '/') c = '.';
  }
  return out;
}

boost::json::array sysctl_status(const std::vector<SysctlResult>& results) {
  boost::json::array a;
  for (const auto& r : results) {
    boost::json::object o{{"key", sysctl_display(r.setting.key)},
                          {"want", r.setting.value},
                          {"before", r.before},
                          {"ok", r.ok},
                          {"required", r.setting.required}};
    if (!r.ok) o["error"] = r.error;
    a.push_back(std::move(o));
  }
  return a;
}

}  // namespace spectra::net
