#pragma once
// The network reconciler: desired (config + observed facts) vs actual (read
// back from the kernel), idempotent. apply() changes only what differs, in
// one validated, atomic nft transaction; plan() says what apply() would do and
// changes nothing. Counters are read back for status and /metrics.
//
// Thread-safety: every public method may be called from any thread; applies
// are serialised. The health checker calls reconcile_backends() on its own
// thread when a backend changes state.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "metrics/metrics.h"
#include "net/health_checker.h"
#include "net/ipvs_backend.h"
#include "net/nft_applier.h"
#include "net/nft_render.h"
#include "net/nft_state.h"
#include "net/sysctl.h"

namespace spectra::net {

// Backend sets from outside the config (the AWS NLB target-group sync).
class BackendSource {
 public:
  virtual ~BackendSource() = default;
  // Backends of a load balancer with backend_source nlb_target_group;
  // nullopt while unknown (the load balancer then has no backends).
  virtual std::optional<std::vector<Backend>> backends(const std::string& lb_name,
                                                       const std::string& target_group_arn) = 0;
};

struct NetworkDeps {
  NftRunner* nft = nullptr;              // required
  SysctlWriter* sysctl = nullptr;        // required
  L4Environment* l4 = nullptr;           // null: always nftables
  IpvsApplier* ipvs = nullptr;           // needed when IPVS is chosen
  HealthChecker* health = nullptr;       // null: every backend counts as healthy
  BackendSource* backends = nullptr;     // null: external load balancers have no backends
  metrics::Registry* metrics = nullptr;  // null: no metrics
};

class NetworkReconciler {
 public:
  explicit NetworkReconciler(NetworkDeps deps);

  // Makes the kernel match `network_section` (normalised, validated). On
  // failure the previous ruleset stays in force and the Status says why.
  Status apply(const boost::json::object& network_section);

  // The difference between the config and the kernel, for humans; changes nothing.
  Result<std::string> plan(const boost::json::object& network_section);

  // Takes `network_section` as the config in force without touching the
  // kernel, so status() and refresh_counters() can name its rules (read-only
  // tools; a restarted daemon before its first apply).
  Status observe(const boost::json::object& network_section);

  // Re-renders the last applied config with fresh health and external
  // backend facts (only the NAT table, where the load balancers live).
  Status reconcile_backends();

  // Reads the kernel's counters into status() and the metrics registry.
  Status refresh_counters();

  // One component object: {name:"network", state, detail, l4_backend,
  // last_apply, sysctls, snat, firewall_rules, port_forwards, load_balancers, notes}.
  boost::json::array status() const;

  // Last successfully applied config, if any.
  std::optional<NetworkConfig> current_config() const;

 private:
  struct Desired {
    NetworkConfig config;
    L4Impl l4 = L4Impl::kNftables;
    Ruleset ruleset;
    BackendFacts facts;
  };
  struct LastApply {
    bool ok = false;
    std::string reason;  // config | backends
    std::string error;
    std::size_t changes = 0;
    double total_ms = 0;
    ApplyTiming timing;
    std::chrono::system_clock::time_point at{};
  };

  struct Snapshot {
    std::uint32_t generation = 0;
    ActualTable filter;
    ActualTable nat;
  };
  struct Current {
    std::optional<std::uint32_t> generation;  // when the runner can tell
    bool from_snapshot = false;
    bool have_filter = false;
    ActualTable filter;
    ActualTable nat;
  };

  Result<Desired> desire(const NetworkConfig& config);
  // The tables as they are now: from the snapshot when the kernel's
  // generation has not moved since it was taken, else read back.
  Result<Current> current_locked(bool need_filter);
  Status reconcile_locked(const NetworkConfig& config, bool include_filter, const char* reason);
  void record(LastApply a);
  void update_metrics_locked();

  NetworkDeps deps_;
  NftApplier applier_;
  mutable std::mutex mu_;
  std::optional<NetworkConfig> config_;                  // guarded by mu_
  std::optional<Snapshot> snapshot_;                     // guarded by mu_
  L4Impl l4_ = L4Impl::kNftables;                        // guarded by mu_
  std::vector<std::string> notes_;                       // guarded by mu_
  std::vector<SysctlResult> sysctls_;                    // guarded by mu_
  std::optional<LastApply> last_;                        // guarded by mu_
  std::map<std::string, CounterValue> filter_counters_;  // guarded by mu_
  std::map<std::string, CounterValue> nat_counters_;     // guarded by mu_
  std::map<std::string, std::uint64_t>
      exported_;  // metric series -> last raw value; guarded by mu_
};

// Renders the plan text for given diffs (shared by plan() and the tool).
std::string format_plan(
    const std::vector<std::pair<std::string, std::vector<std::string>>>& sections,
    const std::vector<std::string>& notes, const std::string& l4);

}  // namespace spectra::net
