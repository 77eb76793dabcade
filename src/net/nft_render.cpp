#include "net/nft_render.h"

#include <cstdio>
#include <sstream>

namespace spectra::net {
namespace {

constexpr int kPrioFilter = 0;
constexpr int kPrioDstnat = -100;
constexpr int kPrioSrcnat = 100;
constexpr int kPrioGuard = kPrioDstnat - 10;  // before DNAT rewrites the port
// Lists longer than this become an anonymous set instead of one rule each.
// Expanding small lists keeps big rulesets fast to load: every anonymous set
// is a kernel object, and 10,000 of them take seconds to create.
constexpr std::size_t kMaxExpansion = 4;

struct Dim {
  std::string prefix;  // "ip saddr"
  std::vector<std::string> values;
};

// Cartesian product of the dimensions, each one either expanded (one rule per
// value) or kept as `{ a, b }` when expanding would multiply rules too much.
std::vector<std::string> expand(const std::vector<Dim>& dims) {
  std::vector<std::string> out{""};
  for (const Dim& d : dims) {
    if (d.values.empty()) continue;
    std::vector<std::string> alts;
    if (d.values.size() == 1) {
      alts.push_back(d.prefix + " " + d.values[0]);
    } else if (out.size() * d.values.size() <= kMaxExpansion) {
      for (const auto& v : d.values) alts.push_back(d.prefix + " " + v);
    } else {
      std::string set = d.prefix + " { ";
      for (std::size_t i = 0; i < d.values.size(); ++i) set += (i ? ", " : "") + d.values[i];
      alts.push_back(set + " }");
    }
    std::vector<std::string> next;
    for (const auto& o : out) {
      for (const auto& a : alts) next.push_back(o.empty() ? a : o + " " + a);
    }
    out = std::move(next);
  }
  return out;
}

void split_families(const std::vector<std::string>& cidrs, std::vector<std::string>* v4,
                    std::vector<std::string>* v6) {
  for (const auto& c : cidrs) {
    bool is6 = false;
    is_cidr(c, &is6);
    (is6 ? v6 : v4)->push_back(c);
  }
}

// Appends rules with ids id, id/2, id/3… for each match, sharing one tail.
void add_rules(ChainSpec& chain, const std::string& id, const std::vector<std::string>& matches,
               const std::string& tail) {
  for (std::size_t i = 0; i < matches.size(); ++i) {
    std::string rid = i == 0 ? id : id + "/" + std::to_string(i + 1);
    chain.rules.push_back({rid, matches[i].empty() ? tail : matches[i] + " " + tail});
  }
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::vector<std::string> firewall_matches(const FirewallRule& r, std::vector<std::string>* notes) {
  std::vector<std::string> s4, s6, d4, d6;
  split_families(r.source_cidrs, &s4, &s6);
  split_families(r.destination_cidrs, &d4, &d6);
  std::vector<std::string> fams;
  if (r.source_cidrs.empty() && r.destination_cidrs.empty()) {
    fams.push_back("");
  } else {
    if ((r.source_cidrs.empty() || !s4.empty()) && (r.destination_cidrs.empty() || !d4.empty()))
      fams.push_back("ip");
    if ((r.source_cidrs.empty() || !s6.empty()) && (r.destination_cidrs.empty() || !d6.empty()))
      fams.push_back("ip6");
  }
  if (fams.empty()) {
    notes->push_back(
        "firewall rule '" + r.name +
        "' mixes IPv4 sources with IPv6 destinations (or the reverse) and can never match");
  }
  std::vector<std::string> out;
  for (const auto& f : fams) {
    std::vector<Dim> dims;
    if (f == "ip") {
      dims.push_back({"ip saddr", s4});
      dims.push_back({"ip daddr", d4});
    } else if (f == "ip6") {
      dims.push_back({"ip6 saddr", s6});
      dims.push_back({"ip6 daddr", d6});
    }
    switch (r.protocol) {
      case FwProtocol::kAny:
        break;
      case FwProtocol::kTcp:
      case FwProtocol::kUdp: {
        const char* p = r.protocol == FwProtocol::kTcp ? "tcp" : "udp";
        if (r.ports.empty())
          dims.push_back({"meta l4proto", {p}});
        else
          dims.push_back({std::string(p) + " dport", r.ports});
        break;
      }
      case FwProtocol::kIcmp:
        if (f == "ip")
          dims.push_back({"meta l4proto", {"icmp"}});
        else if (f == "ip6")
          dims.push_back({"meta l4proto", {"ipv6-icmp"}});
        else
          dims.push_back({"meta l4proto", {"icmp", "ipv6-icmp"}});
        break;
    }
    for (auto& m : expand(dims)) out.push_back(std::move(m));
  }
  return out;
}

ChainSpec base_chain(const char* name, const char* type, const char* hook, int prio,
                     const char* policy = "accept") {
  return ChainSpec{name, BaseHook{type, hook, prio, policy}, {}};
}

void build_filter(const NetworkConfig& c, TableSpec& t, std::vector<std::string>* notes) {
  const Firewall& fw = c.firewall;
  std::vector<std::string> snat4, snat6;
  split_families(c.snat.source_cidrs, &snat4, &snat6);
  const std::string egress = quoted(c.egress_interface);

  // Source allow-lists of port forwards: dropped before DNAT, in a filter chain.
  ChainSpec guard = base_chain("port_forward_guard", "filter", "prerouting", kPrioGuard);
  std::string guard_map;
  std::vector<ChainSpec> allow_chains;
  for (const PortForward& f : c.port_forwards) {
    if (f.allow_cidrs.empty()) continue;
    ChainSpec ch{"pfa_" + f.name, std::nullopt, {}};
    std::vector<std::string> a4, a6;
    split_families(f.allow_cidrs, &a4, &a6);
    if (!a4.empty()) add_rules(ch, "pfa:" + f.name, expand({{"ip saddr", a4}}), "return");
    if (!a6.empty()) add_rules(ch, "pfa6:" + f.name, expand({{"ip6 saddr", a6}}), "return");
    t.counters.push_back("pfr_" + f.name);
    ch.rules.push_back(
        {"pfa:" + f.name + ":refuse", "counter name " + quoted("pfr_" + f.name) + " drop"});
    allow_chains.push_back(std::move(ch));
    guard_map += std::string(guard_map.empty() ? "" : ", ") + protocol_name(f.protocol) + " . " +
                 std::to_string(f.listen_port) + " : jump pfa_" + f.name;
  }
  if (!guard_map.empty()) {
    guard.rules.push_back(
        {"guard:forwards",
         "ct state new fib daddr type local meta l4proto . th dport vmap { " + guard_map + " }"});
    t.chains.push_back(std::move(guard));
    for (auto& ch : allow_chains) t.chains.push_back(std::move(ch));
  }

  std::vector<ChainSpec> by_dir(3);
  by_dir[0] = base_chain("input", "filter", "input", kPrioFilter, policy_name(fw.default_input));
  by_dir[1] = base_chain("forward", "filter", "forward", kPrioFilter,
                         fw.enabled ? policy_name(fw.default_forward) : "accept");
  by_dir[2] = base_chain("output", "filter", "output", kPrioFilter);
  ChainSpec& input = by_dir[0];
  ChainSpec& forward = by_dir[1];

  if (c.snat.enabled && !snat4.empty()) {
    // Byte/packet accounting of NATed traffic: nat chains only see the first
    // packet of a connection, so the counting happens here, in both directions.
    t.counters.push_back("snat_tx");
    t.counters.push_back("snat_rx");
    add_rules(forward, "snat:tx", expand({{"oifname", {egress}}, {"ip saddr", snat4}}),
              "counter name \"snat_tx\"");
    add_rules(forward, "snat:rx", expand({{"iifname", {egress}}, {"ip daddr", snat4}}),
              "counter name \"snat_rx\"");
  }
  if (fw.enabled) {
    input.rules.push_back({"base:established", "ct state established,related accept"});
    input.rules.push_back({"base:invalid", "ct state invalid drop"});
    input.rules.push_back({"base:loopback", "iif \"lo\" accept"});
    forward.rules.push_back({"base:established", "ct state established,related accept"});
    forward.rules.push_back({"base:invalid", "ct state invalid drop"});
    for (const FirewallRule& r : fw.rules) {
      std::string counter = "fw_" + r.name;
      t.counters.push_back(counter);
      std::string tail =
          "counter name " + quoted(counter) + (r.action == Action::kAllow ? " accept" : " drop");
      int d = r.direction == Direction::kInput ? 0 : r.direction == Direction::kForward ? 1 : 2;
      add_rules(by_dir[d], "fw:" + r.name, firewall_matches(r, notes), tail);
    }
    // Port forwards and load balancers are configured on purpose: their DNATed
    // connections pass unless a rule above denied them.
    forward.rules.push_back({"base:dnat", "ct status dnat accept"});
    t.chains.push_back(std::move(input));
  }
  if (!forward.rules.empty() || fw.enabled) t.chains.push_back(std::move(forward));
  if (fw.enabled && !by_dir[2].rules.empty()) t.chains.push_back(std::move(by_dir[2]));
  t.present = !t.chains.empty();
}

void build_nat(const NetworkConfig& c, const RenderFacts& facts, TableSpec& t,
               std::vector<std::string>* notes) {
  ChainSpec pre = base_chain("prerouting", "nat", "prerouting", kPrioDstnat);
  ChainSpec out = base_chain("output", "nat", "output", kPrioDstnat);
  ChainSpec post = base_chain("postrouting", "nat", "postrouting", kPrioSrcnat);
  std::vector<ChainSpec> targets;

  std::string pf_map;
  for (const PortForward& f : c.port_forwards) {
    std::string name = "pf_" + f.name;
    t.counters.push_back(name);
    ChainSpec ch{name, std::nullopt, {}};
    ch.rules.push_back({"pf:" + f.name, std::string("meta l4proto ") + protocol_name(f.protocol) +
                                            " counter name " + quoted(name) + " dnat to " +
                                            f.target_address + ":" +
                                            std::to_string(f.target_port)});
    targets.push_back(std::move(ch));
    pf_map += std::string(pf_map.empty() ? "" : ", ") + protocol_name(f.protocol) + " . " +
              std::to_string(f.listen_port) + " : goto " + name;
  }
  if (!pf_map.empty()) {
    pre.rules.push_back(
        {"pf:map", "fib daddr type local meta l4proto . th dport vmap { " + pf_map + " }"});
  }

  std::string lb_map;
  static const std::vector<LoadBalancer> kNone;
  for (const LoadBalancer& lb : facts.lb_in_nftables ? c.load_balancers : kNone) {
    SelectedBackends sel = select_backends(lb, facts.backends);
    if (sel.backends.empty()) {
      notes->push_back("load balancer '" + lb.name +
                       "' has no backends; its address is not balanced");
      continue;
    }
    if (sel.fail_open) {
      notes->push_back("load balancer '" + lb.name +
                       "': every backend is unhealthy; sending to all of them");
    }
    std::vector<std::uint32_t> weights;
    for (const Backend& b : sel.backends) {
      weights.push_back(lb.scheduler == Scheduler::kRoundRobin ? 1 : b.weight);
    }
    std::vector<std::size_t> slots =
        weighted_slots(weights, lb.scheduler != Scheduler::kSourceHash);
    std::string vmap;
    for (std::size_t i = 0; i < slots.size(); ++i) {
      vmap += (i ? ", " : "") + std::to_string(i) + " : goto " +
              backend_object_name(lb.name, sel.backends[slots[i]]);
    }
    std::string expr;
    switch (lb.scheduler) {
      case Scheduler::kRoundRobin:
      case Scheduler::kWeighted:
        expr = "numgen inc mod ";
        break;
      case Scheduler::kRandom:
        expr = "numgen random mod ";
        break;
      case Scheduler::kSourceHash:
        expr = "jhash ip saddr mod ";
        break;
    }
    expr += std::to_string(slots.size());
    if (lb.scheduler == Scheduler::kSourceHash) expr += std::string(" seed ") + kJhashSeed;
    ChainSpec ch{"lb_" + lb.name, std::nullopt, {}};
    ch.rules.push_back({"lb:" + lb.name, expr + " vmap { " + vmap + " }"});
    targets.push_back(std::move(ch));
    // Counters for every known backend: one taken out by its health check
    // keeps its count and continues from it when it returns.
    for (const Backend& b : sel.all) t.counters.push_back(backend_object_name(lb.name, b));
    for (const Backend& b : sel.backends) {
      std::string name = backend_object_name(lb.name, b);
      ChainSpec bc{name, std::nullopt, {}};
      bc.rules.push_back({"lbb:" + lb.name + "/" + b.key(),
                          std::string("meta l4proto ") + protocol_name(lb.protocol) +
                              " counter name " + quoted(name) + " dnat to " + b.key()});
      targets.push_back(std::move(bc));
    }
    lb_map += std::string(lb_map.empty() ? "" : ", ") + lb.listen_address + " . " +
              protocol_name(lb.protocol) + " . " + std::to_string(lb.listen_port) + " : goto lb_" +
              lb.name;
  }
  if (!lb_map.empty()) {
    std::string rule = "ip daddr . meta l4proto . th dport vmap { " + lb_map + " }";
    pre.rules.push_back({"lb:map", rule});
    out.rules.push_back({"lb:map", rule});
  }

  if (c.snat.enabled) {
    std::vector<std::string> s4, s6;
    split_families(c.snat.source_cidrs, &s4, &s6);
    if (!s6.empty())
      notes->push_back("source NAT: IPv6 source CIDRs are not translated (IPv4 NAT only)");
    if (!s4.empty()) {
      t.counters.push_back("snat_conns");
      std::string action =
          c.snat.mode == SnatMode::kMasquerade ? "masquerade" : "snat to " + c.snat.to_address;
      add_rules(post, "snat:nat",
                expand({{"oifname", {quoted(c.egress_interface)}}, {"ip saddr", s4}}),
                "counter name \"snat_conns\" " + action);
    }
  }
  for (ChainSpec* ch : {&pre, &out, &post}) {
    if (!ch->rules.empty()) t.chains.push_back(std::move(*ch));
  }
  for (auto& ch : targets) t.chains.push_back(std::move(ch));
  t.present = !t.chains.empty();
}

std::string hook_text(const BaseHook& h) {
  return "{ type " + h.type + " hook " + h.hook + " priority " + std::to_string(h.priority) +
         "; policy " + h.policy + "; }";
}

}  // namespace

std::string RuleSpec::hash() const {
  std::uint32_t h = 2166136261u;
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 16777619u;
  }
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", h);
  return buf;
}

std::string RuleSpec::comment() const { return id + " #" + hash(); }

const ChainSpec* TableSpec::chain(const std::string& n) const {
  for (const auto& c : chains) {
    if (c.name == n) return &c;
  }
  return nullptr;
}

std::string backend_object_name(const std::string& lb, const Backend& b) {
  std::string addr = b.address;
  for (char& ch : addr) {
    if (ch == '.') ch = '_';
  }
  return "lbb_" + lb + "_" + addr + "_" + std::to_string(b.port);
}

Ruleset build_ruleset(const NetworkConfig& config, const RenderFacts& facts) {
  Ruleset r;
  r.filter.family = kFilterFamily;
  r.filter.name = kFilterTable;
  r.nat.family = kNatFamily;
  r.nat.name = kNatTable;
  build_filter(config, r.filter, &r.notes);
  build_nat(config, facts, r.nat, &r.notes);
  return r;
}

std::string render_table(const TableSpec& t, const ExistingObjects& now) {
  std::ostringstream s;
  const std::string q = t.qualified();
  if (!t.present) {
    if (now.exists) s << "add table " << q << "\ndelete table " << q << "\n";
    return s.str();
  }
  s << "add table " << q << "\n";
  s << "flush table " << q << "\n";
  std::set<std::string> want_chains, want_counters(t.counters.begin(), t.counters.end());
  for (const auto& c : t.chains) want_chains.insert(c.name);
  for (const auto& name : now.chains) {
    auto it = now.base_chains.find(name);
    const ChainSpec* want = t.chain(name);
    bool hook_changed =
        want && it != now.base_chains.end() &&
        (!want->base || want->base->type != it->second.type ||
         want->base->hook != it->second.hook || want->base->priority != it->second.priority);
    bool became_base = want && want->base && it == now.base_chains.end();
    if (!want_chains.count(name) || hook_changed || became_base)
      s << "delete chain " << q << " " << name << "\n";
  }
  for (const auto& name : now.counters) {
    if (!want_counters.count(name)) s << "delete counter " << q << " " << name << "\n";
  }
  for (const auto& name : t.counters) s << "add counter " << q << " " << name << "\n";
  for (const auto& c : t.chains) {
    s << "add chain " << q << " " << c.name;
    if (c.base) s << " " << hook_text(*c.base);
    s << "\n";
  }
  for (const auto& c : t.chains) {
    for (const auto& r : c.rules) {
      s << "add rule " << q << " " << c.name << " " << r.text << " comment " << quoted(r.comment())
        << "\n";
    }
  }
  return s.str();
}

std::string render_script(const Ruleset& r, const ExistingObjects& filter_now,
                          const ExistingObjects& nat_now) {
  std::string out =
      "# Cloud Spectra Gateway network data plane. Generated; edits are replaced.\n"
      "# Only the tables inet spectra_filter and ip spectra_nat are touched.\n";
  for (const auto& n : r.notes) out += "# note: " + n + "\n";
  out += render_table(r.filter, filter_now);
  out += render_table(r.nat, nat_now);
  return out;
}

}  // namespace spectra::net
