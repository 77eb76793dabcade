#pragma once
// The config API (port 8080): REST/JSON over the shared HTTP layer.
// Handlers parse and check on the I/O thread and run store work (SQLite
// fsyncs) on a blocking pool, so a slow disk never stalls other connections.
#include <boost/asio/thread_pool.hpp>
#include <boost/json/array.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "api/tokens.h"
#include "config/service.h"
#include "http/router.h"
#include "metrics/metrics.h"

namespace spectra::api {

struct ApiContext {
  config::ConfigService* config = nullptr;
  TokenService* tokens = nullptr;
  metrics::Registry* metrics = nullptr;
  boost::asio::thread_pool* blocking = nullptr;
  std::string version;
  std::string store_backend;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  // Component status for /api/v1/status, filled by the daemon.
  std::function<boost::json::array()> components;
  // Called after every committed revision (reconcilers subscribe here).
  std::function<void(std::uint64_t revision)> on_commit;
  std::function<bool()> ready;  // for /readyz
  // AI token metering rows for /api/v1/ai/usage.
  std::function<boost::json::array()> ai_usage;
  // The AI gateway's upstream endpoints and their health (outlier ejection).
  std::function<boost::json::array()> ai_upstreams;
  // The AI gateway's virtual keys with a budget and what is left of it.
  std::function<boost::json::array()> ai_budgets;
};

// Registers every route (health, metrics, OpenAPI and /api/v1/...).
void register_routes(http::Router& router, ApiContext& ctx);

// The OpenAPI 3 document for the routes above.
boost::json::object openapi_document(const std::string& version);


}  // namespace spectra::api
