#pragma once
// Base fixture of the kernel tests: root required (skips otherwise), one lab
// per test, torn down in TearDown (and by the Lab destructor if TearDown is
// never reached); the reconciler runs with real libnftables and /proc/sys,
// called from a thread moved into the lab's gateway namespace.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <memory>

#include "config/model_schema.h"
#include "metrics/metrics.h"
#include "net/reconciler.h"
#include "netns/netns_util.h"

namespace spectra::net::testing {

// Refuses to act unless the calling thread is outside the root network
// namespace: a test bug can never reach the host's own ruleset or sysctls.
// The namespace the test process started in (the host's, in CI), recorded
// by the fixture's SetUp on the main thread before any setns.
inline ino_t& host_netns_inode() {
  static ino_t ino = 0;
  return ino;
}

inline ino_t current_netns_inode() {
  struct stat st {};
  return ::stat("/proc/thread-self/ns/net", &st) == 0 ? st.st_ino : 0;
}

inline bool in_root_netns() {
  ino_t cur = current_netns_inode();
  return cur == 0 || host_netns_inode() == 0 || cur == host_netns_inode();
}

class GuardedNft : public NftRunner {
 public:
  Status run(const std::string& script, bool check_only) override {
    if (in_root_netns()) return internal_error("test bug: nft run in the root namespace refused");
    return real_.run(script, check_only);
  }
  Result<std::string> list_json(const std::string& command) override {
    if (in_root_netns()) return internal_error("test bug: nft list in the root namespace refused");
    return real_.list_json(command);
  }
  Result<std::uint32_t> generation() override {
    if (in_root_netns())
      return internal_error("test bug: nft generation in the root namespace refused");
    return real_.generation();
  }

 private:
  LibNftablesRunner real_;
};

class GuardedSysctl : public SysctlWriter {
 public:
  Result<std::string> read(const std::string& key) override { return real_.read(key); }
  Status write(const std::string& key, const std::string& value) override {
    if (in_root_netns())
      return internal_error("test bug: sysctl write in the root namespace refused");
    return real_.write(key, value);
  }

 private:
  ProcSysctl real_;
};

class NetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!running_as_root()) {
      GTEST_SKIP() << "needs root: creates network namespaces and programs nftables in them "
                      "(run make test as root, as CI does)";
    }
    if (host_netns_inode() == 0) host_netns_inode() = current_netns_inode();
    ASSERT_NE(host_netns_inode(), 0u);
    Lab::collect_garbage();
    lab_ = std::make_unique<Lab>();
    ASSERT_TRUE(lab_->up().ok()) << "scripts/lab up failed";
    deps_.nft = &nft_;
    deps_.sysctl = &sysctl_;
    deps_.metrics = &metrics_;
    reconciler_ = std::make_unique<NetworkReconciler>(deps_);
  }

  void TearDown() override {
    for (auto& s : servers_) s->stop();
    servers_.clear();
    reconciler_.reset();
    if (lab_) lab_->down();
  }

  std::string ns(const std::string& role) const { return lab_->ns(role); }

  static boost::json::object section(const std::string& json) {
    boost::json::value v = boost::json::parse(json);
    config::Errors errors;
    config::validate_and_normalize(config::section_schema("network"), v, "/network", errors);
    for (const auto& e : errors) ADD_FAILURE() << "schema: " << e.path << " " << e.reason;
    return v.get_object();
  }

  // Applies in the gateway namespace.
  Status apply(const std::string& json) {
    NetnsScope gw(ns("gw"));
    if (!gw.ok()) return io_error("setns gw");
    return reconciler_->apply(section(json));
  }
  Result<std::string> plan(const std::string& json) {
    NetnsScope gw(ns("gw"));
    return reconciler_->plan(section(json));
  }
  Result<ActualTable> read(const char* family, const char* table) {
    NetnsScope gw(ns("gw"));
    return read_table(nft_, family, table);
  }
  std::map<std::string, CounterValue> counters(const char* family, const char* table) {
    NetnsScope gw(ns("gw"));
    auto c = read_counters(nft_, family, table);
    EXPECT_TRUE(c.ok()) << c.status().to_string();
    return c.ok() ? *c : std::map<std::string, CounterValue>{};
  }

  Status refresh() {
    NetnsScope gw(ns("gw"));
    return reconciler_->refresh_counters();
  }

  TcpServer& server(const std::string& role, const std::string& addr, std::uint16_t port,
                    const std::string& id, TcpServer::Mode mode = TcpServer::Mode::kHello) {
    servers_.push_back(std::make_unique<TcpServer>(ns(role), addr, port, id, mode));
    Status s = servers_.back()->start();
    EXPECT_TRUE(s.ok()) << s.to_string();
    return *servers_.back();
  }

  std::unique_ptr<Lab> lab_;
  GuardedNft nft_;
  GuardedSysctl sysctl_;
  metrics::Registry metrics_;
  NetworkDeps deps_;
  std::unique_ptr<NetworkReconciler> reconciler_;
  std::vector<std::unique_ptr<TcpServer>> servers_;
};

// The lab's network section; `extra` is spliced into the top-level object.
inline std::string lab_network(const std::string& extra = "") {
  return R"({"egress_interface": "pub0", "l4_backend": "nftables")" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

}  // namespace spectra::net::testing
