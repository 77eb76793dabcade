#pragma once
// Generic-netlink messages for Linux IPVS, as pure functions -> bytes (layout
// of linux/ip_vs.h and linux/genetlink.h). The unit tests pin the bytes; the
// IPVS backend (ipvs_backend.h) only sends them.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace spectra::net {

using Bytes = std::vector<std::uint8_t>;

struct IpvsService {
  std::uint16_t protocol = 6;          // IPPROTO_TCP / IPPROTO_UDP
  std::array<std::uint8_t, 4> addr{};  // IPv4, network order
  std::uint16_t port = 0;              // host order; sent big-endian
  std::string scheduler = "rr";        // rr | wrr | sh …
  std::uint32_t timeout = 0;           // persistence seconds
};

struct IpvsDest {
  std::array<std::uint8_t, 4> addr{};
  std::uint16_t port = 0;
  std::uint32_t weight = 1;
  std::uint32_t fwd_method = 0;  // IP_VS_CONN_F_MASQ: NAT, replies return through us
};

Result<std::array<std::uint8_t, 4>> parse_ipv4_bytes(const std::string& s);

// CTRL_CMD_GETFAMILY for `name` (to learn the dynamic family id of "IPVS").
Bytes build_genl_get_family(std::uint32_t seq, const std::string& name);

Bytes build_ipvs_new_service(std::uint16_t family, std::uint32_t seq, const IpvsService& svc);
Bytes build_ipvs_set_service(std::uint16_t family, std::uint32_t seq, const IpvsService& svc);
Bytes build_ipvs_del_service(std::uint16_t family, std::uint32_t seq, const IpvsService& svc);
Bytes build_ipvs_new_dest(std::uint16_t family, std::uint32_t seq, const IpvsService& svc,
                          const IpvsDest& d);
Bytes build_ipvs_set_dest(std::uint16_t family, std::uint32_t seq, const IpvsService& svc,
                          const IpvsDest& d);
Bytes build_ipvs_del_dest(std::uint16_t family, std::uint32_t seq, const IpvsService& svc,
                          const IpvsDest& d);

// Parses a reply stream. For an ack: ok, or the errno the kernel returned
// (as a negative number in `*err`). For GETFAMILY: the family id.
Status parse_netlink_ack(const Bytes& reply, int* err);
Result<std::uint16_t> parse_genl_family_id(const Bytes& reply);

}  // namespace spectra::net
