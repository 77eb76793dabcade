#pragma once
// `spectrad plan`: what applying the network section would change in the
// kernel, computed from a read-back of the gateway's own tables. Changes
// nothing.
#include <string>

#include "common/result.h"
#include "daemon/options.h"

namespace spectra::daemon {

// The section comes from options.plan_file (a JSON network section, checked
// against the schema) or from the config of record in options.state_dir.
Result<std::string> plan_network_change(const Options& options);

}  // namespace spectra::daemon
