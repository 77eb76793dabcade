#pragma once
// The careful half of "renderers are pure, appliers are careful": validate the
// whole transaction against the kernel first (dry run), then commit it as one
// atomic nft transaction. Whatever fails, the ruleset in force before the call
// stays fully in force, and the error says why.
#include <string>

#include "common/result.h"
#include "net/nft_runner.h"

namespace spectra::net {

struct ApplyTiming {
  double check_ms = 0;
  double commit_ms = 0;
};

class NftApplier {
 public:
  explicit NftApplier(NftRunner& runner) : runner_(runner) {}

  // kInvalidArgument when the check rejects the script (nothing was sent for
  // commit); kIo when the commit itself failed (the kernel aborted the whole
  // transaction). Both carry nft's error text.
  Status apply(const std::string& script, ApplyTiming* timing = nullptr);

 private:
  NftRunner& runner_;
};

}  // namespace spectra::net
