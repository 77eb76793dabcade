#include "net/ipvs_netlink.h"

#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cstring>
#include <optional>

namespace spectra::net {
namespace {

// Appends netlink structures in host byte order, attributes padded to 4.
class NlWriter {
 public:
  void u8(std::uint8_t v) { buf_.push_back(v); }
  void u16(std::uint16_t v) { raw(&v, sizeof v); }
  void u32(std::uint32_t v) { raw(&v, sizeof v); }
  void raw(const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    buf_.insert(buf_.end(), b, b + n);
  }
  void pad() {
    while (buf_.size() % NLA_ALIGNTO) buf_.push_back(0);
  }
  void attr(std::uint16_t type, const void* p, std::size_t n) {
    u16(static_cast<std::uint16_t>(NLA_HDRLEN + n));
    u16(type);
    raw(p, n);
    pad();
  }
  void attr_u16(std::uint16_t type, std::uint16_t v) { attr(type, &v, sizeof v); }
  void attr_u32(std::uint16_t type, std::uint32_t v) { attr(type, &v, sizeof v); }
  void attr_str(std::uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
  std::size_t begin_nest(std::uint16_t type) {
    std::size_t at = buf_.size();
    u16(0);
    u16(static_cast<std::uint16_t>(type | NLA_F_NESTED));
    return at;
  }
  void end_nest(std::size_t at) { set_u16(at, static_cast<std::uint16_t>(buf_.size() - at)); }
  void set_u16(std::size_t at, std::uint16_t v) { std::memcpy(&buf_[at], &v, sizeof v); }
  void set_u32(std::size_t at, std::uint32_t v) { std::memcpy(&buf_[at], &v, sizeof v); }
  Bytes take() { return std::move(buf_); }
  std::size_t size() const { return buf_.size(); }

 private:
  Bytes buf_;
};

// nlmsghdr + genlmsghdr; the length is patched by finish().
NlWriter start(std::uint16_t type, std::uint16_t flags, std::uint32_t seq, std::uint8_t cmd,
               std::uint8_t version) {
  NlWriter w;
  w.u32(0);  // nlmsg_len
  w.u16(type);
  w.u16(flags);
  w.u32(seq);
  w.u32(0);  // nlmsg_pid: the kernel
  w.u8(cmd);
  w.u8(version);
  w.u16(0);
  return w;
}

Bytes finish(NlWriter& w) {
  w.set_u32(0, static_cast<std::uint32_t>(w.size()));
  return w.take();
}

void put_addr(NlWriter& w, std::uint16_t type, const std::array<std::uint8_t, 4>& a) {
  // union nf_inet_addr: 16 bytes, an IPv4 address in the first four.
  std::uint8_t u[16] = {};
  std::memcpy(u, a.data(), 4);
  w.attr(type, u, sizeof u);
}

void service_nest(NlWriter& w, const IpvsService& s, bool full) {
  std::size_t n = w.begin_nest(IPVS_CMD_ATTR_SERVICE);
  w.attr_u16(IPVS_SVC_ATTR_AF, AF_INET);
  w.attr_u16(IPVS_SVC_ATTR_PROTOCOL, s.protocol);
  put_addr(w, IPVS_SVC_ATTR_ADDR, s.addr);
  w.attr_u16(IPVS_SVC_ATTR_PORT, htons(s.port));
  if (full) {
    w.attr_str(IPVS_SVC_ATTR_SCHED_NAME, s.scheduler);
    ip_vs_flags f{0, 0xffffffffu};
    w.attr(IPVS_SVC_ATTR_FLAGS, &f, sizeof f);
    w.attr_u32(IPVS_SVC_ATTR_TIMEOUT, s.timeout);
    w.attr_u32(IPVS_SVC_ATTR_NETMASK, 0xffffffffu);
  }
  w.end_nest(n);
}

void dest_nest(NlWriter& w, const IpvsDest& d, bool full) {
  std::size_t n = w.begin_nest(IPVS_CMD_ATTR_DEST);
  put_addr(w, IPVS_DEST_ATTR_ADDR, d.addr);
  w.attr_u16(IPVS_DEST_ATTR_PORT, htons(d.port));
  if (full) {
    w.attr_u32(IPVS_DEST_ATTR_FWD_METHOD, d.fwd_method);
    w.attr_u32(IPVS_DEST_ATTR_WEIGHT, d.weight);
    w.attr_u32(IPVS_DEST_ATTR_U_THRESH, 0);
    w.attr_u32(IPVS_DEST_ATTR_L_THRESH, 0);
  }
  w.attr_u16(IPVS_DEST_ATTR_ADDR_FAMILY, AF_INET);
  w.end_nest(n);
}

constexpr std::uint16_t kReqAck = NLM_F_REQUEST | NLM_F_ACK;

Bytes service_msg(std::uint16_t family, std::uint32_t seq, std::uint8_t cmd, const IpvsService& s,
                  bool full) {
  NlWriter w = start(family, kReqAck, seq, cmd, IPVS_GENL_VERSION);
  service_nest(w, s, full);
  return finish(w);
}

Bytes dest_msg(std::uint16_t family, std::uint32_t seq, std::uint8_t cmd, const IpvsService& s,
               const IpvsDest& d, bool full) {
  NlWriter w = start(family, kReqAck, seq, cmd, IPVS_GENL_VERSION);
  service_nest(w, s, false);
  dest_nest(w, d, full);
  return finish(w);
}

// Walks messages in `reply`; fn(type, payload, len) returns false to stop.
template <class Fn>
Status walk(const Bytes& reply, Fn fn) {
  std::size_t off = 0;
  while (off + sizeof(nlmsghdr) <= reply.size()) {
    nlmsghdr h;
    std::memcpy(&h, &reply[off], sizeof h);
    if (h.nlmsg_len < sizeof h || off + h.nlmsg_len > reply.size()) {
      return invalid_argument("netlink: truncated message");
    }
    if (!fn(h.nlmsg_type, &reply[off + sizeof h], h.nlmsg_len - sizeof h)) return {};
    off += NLMSG_ALIGN(h.nlmsg_len);
  }
  return {};
}

}  // namespace

Result<std::array<std::uint8_t, 4>> parse_ipv4_bytes(const std::string& s) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return invalid_argument("not an IPv4 address: " + s);
  std::array<std::uint8_t, 4> out{};
  std::memcpy(out.data(), &a, 4);
  return out;
}

Bytes build_genl_get_family(std::uint32_t seq, const std::string& name) {
  NlWriter w = start(GENL_ID_CTRL, NLM_F_REQUEST, seq, CTRL_CMD_GETFAMILY, 1);
  w.attr_str(CTRL_ATTR_FAMILY_NAME, name);
  return finish(w);
}

Bytes build_ipvs_new_service(std::uint16_t f, std::uint32_t seq, const IpvsService& s) {
  return service_msg(f, seq, IPVS_CMD_NEW_SERVICE, s, true);
}
Bytes build_ipvs_set_service(std::uint16_t f, std::uint32_t seq, const IpvsService& s) {
  return service_msg(f, seq, IPVS_CMD_SET_SERVICE, s, true);
}
Bytes build_ipvs_del_service(std::uint16_t f, std::uint32_t seq, const IpvsService& s) {
  return service_msg(f, seq, IPVS_CMD_DEL_SERVICE, s, false);
}
Bytes build_ipvs_new_dest(std::uint16_t f, std::uint32_t seq, const IpvsService& s,
                          const IpvsDest& d) {
  return dest_msg(f, seq, IPVS_CMD_NEW_DEST, s, d, true);
}
Bytes build_ipvs_set_dest(std::uint16_t f, std::uint32_t seq, const IpvsService& s,
                          const IpvsDest& d) {
  return dest_msg(f, seq, IPVS_CMD_SET_DEST, s, d, true);
}
Bytes build_ipvs_del_dest(std::uint16_t f, std::uint32_t seq, const IpvsService& s,
                          const IpvsDest& d) {
  return dest_msg(f, seq, IPVS_CMD_DEL_DEST, s, d, false);
}

Status parse_netlink_ack(const Bytes& reply, int* err) {
  *err = 0;
  bool seen = false;
  Status s = walk(reply, [&](std::uint16_t type, const std::uint8_t* p, std::size_t n) {
    if (type != NLMSG_ERROR) return true;
    if (n < sizeof(int)) return true;
    std::memcpy(err, p, sizeof(int));
    seen = true;
    return false;
  });
  if (!s.ok()) return s;
  if (!seen) return invalid_argument("netlink: no ack in reply");
  if (*err != 0) return io_error(std::string("netlink: ") + std::strerror(-*err));
  return {};
}

Result<std::uint16_t> parse_genl_family_id(const Bytes& reply) {
  int err = 0;
  std::optional<std::uint16_t> id;
  Status s = walk(reply, [&](std::uint16_t type, const std::uint8_t* p, std::size_t n) {
    if (type == NLMSG_ERROR) {
      if (n >= sizeof(int)) std::memcpy(&err, p, sizeof(int));
      return false;
    }
    if (type != GENL_ID_CTRL || n < GENL_HDRLEN) return true;
    std::size_t off = GENL_HDRLEN;
    while (off + NLA_HDRLEN <= n) {
      nlattr a;
      std::memcpy(&a, p + off, sizeof a);
      if (a.nla_len < NLA_HDRLEN || off + a.nla_len > n) break;
      if ((a.nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID && a.nla_len >= NLA_HDRLEN + 2) {
        std::uint16_t v;
        std::memcpy(&v, p + off + NLA_HDRLEN, sizeof v);
        id = v;
        return false;
      }
      off += NLA_ALIGN(a.nla_len);
    }
    return true;
  });
  if (!s.ok()) return s;
  if (id) return *id;
  if (err != 0) return not_found(std::string("genl family: ") + std::strerror(-err));
  return not_found("genl family: no id in reply");
}

}  // namespace spectra::net
