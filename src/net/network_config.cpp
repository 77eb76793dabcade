#include "net/network_config.h"

#include <arpa/inet.h>

#include <cctype>

namespace spectra::net {
namespace {

namespace bj = boost::json;

// Reads typed fields out of a JSON object, remembering the first error.
class Reader {
 public:
  explicit Reader(Status* first_error) : err_(first_error) {}

  const bj::value* at(const bj::object& o, const char* key, const std::string& path) {
    const bj::value* v = o.if_contains(key);
    if (!v) fail(path + "/" + key, "is missing");
    return v;
  }
  std::string str(const bj::object& o, const char* key, const std::string& path) {
    const bj::value* v = at(o, key, path);
    if (!v) return {};
    if (!v->is_string()) return fail(path + "/" + key, "must be a string"), std::string();
    return std::string(v->get_string());
  }
  std::int64_t integer(const bj::object& o, const char* key, const std::string& path,
                       std::int64_t lo, std::int64_t hi) {
    const bj::value* v = at(o, key, path);
    if (!v) return lo;
    if (!v->is_int64() && !v->is_uint64()) return fail(path + "/" + key, "must be an integer"), lo;
    std::int64_t n = v->is_int64() ? v->get_int64() : static_cast<std::int64_t>(v->get_uint64());
    if (n < lo || n > hi) return fail(path + "/" + key, "is out of range"), lo;
    return n;
  }
  bool boolean(const bj::object& o, const char* key, const std::string& path) {
    const bj::value* v = at(o, key, path);
    if (!v) return false;
    if (!v->is_bool()) return fail(path + "/" + key, "must be a boolean"), false;
    return v->get_bool();
  }
  const bj::object& object(const bj::object& o, const char* key, const std::string& path) {
    static const bj::object kEmpty;
    const bj::value* v = at(o, key, path);
    if (!v) return kEmpty;
    if (!v->is_object()) return fail(path + "/" + key, "must be an object"), kEmpty;
    return v->get_object();
  }
  const bj::array& array(const bj::object& o, const char* key, const std::string& path) {
    static const bj::array kEmpty;
    const bj::value* v = at(o, key, path);
    if (!v) return kEmpty;
    if (!v->is_array()) return fail(path + "/" + key, "must be an array"), kEmpty;
    return v->get_array();
  }
  std::vector<std::string> cidrs(const bj::object& o, const char* key, const std::string& path) {
    std::vector<std::string> out;
    const bj::array& a = array(o, key, path);
    for (std::size_t i = 0; i < a.size(); ++i) {
      bool v6 = false;
      if (!a[i].is_string() || !is_cidr(std::string(a[i].get_string()), &v6)) {
        fail(path + "/" + key + "/" + std::to_string(i), "must be a CIDR block");
        continue;
      }
      out.emplace_back(a[i].get_string());
    }
    return out;
  }
  template <class E>
  E choice(const bj::object& o, const char* key, const std::string& path,
           std::initializer_list<std::pair<const char*, E>> options) {
    std::string s = str(o, key, path);
    for (const auto& [name, value] : options) {
      if (s == name) return value;
    }
    fail(path + "/" + key, "has an unknown value '" + s + "'");
    return options.begin()->second;
  }
  void fail(const std::string& where, const std::string& why) {
    if (err_->ok()) *err_ = invalid_argument("network" + where + " " + why);
  }

