#pragma once
// The AI gateway as a daemon component: its own listener (port 8090 by
// default), reconfigured from every committed revision, with metering
// persisted to the store and the audit log under the state folder.
#include <boost/json/array.hpp>

#include <memory>
#include <string>

#include "common/result.h"
#include "config/service.h"
#include "http/io_pool.h"
#include "metrics/metrics.h"
#include "store/store.h"

namespace spectra::daemon {

struct AiOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: take ai.listen_port from the config
  bool port_given = false;
  std::string state_dir;
  std::string model_dir;
};

class AiComponent {
 public:
  AiComponent(AiOptions options, http::IoPool& io, metrics::Registry& metrics, config::ConfigService& config,
              store::Store& store);
  ~AiComponent();

  Status start();
  void apply_revision();  // call after each commit
  void stop();            // flushes metering and the audit log
  std::uint16_t port() const;
  boost::json::object status() const;
  boost::json::array usage() const;
  boost::json::array upstreams() const;
  boost::json::array budgets() const;
  Status persist_metering();
  // Refreshes AWS credentials off the I/O threads when a Bedrock provider is
  // configured, so signing on the request path never waits for IMDS.
  void warm_credentials();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spectra::daemon
