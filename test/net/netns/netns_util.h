#pragma once
// Helpers for the kernel tests: a lab per test (scripts/lab with a unique
// prefix), moving the calling thread into a namespace, and small TCP servers
// and clients whose sockets are created inside a chosen namespace. Every wait
// is bounded by a deadline.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"

namespace spectra::net::testing {

using std::chrono::milliseconds;

// Moves the calling thread into /run/netns/<name> until destroyed. Sockets
// opened meanwhile (and libnftables calls) belong to that namespace.
class NetnsScope {
 public:
  explicit NetnsScope(const std::string& name);
  ~NetnsScope();
  NetnsScope(const NetnsScope&) = delete;
  NetnsScope& operator=(const NetnsScope&) = delete;
  bool ok() const { return ok_; }

 private:
  int saved_ = -1;
  bool ok_ = false;
};

// One lab (scripts/lab up --bare) with a prefix unique to this process and
// call; down() is idempotent and also runs from the destructor.
class Lab {
 public:
  Lab();
  ~Lab();
  Status up();
  void down();
  std::string ns(const std::string& role) const { return prefix_ + role; }
  const std::string& prefix() const { return prefix_; }
  // Removes labs whose test process died without tearing down.
  static void collect_garbage();

 private:
  std::string prefix_;
  bool is_up_ = false;
};

// A TCP server in a namespace. Mode kHello answers each connection with
// "<id> <peer address>\n" and closes; kEcho echoes lines until the peer closes.
class TcpServer {
 public:
  enum class Mode { kHello, kEcho };
  TcpServer(std::string ns, std::string address, std::uint16_t port, std::string id, Mode mode);
  ~TcpServer();
  Status start();
  void stop();  // closes the listening socket: new connections are refused
  std::uint64_t accepted() const { return accepted_.load(); }

 private:
  void loop();
  std::string ns_, address_, id_;
  std::uint16_t port_;
  Mode mode_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> accepted_{0};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::thread> echo_threads_;  // guarded by mu_
};

struct ConnectOptions {
  std::string bind_address;  // source address, empty for any
  milliseconds timeout{1000};
};

// Connects from namespace `ns` and reads one line. Errors: kUnavailable
// "refused", kDeadlineExceeded "timeout".
Result<std::string> tcp_hello(const std::string& ns, const std::string& address, std::uint16_t port,
                              const ConnectOptions& opt = {});

// A connection kept open for echo round trips.
class TcpConn {
 public:
  static Result<std::unique_ptr<TcpConn>> open(const std::string& ns, const std::string& address,
                                               std::uint16_t port, milliseconds timeout);
  ~TcpConn();
  Result<std::string> round_trip(const std::string& line, milliseconds timeout);

 private:
  explicit TcpConn(int fd) : fd_(fd) {}
  int fd_;
};

bool running_as_root();

}  // namespace spectra::net::testing
