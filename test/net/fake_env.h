#pragma once
// Fakes of the reconciler's other seams: sysctls, the L4 probe, the clock, the
// TCP prober, the backend source.
#include <deque>
#include <functional>
#include <map>
#include <string>

#include "net/health_checker.h"
#include "net/ipvs_backend.h"
#include "net/reconciler.h"
#include "net/sysctl.h"

namespace spectra::net::testing {

class FakeSysctl : public SysctlWriter {
 public:
  std::map<std::string, std::string> values{{"net/ipv4/ip_forward", "0"}};
  std::map<std::string, std::string> refuse;  // key -> error
  int writes = 0;
  Result<std::string> read(const std::string& key) override {
    auto it = values.find(key);
    if (it == values.end()) return not_found(key);
    return it->second;
  }
  Status write(const std::string& key, const std::string& value) override {
    if (auto it = refuse.find(key); it != refuse.end()) return io_error(it->second);
    ++writes;
    values[key] = value;
    return {};
  }
};

class FakeL4 : public L4Environment {
 public:
  bool proc = false, genl = false;
  bool proc_ip_vs_exists() override { return proc; }
  bool ipvs_family_resolves() override { return genl; }
};

class FakeClock : public Clock {
 public:
  time_point t{std::chrono::seconds(1000)};
  time_point now() const override { return t; }
  void advance(std::chrono::milliseconds d) { t += d; }
};

// Holds probes until the test answers them.
class FakeProber : public Prober {
 public:
  struct Pending {
    std::string address;
    std::uint16_t port;
    std::chrono::milliseconds timeout;
    std::function<void(bool, std::string)> done;
  };
  std::deque<Pending> pending;
  std::map<std::string, bool> auto_answer;  // "addr:port" -> result, answered at once
  void probe(const std::string& address, std::uint16_t port, std::chrono::milliseconds timeout,
             std::function<void(bool, std::string)> done) override {
    auto it = auto_answer.find(address + ":" + std::to_string(port));
    if (it != auto_answer.end()) {
      done(it->second, it->second ? "connected" : "refused");
      return;
    }
    pending.push_back({address, port, timeout, std::move(done)});
  }
  // Answers every pending probe to `key` (or all when key is empty).
  int answer(const std::string& key, bool ok) {
    int n = 0;
    for (auto it = pending.begin(); it != pending.end();) {
      if (key.empty() || it->address + ":" + std::to_string(it->port) == key) {
        auto done = std::move(it->done);
        it = pending.erase(it);
        done(ok, ok ? "connected" : "refused");
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }
};

class FakeBackendSource : public BackendSource {
 public:
  std::map<std::string, std::vector<Backend>> sets;
  std::optional<std::vector<Backend>> backends(const std::string& lb, const std::string&) override {
    auto it = sets.find(lb);
    if (it == sets.end()) return std::nullopt;
    return it->second;
  }
};

}  // namespace spectra::net::testing