 private:
  Status* err_;
};

std::string idx(const std::string& base, const char* key, std::size_t i) {
  return base + "/" + key + "/" + std::to_string(i);
}

bool is_port_range(const std::string& s) {
  auto num = [](const std::string& t, unsigned* out) {
    if (t.empty() || t.size() > 5) return false;
    unsigned v = 0;
    for (char c : t) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    *out = v;
    return v >= 1 && v <= 65535;
  };
  auto dash = s.find('-');
  unsigned lo = 0, hi = 0;
  if (dash == std::string::npos) return num(s, &lo);
  return num(s.substr(0, dash), &lo) && num(s.substr(dash + 1), &hi) && lo <= hi;
}

}  // namespace

const char* protocol_name(Protocol p) { return p == Protocol::kTcp ? "tcp" : "udp"; }

const char* l4_backend_name(L4Backend b) {
  switch (b) {
    case L4Backend::kAuto:
      return "auto";
    case L4Backend::kIpvs:
      return "ipvs";
    case L4Backend::kNftables:
      return "nftables";
  }
  return "";
}

const char* scheduler_name(Scheduler s) {
  switch (s) {
    case Scheduler::kRoundRobin:
      return "round_robin";
    case Scheduler::kWeighted:
      return "weighted";
    case Scheduler::kSourceHash:
      return "source_hash";
    case Scheduler::kRandom:
      return "random";
  }
  return "";
}

const char* policy_name(Policy p) { return p == Policy::kAccept ? "accept" : "drop"; }

std::string Backend::key() const { return address + ":" + std::to_string(port); }

bool NetworkConfig::needs_forwarding() const {
  return snat.enabled || !port_forwards.empty() || !load_balancers.empty();
}

bool is_ipv4(const std::string& s) {
  in_addr a{};
  return !s.empty() && inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_cidr(const std::string& s, bool* v6) {
  auto slash = s.find('/');
  if (slash == std::string::npos || slash + 1 >= s.size() || s.size() - slash > 4) return false;
  std::string addr = s.substr(0, slash);
  unsigned bits = 0;
  for (char c : s.substr(slash + 1)) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    bits = bits * 10 + static_cast<unsigned>(c - '0');
  }
  in6_addr a6{};
  if (is_ipv4(addr)) {
    *v6 = false;
    return bits <= 32;
  }
  if (inet_pton(AF_INET6, addr.c_str(), &a6) == 1) {
    *v6 = true;
    return bits <= 128;
  }
  return false;
}

bool is_interface_name(const std::string& s) {
  if (s.empty() || s.size() > 15) return false;  // IFNAMSIZ - 1
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_' &&
        c != '@' && c != ':') {
      return false;
    }
  }
  return true;
}

