// fake-upstream: runs the protocol-faithful fake LLM upstreams on loopback
// for tests and benchmarks that drive the real spectrad binary (the openai
// npm SDK suite, bench/). Prints one JSON line with the base URLs, then
// serves until SIGTERM/SIGINT or until standard input closes.
#include <poll.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>

#include <iostream>

#include "fake_openai.h"

int main(int argc, char** argv) {
  using namespace spectra;
  std::uint16_t openai_port = 0;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--openai-port") openai_port = static_cast<std::uint16_t>(std::stoi(argv[i + 1]));
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  fakes::FakeOpenAi openai("openai"), local("local"), remote_b("backup");
  if (!openai.start(openai_port).ok() || !local.start().ok() || !remote_b.start().ok()) {
    std::cerr << "fake-upstream: cannot listen\n";
    return 1;
  }
  boost::json::object urls{{"openai", openai.base_url()}, {"local", local.base_url()}, {"backup", remote_b.base_url()}};
  std::cout << boost::json::serialize(urls) << std::endl;
  // Wait for a signal, or for the parent to close our stdin (so a test
  // runner that dies never leaves this process behind).
  struct stat st{};
  bool watch_stdin = ::fstat(0, &st) == 0 && S_ISFIFO(st.st_mode);
  for (;;) {
    pollfd p{0, POLLIN, 0};
    int r = watch_stdin ? ::poll(&p, 1, 200) : (::usleep(200'000), 0);
    if (r > 0) {
      char buf[256];
      if (::read(0, buf, sizeof buf) <= 0) break;
    }
    timespec zero{0, 0};
    if (sigtimedwait(&set, nullptr, &zero) > 0) break;
  }
  return 0;
}
