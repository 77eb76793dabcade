#pragma once
// The seam between the network reconciler and the kernel's nftables. The real
// implementation drives libnftables in-process; tests use a fake, or wrap the
// real one to inject faults.
#include <cstdint>
#include <string>

#include "common/result.h"

namespace spectra::net {

class NftRunner {
 public:
  virtual ~NftRunner() = default;
  // Runs `script` as one nft transaction: all of it is committed or none.
  // check_only validates it against the kernel (like `nft -c`) and commits
  // nothing. A failure carries nft's own error text.
  virtual Status run(const std::string& script, bool check_only) = 0;
  // Runs one read-only command, e.g. "list table inet spectra_filter", and
  // returns libnftables' JSON output. A table that does not exist is kNotFound.
  virtual Result<std::string> list_json(const std::string& command) = 0;
  // The ruleset generation id, which the kernel bumps on every committed
  // nftables transaction in the namespace (anyone's). Lets the reconciler
  // trust its own record of the tables instead of listing them again.
  // Runners that cannot tell return an error; then every reconcile reads back.
  virtual Result<std::uint32_t> generation() {
    return Status(Code::kUnavailable, "no generation id");
  }
};

// libnftables (Debian libnftables-dev). It acts on the network namespace of
// the calling thread at the time of the call, which is how the tests and the
// lab point it at a namespace. Calls are serialised: libnftables keeps
// process-wide state.
class LibNftablesRunner : public NftRunner {
 public:
  Status run(const std::string& script, bool check_only) override;
  Result<std::string> list_json(const std::string& command) override;
  Result<std::uint32_t> generation() override;  // NFT_MSG_GETGEN over NETLINK_NETFILTER
};

}  // namespace spectra::net
