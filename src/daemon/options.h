#pragma once
// spectrad's own settings (not the config of record): where to listen, where
// state lives, which roles run. From a YAML file, then command-line flags.
#include <chrono>
#include <string>
#include <vector>

#include "common/result.h"

namespace spectra::daemon {

struct Options {
  std::string api_address = "127.0.0.1";
  std::uint16_t api_port = 8080;
  std::string state_dir = "state";
  std::string role = "all";  // all | api  (ai, net: later roles)
  std::string log_level = "info";
  std::size_t threads = 0;  // 0 = one per core
  std::chrono::milliseconds drain_timeout{10'000};
  std::string ai_address = "127.0.0.1";
  std::uint16_t ai_port = 0;  // 0 with ai_port_given=false: ai.listen_port from the config
  bool ai_port_given = false;
  std::string model_dir = "build/models/all-minilm-l6-v2";  // the built-in embedding model
  std::string verify_audit;  // a path: verify that audit log and exit
  std::string ready_file;  // written with host:port once listening (tests, supervisors)
  bool reset_admin_token = false;
  bool print_openapi = false;
  // Program the kernel (nftables, sysctls) from the network section. Off by
  // default in standalone/dev mode: it needs root and changes the host.
  bool network = false;
  bool plan = false;
  std::string plan_file;  // `spectrad plan`: print what the network section would change
};

// Parses argv (and the YAML file named by --config, applied first).
// On --help prints usage and returns kNotFound with an empty message.
Result<Options> parse_options(int argc, char** argv);

}  // namespace spectra::daemon
