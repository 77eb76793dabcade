// spectra-net: apply, plan and watch the network data plane in the calling
// process's network namespace (the lab runs it with `ip netns exec`), plus
// the lab's demo server and the benchmark's helpers.
#include <signal.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <iostream>
#include <thread>

#include "common/file_util.h"
#include "common/json_util.h"
#include "common/log.h"
#include "config/model_schema.h"
#include "net/network_runtime.h"
#include "tool.h"

namespace spectra::net::tool {

Result<boost::json::object> normalize_network(boost::json::value v) {
  if (v.is_object() && v.get_object().contains("network")) v = v.get_object().at("network");
  config::Errors errors;
  config::validate_and_normalize(config::section_schema("network"), v, "/network", errors);
  if (!errors.empty()) {
    std::string msg;
    for (const auto& e : errors) msg += (msg.empty() ? "" : "; ") + e.path + " " + e.reason;
    return invalid_argument(msg);
  }
  return v.get_object();
}

Result<boost::json::object> load_network_section(const std::string& path) {
  auto text = fs::read_file(path);
  if (!text.ok()) return text.status();
  auto v = json::parse(*text, {16 << 20, 64});
  if (!v.ok()) return v.status();
  return normalize_network(std::move(*v));
}

namespace {

int usage() {
  std::cerr
      << "usage: spectra-net apply FILE | plan FILE | status FILE | run FILE\n"
         "       spectra-net serve ADDR PORT ID | connect ADDR PORT\n"
         "       spectra-net connrate ADDR PORT SECONDS PARALLEL | bench-apply FORWARDS RULES\n"
         "FILE: JSON with a config ({\"network\": …}) or a network section.\n"
         "Acts on the network namespace it runs in (use ip netns exec).\n";
  return 2;
}

int fail(const Status& s) {
  std::cerr << "spectra-net: " << s.to_string() << "\n";
  return 1;
}

struct Local {
  LibNftablesRunner nft;
  ProcSysctl sysctl;
  SystemL4Environment l4;
  NetworkReconciler r{NetworkDeps{&nft, &sysctl, &l4, nullptr, nullptr, nullptr, nullptr}};
};

int cmd_once(const std::string& verb, const std::string& path) {
  auto section = load_network_section(path);
  if (!section.ok()) return fail(section.status());
  if (verb == "plan") {
    auto p = plan_network(*section);
    if (!p.ok()) return fail(p.status());
    std::cout << *p;
    return 0;
  }
  Local l;
  if (verb == "apply") {
    if (Status s = l.r.apply(*section); !s.ok()) return fail(s);
  } else {
    if (Status s = l.r.observe(*section); !s.ok()) return fail(s);
    if (Status s = l.r.refresh_counters(); !s.ok()) return fail(s);
  }
  std::cout << json::pretty(l.r.status()) << "\n";
  return 0;
}

// Applies, then keeps health checks running until SIGINT/SIGTERM; SIGHUP
// re-reads FILE and applies it. The kernel state stays when it exits.
int cmd_run(const std::string& path) {
  auto section = load_network_section(path);
  if (!section.ok()) return fail(section.status());
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread t([&] { io.run(); });
  int rc = 0;
  {
    NetworkRuntime rt(io, nullptr);
    if (Status s = rt.apply(*section); !s.ok()) {
      rc = fail(s);
    } else {
      log::info("spectra-net: applied; health checks running", {{"file", path}});
      for (;;) {
        int sig = 0;
        sigwait(&set, &sig);
        if (sig != SIGHUP) break;
        auto next = load_network_section(path);
        Status s = next.ok() ? rt.apply(*next) : next.status();
        if (!s.ok())
          log::error("spectra-net: re-apply failed; previous ruleset in force",
                     {{"error", s.message()}});
        std::cout << json::pretty(rt.status()) << std::endl;
      }
    }
  }
  work.reset();
  io.stop();
  t.join();
  return rc;
}

}  // namespace
}  // namespace spectra::net::tool

int main(int argc, char** argv) {
  using namespace spectra::net::tool;
  Args a(argv + 1, argv + argc);
  if (a.empty()) return usage();
  std::string verb = a[0];
  a.erase(a.begin());
  if ((verb == "apply" || verb == "plan" || verb == "status") && a.size() == 1)
    return cmd_once(verb, a[0]);
  if (verb == "run" && a.size() == 1) return cmd_run(a[0]);
  if (verb == "serve" && a.size() == 3) return cmd_serve(a);
  if (verb == "connect" && a.size() == 2) return cmd_connect(a);
  if (verb == "connrate" && a.size() == 4) return cmd_connrate(a);
  if (verb == "bench-apply" && a.size() == 2) return cmd_bench_apply(a);
  return usage();
}
