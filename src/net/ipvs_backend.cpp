#include "net/ipvs_backend.h"

#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/file_util.h"
#include "common/log.h"

namespace spectra::net {

const char* l4_impl_name(L4Impl i) { return i == L4Impl::kIpvs ? "ipvs" : "nftables"; }

Result<std::unique_ptr<GenlSocket>> GenlSocket::open() {
  int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
  if (fd < 0) return io_error(std::string("netlink socket: ") + std::strerror(errno));
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    int e = errno;
    ::close(fd);
    return io_error(std::string("netlink bind: ") + std::strerror(e));
  }
  return std::unique_ptr<GenlSocket>(new GenlSocket(fd));
}

GenlSocket::~GenlSocket() { ::close(fd_); }

Result<Bytes> GenlSocket::request(const Bytes& msg) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd_, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof kernel) < 0) {
    return io_error(std::string("netlink send: ") + std::strerror(errno));
  }
  Bytes reply(1 << 16);
  ssize_t n = ::recv(fd_, reply.data(), reply.size(), 0);
  if (n < 0) return io_error(std::string("netlink recv: ") + std::strerror(errno));
  reply.resize(static_cast<std::size_t>(n));
  return reply;
}

Result<std::uint16_t> resolve_genl_family(NetlinkTransport& nl, const std::string& name) {
  auto reply = nl.request(build_genl_get_family(1, name));
  if (!reply.ok()) return reply.status();
  return parse_genl_family_id(*reply);
}

bool SystemL4Environment::proc_ip_vs_exists() { return fs::exists("/proc/net/ip_vs"); }

bool SystemL4Environment::ipvs_family_resolves() {
  auto sock = GenlSocket::open();
  if (!sock.ok()) return false;
  return resolve_genl_family(**sock, "IPVS").ok();
}

Result<L4Impl> choose_l4(L4Backend configured, L4Environment& env) {
  switch (configured) {
    case L4Backend::kNftables:
      return L4Impl::kNftables;
    case L4Backend::kIpvs:
      if (env.proc_ip_vs_exists() || env.ipvs_family_resolves()) return L4Impl::kIpvs;
      return Status(Code::kConflict,
                    "l4_backend is ipvs, but this kernel has no IPVS (no /proc/net/ip_vs, "
                    "no generic netlink family IPVS); use auto or nftables");
    case L4Backend::kAuto:
      return env.proc_ip_vs_exists() || env.ipvs_family_resolves() ? L4Impl::kIpvs
                                                                   : L4Impl::kNftables;
  }
  return L4Impl::kNftables;
}

const char* ipvs_scheduler(Scheduler s) {
  switch (s) {
    case Scheduler::kRoundRobin:
      return "rr";
    case Scheduler::kWeighted:
      return "wrr";
    case Scheduler::kSourceHash:
      return "sh";
    case Scheduler::kRandom:
      return "wrr";
  }
  return "rr";
}

Status IpvsApplier::send(const Bytes& msg, int* err) {
  auto reply = nl_.request(msg);
  if (!reply.ok()) return reply.status();
  return parse_netlink_ack(*reply, err);
}

Status IpvsApplier::sync(const NetworkConfig& config, const BackendFacts& facts) {
  std::map<std::string, Applied> want;
  for (const LoadBalancer& lb : config.load_balancers) {
    Applied a;
    auto vip = parse_ipv4_bytes(lb.listen_address);
    if (!vip.ok()) return vip.status();
    a.svc.protocol = lb.protocol == Protocol::kTcp ? IPPROTO_TCP : IPPROTO_UDP;
    a.svc.addr = *vip;
    a.svc.port = lb.listen_port;
    a.svc.scheduler = ipvs_scheduler(lb.scheduler);
    for (const Backend& b : select_backends(lb, facts).backends) {
      auto addr = parse_ipv4_bytes(b.address);
      if (!addr.ok()) return addr.status();
      a.dests[b.key()] =
          IpvsDest{*addr, b.port, lb.scheduler == Scheduler::kRoundRobin ? 1u : b.weight, 0};
    }
    want[std::string(protocol_name(lb.protocol)) + "/" + lb.listen_address + ":" +
         std::to_string(lb.listen_port)] = std::move(a);
  }
  int err = 0;
  for (auto it = applied_.begin(); it != applied_.end();) {
    if (want.count(it->first)) {
      ++it;
      continue;
    }
    Status s = send(build_ipvs_del_service(family_, seq_++, it->second.svc), &err);
    if (!s.ok() && err != -ESRCH) return s;
    it = applied_.erase(it);
  }
  for (auto& [key, a] : want) {
    auto have = applied_.find(key);
    bool fresh = have == applied_.end();
    if (fresh || have->second.svc.scheduler != a.svc.scheduler) {
      Status s = send(build_ipvs_new_service(family_, seq_++, a.svc), &err);
      if (!s.ok() && err == -EEXIST) s = send(build_ipvs_set_service(family_, seq_++, a.svc), &err);
      if (!s.ok()) return Status(s.code(), "IPVS service " + key + ": " + s.message());
      if (fresh) have = applied_.emplace(key, Applied{a.svc, {}}).first;
      have->second.svc = a.svc;
    }
    auto& dests = have->second.dests;
    for (auto d = dests.begin(); d != dests.end();) {
      if (a.dests.count(d->first)) {
        ++d;
        continue;
      }
      Status s = send(build_ipvs_del_dest(family_, seq_++, a.svc, d->second), &err);
      if (!s.ok() && err != -ENOENT)
        return Status(s.code(), "IPVS dest " + d->first + ": " + s.message());
      d = dests.erase(d);
    }
    for (const auto& [dk, dest] : a.dests) {
      auto cur = dests.find(dk);
      if (cur != dests.end() && cur->second.weight == dest.weight) continue;
      Status s = send(build_ipvs_new_dest(family_, seq_++, a.svc, dest), &err);
      if (!s.ok() && err == -EEXIST)
        s = send(build_ipvs_set_dest(family_, seq_++, a.svc, dest), &err);
      if (!s.ok()) return Status(s.code(), "IPVS dest " + dk + ": " + s.message());
      dests[dk] = dest;
    }
  }
  return {};
}

}  // namespace spectra::net
