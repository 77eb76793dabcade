#include <arpa/inet.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>

#include "net/nft_runner.h"

namespace spectra::net {
namespace {

std::mutex& nft_mutex() {
  static std::mutex mu;
  return mu;
}

struct CtxDeleter {
  void operator()(nft_ctx* c) const { nft_ctx_free(c); }
};
using Ctx = std::unique_ptr<nft_ctx, CtxDeleter>;

// A fresh context per call: its netlink socket is opened in the namespace of
// the calling thread, and no cache outlives the call.
Result<Ctx> make_ctx(bool json) {
  Ctx ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) return io_error("libnftables: nft_ctx_new failed");
  if (nft_ctx_buffer_output(ctx.get()) != 0 || nft_ctx_buffer_error(ctx.get()) != 0) {
    return io_error("libnftables: cannot buffer output");
  }
  if (json) nft_ctx_output_set_flags(ctx.get(), NFT_CTX_OUTPUT_JSON);
  return ctx;
}

std::string trimmed(const char* s) {
  std::string out = s ? s : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

Status LibNftablesRunner::run(const std::string& script, bool check_only) {
  std::lock_guard lock(nft_mutex());
  auto ctx = make_ctx(false);
  if (!ctx.ok()) return ctx.status();
  nft_ctx_set_dry_run(ctx->get(), check_only);
  int rc = nft_run_cmd_from_buffer(ctx->get(), script.c_str());
  if (rc != 0) {
    std::string err = trimmed(nft_ctx_get_error_buffer(ctx->get()));
    return invalid_argument(std::string(check_only ? "nft check failed: " : "nft apply failed: ") +
                            (err.empty() ? "unknown error" : err));
  }
  return {};
}

Result<std::string> LibNftablesRunner::list_json(const std::string& command) {
  std::lock_guard lock(nft_mutex());
  auto ctx = make_ctx(true);
  if (!ctx.ok()) return ctx.status();
  int rc = nft_run_cmd_from_buffer(ctx->get(), command.c_str());
  if (rc != 0) {
    std::string err = trimmed(nft_ctx_get_error_buffer(ctx->get()));
    if (err.find("No such file or directory") != std::string::npos) return not_found(err);
    return io_error("nft " + command + ": " + err);
  }
  const char* out = nft_ctx_get_output_buffer(ctx->get());
  return std::string(out ? out : "");
}

Result<std::uint32_t> LibNftablesRunner::generation() {
  int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) return io_error(std::string("netlink socket: ") + std::strerror(errno));
  struct {
    nlmsghdr h;
    nfgenmsg g;
  } req{};
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
  req.h.nlmsg_flags = NLM_F_REQUEST;
  req.h.nlmsg_seq = 1;
  req.g.nfgen_family = AF_UNSPEC;
  req.g.version = NFNETLINK_V0;
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  std::uint8_t buf[512];
  ssize_t n = -1;
  if (::sendto(fd, &req, sizeof req, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) ==
      sizeof req) {
    n = ::recv(fd, buf, sizeof buf, 0);
  }
  int err = errno;
  ::close(fd);
  if (n < static_cast<ssize_t>(NLMSG_HDRLEN + sizeof(nfgenmsg))) {
    return io_error(std::string("NFT_MSG_GETGEN: ") + std::strerror(err));
  }
  nlmsghdr h;
  std::memcpy(&h, buf, sizeof h);
  if (h.nlmsg_type == NLMSG_ERROR || h.nlmsg_len > static_cast<std::uint32_t>(n)) {
    return io_error("NFT_MSG_GETGEN: error reply");
  }
  for (std::size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));
       off + NLA_HDRLEN <= h.nlmsg_len;) {
    nlattr a;
    std::memcpy(&a, buf + off, sizeof a);
    if (a.nla_len < NLA_HDRLEN || off + a.nla_len > h.nlmsg_len) break;
    if ((a.nla_type & NLA_TYPE_MASK) == NFTA_GEN_ID && a.nla_len >= NLA_HDRLEN + 4) {
      std::uint32_t id;
      std::memcpy(&id, buf + off + NLA_HDRLEN, 4);
      return ntohl(id);
    }
    off += NLA_ALIGN(a.nla_len);
  }
  return io_error("NFT_MSG_GETGEN: no generation id in reply");
}

}  // namespace spectra::net
