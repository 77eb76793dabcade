#include "daemon/options.h"

#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <iostream>

namespace spectra::daemon {
namespace {

Status split_address(const std::string& s, std::string* host, std::uint16_t* port) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return invalid_argument("expected ADDRESS:PORT, got '" + s + "'");
  std::string h = s.substr(0, colon);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  try {
    unsigned long p = std::stoul(s.substr(colon + 1));
    if (p > 65535) throw std::out_of_range("port");
    *port = static_cast<std::uint16_t>(p);
  } catch (const std::exception&) {
    return invalid_argument("bad port in '" + s + "'");
  }
  *host = h;
  return {};
}

Status split_listen(const std::string& s, Options* o) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return invalid_argument("--listen must be ADDRESS:PORT, got '" + s + "'");
  std::string host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  try {
    unsigned long p = std::stoul(s.substr(colon + 1));
    if (p > 65535) throw std::out_of_range("port");
    o->api_port = static_cast<std::uint16_t>(p);
  } catch (const std::exception&) {
    return invalid_argument("bad port in '" + s + "'");
  }
  o->api_address = host;
  return {};
}

Status apply_file(const std::string& path, Options* o) {
  try {
    YAML::Node y = YAML::LoadFile(path);
    if (!y.IsMap()) return invalid_argument(path + ": expected a mapping");
    for (const auto& kv : y) {
      auto key = kv.first.as<std::string>();
      if (key == "listen") {
        if (Status s = split_listen(kv.second.as<std::string>(), o); !s.ok()) return s;
      } else if (key == "state_dir") o->state_dir = kv.second.as<std::string>();
      else if (key == "role") o->role = kv.second.as<std::string>();
      else if (key == "log_level") o->log_level = kv.second.as<std::string>();
      else if (key == "threads") o->threads = kv.second.as<std::size_t>();
      else if (key == "drain_timeout_ms") o->drain_timeout = std::chrono::milliseconds(kv.second.as<long>());
      else return invalid_argument(path + ": unknown setting '" + key + "'");
    }
  } catch (const YAML::Exception& e) {
    return invalid_argument(path + ": " + e.what());
  }
  return {};
}

}  // namespace

Result<Options> parse_options(int argc, char** argv) {
  Options o;
  CLI::App app{"spectrad — the Cloud Spectra Gateway appliance daemon"};
  std::string config_file, listen, ai_listen, state_dir, role, log_level;
  std::size_t threads = 0;
  long drain_ms = -1;
  app.add_option("--config", config_file, "YAML settings file (flags override it)");
  app.add_option("--listen", listen, "Config API address:port (default 127.0.0.1:8080)");
  app.add_option("--state-dir", state_dir, "Folder for the embedded store, keys and tokens (default ./state)");
  app.add_option("--role", role, "Which components run: all | api")->check(CLI::IsMember({"all", "api"}));
  app.add_option("--log-level", log_level, "debug | info | warn | error")->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  app.add_option("--threads", threads, "I/O threads (default: one per core)");
  app.add_option("--drain-timeout-ms", drain_ms, "How long SIGTERM waits for in-flight requests");
  app.add_option("--ai-listen", ai_listen, "AI gateway address:port (default: the API address and ai.listen_port)");
  app.add_option("--ready-file", o.ready_file, "Write ADDRESS:PORT (and 'ai ADDRESS:PORT') here once listening");
  app.add_option("--model-dir", o.model_dir, "Folder of the built-in embedding model (scripts/install-model puts it in build/models/all-minilm-l6-v2)");
  app.add_option("--verify-audit", o.verify_audit, "Verify the hash chain of an AI audit log (and its rotated files), then exit");
  app.add_flag("--reset-admin-token", o.reset_admin_token, "Replace the admin token and write it to <state-dir>/admin.token");
  app.add_flag("--print-openapi", o.print_openapi, "Print the config API's OpenAPI document and exit");
  app.add_flag("--network", o.network, "Program the kernel (nftables, sysctls) from the network section (needs root)");
  auto* plan = app.add_subcommand("plan", "Print the difference between the network section and the kernel's state; change nothing");
  plan->add_option("--file", o.plan_file, "A JSON file holding the network section (default: the config of record)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return not_found("");
  } catch (const CLI::ParseError& e) {
    return invalid_argument(e.what());
  }
  if (plan->parsed()) o.plan = true;
  if (!config_file.empty()) {
    if (Status s = apply_file(config_file, &o); !s.ok()) return s;
  }
  if (!listen.empty()) {
    if (Status s = split_listen(listen, &o); !s.ok()) return s;
  }
  if (!ai_listen.empty()) {
    if (Status s = split_address(ai_listen, &o.ai_address, &o.ai_port); !s.ok()) return s;
    o.ai_port_given = true;
  } else {
    o.ai_address = o.api_address;
  }
  if (!state_dir.empty()) o.state_dir = state_dir;
  if (!role.empty()) o.role = role;
  if (!log_level.empty()) o.log_level = log_level;
  if (threads) o.threads = threads;
  if (drain_ms >= 0) o.drain_timeout = std::chrono::milliseconds(drain_ms);
  return o;
}

}  // namespace spectra::daemon