bool is_object_name(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Result<NetworkConfig> parse_network_config(const boost::json::object& n) {
  Status err;
  Reader r(&err);
  NetworkConfig c;
  const std::string root;
  c.egress_interface = r.str(n, "egress_interface", root);
  if (!is_interface_name(c.egress_interface))
    r.fail("/egress_interface", "must be an interface name");
  c.l4_backend = r.choice<L4Backend>(
      n, "l4_backend", root,
      {{"auto", L4Backend::kAuto}, {"ipvs", L4Backend::kIpvs}, {"nftables", L4Backend::kNftables}});
  c.conntrack_max = r.integer(n, "conntrack_max", root, 0, 16777216);

  const bj::object& s = r.object(n, "snat", root);
  c.snat.enabled = r.boolean(s, "enabled", "/snat");
  c.snat.mode = r.choice<SnatMode>(
      s, "mode", "/snat", {{"masquerade", SnatMode::kMasquerade}, {"snat", SnatMode::kSnat}});
  c.snat.to_address = r.str(s, "to_address", "/snat");
  if (c.snat.mode == SnatMode::kSnat && !is_ipv4(c.snat.to_address)) {
    r.fail("/snat/to_address", "must be an IPv4 address when mode is snat");
  }
  c.snat.source_cidrs = r.cidrs(s, "source_cidrs", "/snat");

  const bj::array& pfs = r.array(n, "port_forwards", root);
  for (std::size_t i = 0; i < pfs.size(); ++i) {
    std::string p = idx("", "port_forwards", i);
    if (!pfs[i].is_object()) {
      r.fail(p, "must be an object");
      continue;
    }
    const bj::object& o = pfs[i].get_object();
    PortForward f;
    f.name = r.str(o, "name", p);
    if (!is_object_name(f.name)) r.fail(p + "/name", "must be a name");
    f.protocol =
        r.choice<Protocol>(o, "protocol", p, {{"tcp", Protocol::kTcp}, {"udp", Protocol::kUdp}});
    f.listen_port = static_cast<std::uint16_t>(r.integer(o, "listen_port", p, 1, 65535));
    f.target_address = r.str(o, "target_address", p);
    if (!is_ipv4(f.target_address)) r.fail(p + "/target_address", "must be an IPv4 address");
    f.target_port = static_cast<std::uint16_t>(r.integer(o, "target_port", p, 1, 65535));
    f.allow_cidrs = r.cidrs(o, "allow_cidrs", p);
    c.port_forwards.push_back(std::move(f));
  }

  const bj::array& lbs = r.array(n, "load_balancers", root);
  for (std::size_t i = 0; i < lbs.size(); ++i) {
    std::string p = idx("", "load_balancers", i);
    if (!lbs[i].is_object()) {
      r.fail(p, "must be an object");
      continue;
    }
    const bj::object& o = lbs[i].get_object();
    LoadBalancer lb;
    lb.name = r.str(o, "name", p);
    if (!is_object_name(lb.name)) r.fail(p + "/name", "must be a name");
    lb.protocol =
        r.choice<Protocol>(o, "protocol", p, {{"tcp", Protocol::kTcp}, {"udp", Protocol::kUdp}});
    lb.listen_address = r.str(o, "listen_address", p);
    if (!is_ipv4(lb.listen_address)) r.fail(p + "/listen_address", "must be an IPv4 address");
    lb.listen_port = static_cast<std::uint16_t>(r.integer(o, "listen_port", p, 1, 65535));
    lb.scheduler = r.choice<Scheduler>(o, "scheduler", p,
                                       {{"round_robin", Scheduler::kRoundRobin},
                                        {"weighted", Scheduler::kWeighted},
                                        {"source_hash", Scheduler::kSourceHash},
                                        {"random", Scheduler::kRandom}});
    lb.external_backends = r.str(o, "backend_source", p) == "nlb_target_group";
    lb.target_group_arn = r.str(o, "target_group_arn", p);
    const bj::array& bs = r.array(o, "backends", p);
    for (std::size_t j = 0; j < bs.size(); ++j) {
      std::string bp = idx(p, "backends", j);
      if (!bs[j].is_object()) {
        r.fail(bp, "must be an object");
        continue;
      }
      const bj::object& bo = bs[j].get_object();
      Backend b;
      b.address = r.str(bo, "address", bp);
      if (!is_ipv4(b.address)) r.fail(bp + "/address", "must be an IPv4 address");
      b.port = static_cast<std::uint16_t>(r.integer(bo, "port", bp, 1, 65535));
      b.weight = static_cast<std::uint32_t>(r.integer(bo, "weight", bp, 1, 1000));
      lb.backends.push_back(std::move(b));
    }
    const bj::object& hc = r.object(o, "health_check", p);
    std::string hp = p + "/health_check";
    lb.health_check.enabled = r.boolean(hc, "enabled", hp);
    lb.health_check.interval =
        std::chrono::milliseconds(r.integer(hc, "interval_ms", hp, 100, 300000));
    lb.health_check.timeout = std::chrono::milliseconds(r.integer(hc, "timeout_ms", hp, 50, 60000));
    lb.health_check.healthy_threshold =
        static_cast<int>(r.integer(hc, "healthy_threshold", hp, 1, 10));
    lb.health_check.unhealthy_threshold =
        static_cast<int>(r.integer(hc, "unhealthy_threshold", hp, 1, 10));
    lb.health_check.port = static_cast<std::uint16_t>(r.integer(hc, "port", hp, 0, 65535));
    c.load_balancers.push_back(std::move(lb));
  }

  const bj::object& fw = r.object(n, "firewall", root);
  c.firewall.enabled = r.boolean(fw, "enabled", "/firewall");
  auto policy = [&](const char* key) {
    return r.choice<Policy>(fw, key, "/firewall",
                            {{"accept", Policy::kAccept}, {"drop", Policy::kDrop}});
  };
  c.firewall.default_input = policy("default_input");
  c.firewall.default_forward = policy("default_forward");
  const bj::array& rules = r.array(fw, "rules", "/firewall");
  for (std::size_t i = 0; i < rules.size(); ++i) {
    std::string p = idx("/firewall", "rules", i);
    if (!rules[i].is_object()) {
      r.fail(p, "must be an object");
      continue;
    }
    const bj::object& o = rules[i].get_object();
    FirewallRule fr;
    fr.name = r.str(o, "name", p);
    if (!is_object_name(fr.name)) r.fail(p + "/name", "must be a name");
    fr.direction = r.choice<Direction>(o, "direction", p,
                                       {{"forward", Direction::kForward},
                                        {"input", Direction::kInput},
                                        {"output", Direction::kOutput}});
    fr.action =
        r.choice<Action>(o, "action", p, {{"allow", Action::kAllow}, {"deny", Action::kDeny}});
    fr.protocol = r.choice<FwProtocol>(o, "protocol", p,
                                       {{"any", FwProtocol::kAny},
                                        {"tcp", FwProtocol::kTcp},
                                        {"udp", FwProtocol::kUdp},
                                        {"icmp", FwProtocol::kIcmp}});
    fr.source_cidrs = r.cidrs(o, "source_cidrs", p);
    fr.destination_cidrs = r.cidrs(o, "destination_cidrs", p);
    const bj::array& ports = r.array(o, "ports", p);
    for (std::size_t j = 0; j < ports.size(); ++j) {
      std::string ps = ports[j].is_string() ? std::string(ports[j].get_string()) : std::string();
      if (!is_port_range(ps)) {
        r.fail(idx(p, "ports", j), "must be a port or port range");
        continue;
      }
      fr.ports.push_back(ps);
    }
    if (!fr.ports.empty() && fr.protocol != FwProtocol::kTcp && fr.protocol != FwProtocol::kUdp) {
      r.fail(p + "/ports", "need protocol tcp or udp");
    }
    c.firewall.rules.push_back(std::move(fr));
  }
  if (!err.ok()) return err;
  return c;
}

}  // namespace spectra::net
