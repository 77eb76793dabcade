// NetworkReconciler: counters read back from the kernel, metrics, status JSON.
#include <ctime>

#include "net/reconciler.h"

namespace spectra::net {
namespace {

namespace bj = boost::json;

CounterValue value_of(const std::map<std::string, CounterValue>& m, const std::string& name) {
  auto it = m.find(name);
  return it == m.end() ? CounterValue{} : it->second;
}

std::string iso_time(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Status NetworkReconciler::refresh_counters() {
  std::lock_guard lock(mu_);
  auto f = read_counters(*deps_.nft, kFilterFamily, kFilterTable);
  if (!f.ok()) return f.status();
  auto n = read_counters(*deps_.nft, kNatFamily, kNatTable);
  if (!n.ok()) return n.status();
  filter_counters_ = std::move(*f);
  nat_counters_ = std::move(*n);
  update_metrics_locked();
  return {};
}

// Kernel counters are absolute; metrics counters only go up. Each series
// advances by the growth since the last read (or by the whole value after
// the kernel counter was reset, e.g. its table was deleted).
void NetworkReconciler::update_metrics_locked() {
  if (!deps_.metrics || !config_) return;
  metrics::Registry& m = *deps_.metrics;
  auto advance = [&](const std::string& name, const std::string& help,
                     const metrics::Labels& labels, std::uint64_t raw) {
    std::string key = name + metrics::render_labels(labels);
    auto [it, fresh] = exported_.emplace(key, 0);
    std::uint64_t delta = raw >= it->second ? raw - it->second : raw;
    it->second = raw;
    m.counter(name, help, labels).inc(delta);
  };
  const NetworkConfig& c = *config_;
  for (const char* dir : {"tx", "rx"}) {
    CounterValue v = value_of(filter_counters_, std::string("snat_") + dir);
    advance("spectra_net_snat_packets_total", "Packets source-NATed", {{"direction", dir}},
            v.packets);
    advance("spectra_net_snat_bytes_total", "Bytes source-NATed", {{"direction", dir}}, v.bytes);
  }
  advance("spectra_net_snat_connections_total", "Connections source-NATed", {},
          value_of(nat_counters_, "snat_conns").packets);
  for (const auto& r : c.firewall.rules) {
    CounterValue v = value_of(filter_counters_, "fw_" + r.name);
    advance("spectra_net_firewall_rule_packets_total", "Packets matched by a firewall rule",
            {{"rule", r.name}}, v.packets);
    advance("spectra_net_firewall_rule_bytes_total", "Bytes matched by a firewall rule",
            {{"rule", r.name}}, v.bytes);
  }
  for (const auto& f : c.port_forwards) {
    advance("spectra_net_port_forward_connections_total", "Connections port-forwarded",
            {{"forward", f.name}}, value_of(nat_counters_, "pf_" + f.name).packets);
    advance("spectra_net_port_forward_refused_total",
            "Packets refused by a port forward's allow-list", {{"forward", f.name}},
            value_of(filter_counters_, "pfr_" + f.name).packets);
  }
  for (const auto& lb : c.load_balancers) {
    for (const auto& b : lb.backends) {
      metrics::Labels l{{"lb", lb.name}, {"backend", b.key()}};
      advance("spectra_net_lb_backend_connections_total",
              "New connections sent to a load balancer backend", l,
              value_of(nat_counters_, backend_object_name(lb.name, b)).packets);
      bool up = !deps_.health || deps_.health->healthy(lb.name, b.key());
      m.gauge("spectra_net_lb_backend_healthy", "1 when the backend passes its health check", l)
          .set(up ? 1 : 0);
    }
  }
}

bj::array NetworkReconciler::status() const {
  std::lock_guard lock(mu_);
  bj::object o{{"name", "network"}};
  std::string state = "disabled", detail = "no network config applied yet";
  if (last_ && !last_->ok) {
    state = "error";
    detail = "last apply failed (" + last_->reason + "): " + last_->error;
  } else if (config_) {
    state = "running";
    detail = "nftables tables inet spectra_filter and ip spectra_nat in force";
    for (const auto& r : sysctls_) {
      if (!r.ok) {
        state = "degraded";
        detail = "sysctl " + sysctl_display(r.setting.key) + " not set: " + r.error;
      }
    }
  }
  o["state"] = state;
  o["detail"] = detail;
  o["l4_backend"] = l4_impl_name(l4_);
  if (last_) {
    o["last_apply"] = bj::object{{"ok", last_->ok},
                                 {"reason", last_->reason},
                                 {"at", iso_time(last_->at)},
                                 {"changes", last_->changes},
                                 {"check_ms", last_->timing.check_ms},
                                 {"commit_ms", last_->timing.commit_ms},
                                 {"total_ms", last_->total_ms},
                                 {"error", last_->error}};
  }
  o["sysctls"] = sysctl_status(sysctls_);
  bj::array notes;
  for (const auto& n : notes_) notes.push_back(bj::string(n));
  o["notes"] = std::move(notes);
  if (config_) {
    const NetworkConfig& c = *config_;
    CounterValue tx = value_of(filter_counters_, "snat_tx"),
                 rx = value_of(filter_counters_, "snat_rx");
    o["snat"] = bj::object{
        {"enabled", c.snat.enabled}, {"connections", value_of(nat_counters_, "snat_conns").packets},
        {"tx_packets", tx.packets},  {"tx_bytes", tx.bytes},
        {"rx_packets", rx.packets},  {"rx_bytes", rx.bytes}};
    bj::array rules;
    for (const auto& r : c.firewall.rules) {
      CounterValue v = value_of(filter_counters_, "fw_" + r.name);
      rules.push_back(bj::object{{"name", r.name}, {"packets", v.packets}, {"bytes", v.bytes}});
    }
    o["firewall_rules"] = std::move(rules);
    bj::array pfs;
    for (const auto& f : c.port_forwards) {
      pfs.push_back(bj::object{{"name", f.name},
                               {"connections", value_of(nat_counters_, "pf_" + f.name).packets},
                               {"refused", value_of(filter_counters_, "pfr_" + f.name).packets}});
    }
    o["port_forwards"] = std::move(pfs);
    bj::array lbs;
    for (const auto& lb : c.load_balancers) {
      bj::array bs;
      for (const auto& b : lb.backends) {
        bs.push_back(bj::object{
            {"address", b.address},
            {"port", b.port},
            {"weight", b.weight},
            {"healthy", !deps_.health || deps_.health->healthy(lb.name, b.key())},
            {"connections", value_of(nat_counters_, backend_object_name(lb.name, b)).packets}});
      }
      lbs.push_back(
          bj::object{{"name", lb.name},
                     {"address", lb.listen_address + ":" + std::to_string(lb.listen_port)},
                     {"scheduler", scheduler_name(lb.scheduler)},
                     {"backends", std::move(bs)}});
    }
    o["load_balancers"] = std::move(lbs);
  }
  if (deps_.health) o["health_checks"] = deps_.health->status();
  return bj::array{std::move(o)};
}

}  // namespace spectra::net
