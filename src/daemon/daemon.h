#pragma once
// Wires the components of spectrad together. Library code, so integration
// tests can run a daemon in-process as easily as the binary does.
#include <atomic>
#include <memory>

#include "daemon/options.h"

namespace spectra::daemon {

class Daemon {
 public:
  explicit Daemon(Options options);
  ~Daemon();

  // Opens the store, starts listening. After start(), port() is known.
  Status start();
  // Blocks until SIGTERM/SIGINT (signals must be blocked in every thread
  // before start(): see block_signals()).
  void wait_for_signal();
  // Graceful drain, then stop.
  void stop();

  std::uint16_t port() const;
  static void block_signals();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spectra::daemon
