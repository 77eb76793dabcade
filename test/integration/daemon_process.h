#pragma once
// Runs the real spectrad binary on an ephemeral port with its own state
// folder, for integration tests. Stops it (SIGKILL if needed) on destruction,
// so a failing test never leaves a daemon behind.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/file_util.h"
#include "http/client.h"

namespace spectra::testing {

inline std::string spectrad_path() { return std::string(SPECTRA_BINARY_DIR) + "/app/spectrad/spectrad"; }

class DaemonProcess {
 public:
  explicit DaemonProcess(std::string state_dir = "") {
    if (state_dir.empty()) {
      static int n = 0;
      dir_ = (std::filesystem::temp_directory_path() /
              ("spectra-it-" + std::to_string(::getpid()) + "-" + std::to_string(n++)))
                 .string();
      std::filesystem::remove_all(dir_);
      owns_dir_ = true;
    } else {
      dir_ = std::move(state_dir);
    }
    std::filesystem::create_directories(dir_);
  }
  ~DaemonProcess() {
    kill(SIGKILL);
    // A sanitizer report in the daemon fails the test that ran it.
    std::string l = log();
    if (l.find("AddressSanitizer") != std::string::npos || l.find("runtime error:") != std::string::npos) {
      ADD_FAILURE() << "spectrad reported a sanitizer error:\n" << l.substr(0, 4000);
    }
    if (owns_dir_) std::filesystem::remove_all(dir_);
  }

  // Starts spectrad and waits (up to 30 s) until it listens.
  bool start(std::vector<std::string> extra = {}) {
    std::string ready = dir_ + "/ready";
    std::filesystem::remove(ready);
    std::vector<std::string> args = {spectrad_path(), "--listen", "127.0.0.1:0", "--state-dir",
                                     dir_ + "/state", "--ready-file", ready, "--threads", "2",
                                     "--ai-listen", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      // If the test process dies (an abort skips destructors), so does the daemon.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) std::_Exit(1);
      std::string log = dir_ + "/spectrad.log";
      FILE* f = std::fopen(log.c_str(), "a");
      if (f) {
        ::dup2(fileno(f), 1);
        ::dup2(fileno(f), 2);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      std::_Exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = fs::read_file(ready);
      if (r.ok() && !r->empty()) {
        // "host:port\n" then "ai host:port\n"
        std::string first = r->substr(0, r->find('\n'));
        port_ = static_cast<std::uint16_t>(std::stoi(first.substr(first.rfind(':') + 1)));
        if (auto ai = r->find("\nai "); ai != std::string::npos) {
          std::string line = r->substr(ai + 4, r->find('\n', ai + 4) - ai - 4);
          ai_port_ = static_cast<std::uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
        }
        auto tok = fs::read_file(dir_ + "/state/admin.token");
        if (tok.ok()) token_ = tok->substr(0, tok->find('\n'));
        return true;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // Sends `sig` and waits for the process to end. Returns the wait status.
  int kill(int sig) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

  std::uint16_t port() const { return port_; }
  std::uint16_t ai_port() const { return ai_port_; }
  const std::string& token() const { return token_; }
  const std::string& dir() const { return dir_; }
  std::string state_dir() const { return dir_ + "/state"; }
  std::string log() const {
    std::ifstream f(dir_ + "/spectrad.log");
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  http::Endpoint endpoint() const { return {"127.0.0.1", port_, ""}; }
  std::vector<std::pair<std::string, std::string>> auth(std::string if_match = "") const {
    std::vector<std::pair<std::string, std::string>> h = {{"Authorization", "Bearer " + token_},
                                                          {"Content-Type", "application/json"}};
    if (!if_match.empty()) h.emplace_back("If-Match", "\"" + if_match + "\"");
    return h;
  }

 private:
  std::string dir_;
  bool owns_dir_ = false;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::uint16_t ai_port_ = 0;
  std::string token_;
};

}  // namespace spectra::testing
