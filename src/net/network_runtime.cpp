#include "net/network_runtime.h"

#include "common/log.h"

namespace spectra::net {

NetworkRuntime::NetworkRuntime(boost::asio::io_context& io, metrics::Registry* metrics,
                               std::function<void(std::function<void()>)> run_blocking,
                               BackendSource* backend_source)
    : prober_(io), health_(clock_, prober_), loop_(io, health_) {
  if (l4env_.proc_ip_vs_exists() || l4env_.ipvs_family_resolves()) {
    auto sock = GenlSocket::open();
    if (sock.ok()) {
      auto family = resolve_genl_family(**sock, "IPVS");
      if (family.ok()) {
        genl_ = std::move(*sock);
        ipvs_ = std::make_unique<IpvsApplier>(*genl_, *family);
      }
    }
  }
  NetworkDeps deps;
  deps.nft = &nft_;
  deps.sysctl = &sysctl_;
  deps.l4 = &l4env_;
  deps.ipvs = ipvs_.get();
  deps.health = &health_;
  deps.backends = backend_source;
  deps.metrics = metrics;
  reconciler_ = std::make_unique<NetworkReconciler>(deps);
  NetworkReconciler* r = reconciler_.get();
  auto reapply = [r] {
    if (Status s = r->reconcile_backends(); !s.ok()) {
      log::error("re-apply after a health change failed", {{"error", s.message()}});
    }
  };
  health_.set_on_change([reapply, run_blocking] {
    if (run_blocking)
      run_blocking(reapply);
    else
      reapply();
  });
  loop_.start();
}

NetworkRuntime::~NetworkRuntime() {
  loop_.stop();
  prober_.shutdown();
  health_.set_on_change({});
}

Status NetworkRuntime::apply(const boost::json::object& network_section) {
  Status s = reconciler_->apply(network_section);
  loop_.wake();  // probe new backends now rather than at the next tick
  return s;
}

Result<std::string> plan_network(const boost::json::object& network_section) {
  LibNftablesRunner nft;
  ProcSysctl sysctl;
  SystemL4Environment l4env;
  NetworkDeps deps;
  deps.nft = &nft;
  deps.sysctl = &sysctl;
  deps.l4 = &l4env;
  // An IPVS choice is reported, not applied: a stand-in applier is never called by plan().
  std::unique_ptr<GenlSocket> sock;
  std::unique_ptr<IpvsApplier> ipvs;
  if (l4env.proc_ip_vs_exists() || l4env.ipvs_family_resolves()) {
    auto s = GenlSocket::open();
    if (s.ok()) {
      sock = std::move(*s);
      ipvs = std::make_unique<IpvsApplier>(*sock, 0);
      deps.ipvs = ipvs.get();
    }
  }
  NetworkReconciler r(deps);
  return r.plan(network_section);
}

}  // namespace spectra::net
