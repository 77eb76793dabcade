#include "net/nft_applier.h"

#include <chrono>

#include "common/log.h"

namespace spectra::net {
namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Status NftApplier::apply(const std::string& script, ApplyTiming* timing) {
  ApplyTiming local;
  ApplyTiming& t = timing ? *timing : local;
  auto t0 = std::chrono::steady_clock::now();
  Status check = runner_.run(script, /*check_only=*/true);
  t.check_ms = ms_since(t0);
  if (!check.ok()) {
    log::warn("nft ruleset rejected by check; nothing applied", {{"error", check.message()}});
    return invalid_argument(check.message());
  }
  auto t1 = std::chrono::steady_clock::now();
  Status commit = runner_.run(script, /*check_only=*/false);
  t.commit_ms = ms_since(t1);
  if (!commit.ok()) {
    log::error("nft commit failed; previous ruleset still in force", {{"error", commit.message()}});
    return io_error(commit.message());
  }
  return {};
}

}  // namespace spectra::net
