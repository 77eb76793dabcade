#pragma once
// What the kernel has now in one of our tables, read back through
// `nft -j list table …` (libnftables JSON output), and the rule-by-rule
// difference from what the renderer wants.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "net/nft_render.h"
#include "net/nft_runner.h"

namespace spectra::net {

struct CounterValue {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
};

struct ActualChain {
  std::string name;
  std::optional<BaseHook> base;
  std::vector<std::string> rule_comments;  // in kernel order; "" for a rule without one
};

struct ActualTable {
  bool exists = false;
  std::string family;
  std::string name;
  std::vector<ActualChain> chains;  // kernel order
  std::map<std::string, CounterValue> counters;

  const ActualChain* chain(const std::string& name) const;
  ExistingObjects objects() const;
  std::size_t rule_count() const;
};

// Parses the JSON of `list table <family> <name>` (or of `list counters table …`).
Result<ActualTable> parse_table_json(std::string_view json, const std::string& family,
                                     const std::string& name);

// Reads one table; a table that does not exist comes back with exists=false.
Result<ActualTable> read_table(NftRunner& runner, const std::string& family,
                               const std::string& name);

// Only the named counters of a table (cheaper than the whole table).
Result<std::map<std::string, CounterValue>> read_counters(NftRunner& runner,
                                                          const std::string& family,
                                                          const std::string& name);

// The table as the kernel holds it right after `want` was committed (for
// the reconciler's record of its own commits; counter values are unknown).
ActualTable as_actual(const TableSpec& want);

// Human-readable differences, one line each ("forward: + rule fw:web"); empty
// when the kernel already matches `want`.
std::vector<std::string> diff_table(const TableSpec& want, const ActualTable& have);

}  // namespace spectra::net
