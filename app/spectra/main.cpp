// spectra: the operator CLI. All behaviour lives in spectra_cli (run_cli),
// which the tests drive directly.
#include <iostream>
#include <string>
#include <vector>

#include "cli/run_cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return spectra::cli::run_cli(std::move(args), std::cout, std::cerr);
}
