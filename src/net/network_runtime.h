#pragma once
// Everything the daemon needs for the network data plane, wired with the real
// implementations: libnftables, /proc/sys, the IPVS probe, TCP health checks
// on the given io_context. The daemon owns one of these; tests build the
// pieces themselves with fakes.
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <functional>
#include <memory>

#include "metrics/metrics.h"
#include "net/health_loop.h"
#include "net/reconciler.h"

namespace spectra::net {

class NetworkRuntime {
 public:
  // run_blocking runs a health-triggered re-apply (blocking netlink work);
  // by default it runs inline on the io_context thread that saw the change.
  NetworkRuntime(boost::asio::io_context& io, metrics::Registry* metrics,
                 std::function<void(std::function<void()>)> run_blocking = {},
                 BackendSource* backend_source = nullptr);
  ~NetworkRuntime();  // stops health checks first

  NetworkReconciler& reconciler() { return *reconciler_; }
  Status apply(const boost::json::object& network_section);
  Result<std::string> plan(const boost::json::object& network_section) {
    return reconciler_->plan(network_section);
  }
  boost::json::array status() {
    (void)reconciler_->refresh_counters();
    return reconciler_->status();
  }

 private:
  LibNftablesRunner nft_;
  ProcSysctl sysctl_;
  SystemL4Environment l4env_;
  SteadyClock clock_;
  AsioTcpProber prober_;
  HealthChecker health_;
  std::unique_ptr<GenlSocket> genl_;
  std::unique_ptr<IpvsApplier> ipvs_;
  std::unique_ptr<NetworkReconciler> reconciler_;
  HealthLoop loop_;
};

// For `spectrad plan`: compares the section with the kernel of the calling
// thread's network namespace and returns the plan text. Changes nothing.
Result<std::string> plan_network(const boost::json::object& network_section);

}  // namespace spectra::net
