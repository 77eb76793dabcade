#pragma once
// A fake nftables that speaks the subset of the nft language the renderer
// writes (add/flush/delete table, add/delete chain and counter, add rule … comment)
// with the kernel's semantics that matter here: a transaction commits whole or
// not at all, `add` of an existing counter keeps its value, `flush table`
// empties every chain, deleting something missing fails. list_json answers in
// libnftables' JSON shape.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "net/nft_runner.h"

namespace spectra::net::testing {

class FakeNft : public NftRunner {
 public:
  struct Chain {
    std::string name;
    bool base = false;
    std::string type, hook, policy;
    int prio = 0;
    std::vector<std::pair<std::string, std::string>> rules;  // text, comment
  };
  struct Counter {
    std::uint64_t packets = 0, bytes = 0;
  };
  struct Table {
    std::vector<Chain> chains;
    std::map<std::string, Counter> counters;
    Chain* chain(const std::string& n);
  };

  Status run(const std::string& script, bool check_only) override;
  Result<std::string> list_json(const std::string& command) override;
  Result<std::uint32_t> generation() override {
    if (!has_generation) return unavailable("no generation");
    return gen;
  }

  // Inspection and fault injection.
  std::map<std::string, Table> tables;  // by "family name"
  std::vector<std::string> committed;   // scripts committed
  int checks = 0;
  bool has_generation = true;
  std::uint32_t gen = 100;  // bumped by every commit, like the kernel's
  int lists = 0;
  std::optional<std::string> fail_check;   // error text for the next checks
  std::optional<std::string> fail_commit;  // error text for the next commits
  void bump(const std::string& table, const std::string& counter, std::uint64_t packets,
            std::uint64_t bytes);
  std::size_t rule_count(const std::string& table) const;
};

}  // namespace spectra::net::testing
