// spectra: the operator CLI. All behaviour lives in spectra_cli (run_cli),
// which the tests drive directly. `spectra lab up|down|status` hands over to
// the lab script, which builds the one-host demo VPC from network namespaces.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cli/run_cli.h"

namespace {

std::string lab_script() {
  if (const char* env = std::getenv("SPECTRA_LAB_SCRIPT")) return env;
  std::error_code ec;
  // In a build tree: build/<preset>/app/spectra/spectra -> <repo>/scripts/lab.
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto candidate = exe.parent_path() / "../../../../scripts/lab";
    if (std::filesystem::exists(candidate, ec)) return std::filesystem::canonical(candidate, ec).string();
  }
  return "/usr/share/cloudspectra/lab";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "lab") {
    std::string script = lab_script();
    std::vector<char*> argv2{const_cast<char*>("bash"), script.data()};
    for (std::size_t i = 1; i < args.size(); ++i) argv2.push_back(args[i].data());
    argv2.push_back(nullptr);
    ::execvp("bash", argv2.data());
    std::cerr << "error: cannot run the lab script " << script << "\n";
    return 3;
  }
  return spectra::cli::run_cli(std::move(args), std::cout, std::cerr);
}
