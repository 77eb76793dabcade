#pragma once
// The whole `spectra` command line as a function, so tests drive it with
// argument vectors, string streams and a fake transport.
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cli/transport.h"
#include "common/result.h"

namespace spectra::cli {

inline constexpr const char* kDefaultUrl = "http://127.0.0.1:8080";
inline constexpr const char* kDefaultTokenFile = "./state/admin.token";

// What the CLI takes from the world besides its arguments. A struct of
// functions rather than an interface class: tests replace one piece (the
// transport, one variable) and keep the rest.
struct CliEnv {
  std::function<std::optional<std::string>(const std::string& name)> getenv;
  std::function<bool(const std::string& path)> file_exists;
  std::function<Result<std::string>(const std::string& path)> read_file;
  std::istream* stdin_stream = nullptr;  // for `-f -`
  std::function<Result<std::unique_ptr<ApiTransport>>(const std::string& base_url)> make_transport;

  // The process environment, the file system, std::cin and HttpTransport.
  static CliEnv system();
};

// `args` are the arguments after the program name. Returns the exit code:
// 0 ok, 1 the server refused, 2 usage, 3 unreachable, 4 auth (see ExitCode).
int run_cli(std::vector<std::string> args, std::ostream& out, std::ostream& err, const CliEnv& env);
int run_cli(std::vector<std::string> args, std::ostream& out, std::ostream& err);

}  // namespace spectra::cli
