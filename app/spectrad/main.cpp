// spectrad: the appliance daemon. Everything but argument handling lives in
// src/daemon so tests can drive it directly.
#include <boost/json/serialize.hpp>

#include <iostream>

#include "ai/audit_log.h"
#include "api/config_api.h"
#include "common/file_util.h"
#include "common/json_util.h"
#include "common/log.h"
#include "daemon/daemon.h"
#include "daemon/plan.h"

int main(int argc, char** argv) {
  using namespace spectra;
  auto opts = daemon::parse_options(argc, argv);
  if (!opts.ok()) {
    if (opts.status().code() == Code::kNotFound && opts.status().message().empty()) return 0;  // --help
    std::cerr << "spectrad: " << opts.status().message() << "\n";
    return 2;
  }
  if (opts->print_openapi) {
    std::cout << json::pretty(api::openapi_document("dev"));
    return 0;
  }
  if (opts->plan) {
    auto plan = daemon::plan_network_change(*opts);
    if (!plan.ok()) {
      std::cerr << "spectrad plan: " << plan.status().message() << "\n";
      return 1;
    }
    std::cout << *plan;
    return 0;
  }
  if (!opts->verify_audit.empty()) {
    auto files = ai::audit_files(opts->verify_audit);
    if (files.empty()) {
      std::cerr << "spectrad: no audit log at " << opts->verify_audit << "\n";
      return 2;
    }
    auto v = ai::verify_audit(files);
    if (v.ok) {
      std::cout << "audit log intact: " << v.lines << " records in " << files.size() << " file(s)\n";
      return 0;
    }
    std::cout << "audit log TAMPERED: " << v.file << " line " << v.line << ": " << v.reason << "\n";
    return 1;
  }
  daemon::Daemon::block_signals();
  if (auto files = fs::raise_open_file_limit(); files.ok()) {
    if (*files < 16384) log::warn("open file limit is low for a gateway", {{"limit", *files}});
  } else {
    log::warn("cannot raise the open file limit", {{"error", files.status().to_string()}});
  }
  daemon::Daemon d(*opts);
  if (Status s = d.start(); !s.ok()) {
    log::error("spectrad failed to start", {{"error", s.to_string()}});
    std::cerr << "spectrad: " << s.message() << "\n";
    return 1;
  }
  d.wait_for_signal();
  d.stop();
  return 0;
}
