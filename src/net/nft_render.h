#pragma once
// The pure renderer: typed network config + observed facts -> the nftables
// model of the two tables the gateway owns, and the transaction text that
// makes the kernel match it. No I/O here; golden files in test/net/golden pin
// the output.
//
// Ownership: only `table inet spectra_filter` and `table ip spectra_nat` are
// ever named. A transaction is `add table` + `flush table` (rules only, so
// named counters keep counting across applies) + deletion of our own chains and
// counters that are no longer wanted + every chain and rule; never
// `flush ruleset`.
//
// Every rule carries a comment "<id> #<hash>" (hash of the rule text) so the
// reconciler can read the kernel back and tell, rule by rule, what differs.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "net/lb_select.h"
#include "net/network_config.h"

namespace spectra::net {

inline constexpr const char* kFilterFamily = "inet";
inline constexpr const char* kFilterTable = "spectra_filter";
inline constexpr const char* kNatFamily = "ip";
inline constexpr const char* kNatTable = "spectra_nat";

// Fixed seed for source_hash so a re-apply does not reshuffle clients.
inline constexpr const char* kJhashSeed = "0x53504354";

struct RuleSpec {
  std::string id;               // stable identity: "fw:web" or "fw:web/2" for an expansion
  std::string text;             // the rule body, without the comment
  std::string hash() const;     // 8 hex digits of FNV-1a over text
  std::string comment() const;  // "<id> #<hash>"
};

struct BaseHook {
  std::string type;  // filter | nat
  std::string hook;  // prerouting | input | forward | output | postrouting
  int priority = 0;
  std::string policy = "accept";
  bool operator==(const BaseHook&) const = default;
};

struct ChainSpec {
  std::string name;
  std::optional<BaseHook> base;
  std::vector<RuleSpec> rules;
};

struct TableSpec {
  std::string family;
  std::string name;
  bool present = false;  // false: the table should not exist at all
  std::vector<std::string> counters;
  std::vector<ChainSpec> chains;
  std::string qualified() const { return family + " " + name; }
  const ChainSpec* chain(const std::string& name) const;
};

// What exists now in one of our tables (read back from the kernel).
struct ExistingObjects {
  bool exists = false;
  std::set<std::string> chains;
  std::set<std::string> counters;
  std::map<std::string, BaseHook> base_chains;  // to recreate one whose hook changed
};

struct RenderFacts {
  bool lb_in_nftables = true;  // false when IPVS balances the load balancers
  BackendFacts backends;
};

struct Ruleset {
  TableSpec filter;
  TableSpec nat;
  std::vector<std::string> notes;  // for the operator: rules that cannot match, v6 not NATed…
};

Ruleset build_ruleset(const NetworkConfig& config, const RenderFacts& facts);

// One table's part of a transaction, given what exists now.
std::string render_table(const TableSpec& table, const ExistingObjects& existing);

// Both tables as one transaction (what golden files pin).
std::string render_script(const Ruleset& ruleset, const ExistingObjects& filter_now = {},
                          const ExistingObjects& nat_now = {});

// Chain/counter name for a load balancer backend: lbb_<lb>_<a>_<b>_<c>_<d>_<port>.
std::string backend_object_name(const std::string& lb, const Backend& b);

}  // namespace spectra::net
