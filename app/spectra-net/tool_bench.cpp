// bench-apply: how long the reconciler takes to put a large ruleset into the
// kernel of the current namespace (run it in a scratch namespace only).
#include <sys/resource.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <iostream>

#include "net/nft_render.h"
#include "net/reconciler.h"
#include "tool.h"

namespace spectra::net::tool {
namespace {

namespace bj = boost::json;

bj::value big_config(int forwards, int rules, int variant) {
  bj::array pf;
  for (int i = 0; i < forwards; ++i) {
    pf.push_back(bj::object{{"name", "pf" + std::to_string(i)},
                            {"listen_port", 10000 + i},
                            {"target_address", "10.213.2." + std::to_string(10 + i % 200)},
                            {"target_port", 8000 + variant}});
  }
  bj::array fw;
  for (int i = 0; i < rules; ++i) {
    fw.push_back(bj::object{{"name", "r" + std::to_string(i)},
                            {"action", i % 2 ? "deny" : "allow"},
                            {"protocol", "tcp"},
                            {"source_cidrs", bj::array{"10." + std::to_string((i / 256) % 256) +
                                                       "." + std::to_string(i % 256) + ".0/24"}},
                            {"ports", bj::array{std::to_string(1024 + (i + variant) % 60000)}}});
  }
  return bj::object{{"egress_interface", "pub0"},
                    {"l4_backend", "nftables"},
                    {"port_forwards", std::move(pf)},
                    {"firewall", bj::object{{"enabled", rules > 0}, {"rules", std::move(fw)}}}};
}

// CPU time of this process (user + system): the kernel processes an nft
// batch in the sender's context, so this is close to what the apply costs on
// an idle machine even when the benchmark host is busy.
double cpu_ms() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto ms = [](const timeval& t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; };
  return ms(u.ru_utime) + ms(u.ru_stime);
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int cmd_bench_apply(const Args& a) {
  int forwards = std::atoi(a[0].c_str());
  int rules = std::atoi(a[1].c_str());
  if (forwards < 0 || forwards > 10000 || rules < 0 || rules > 20000) {
    std::cerr << "bench-apply: FORWARDS <= 10000, RULES <= 20000\n";
    return 2;
  }
  auto first = normalize_network(big_config(forwards, rules, 0));
  auto changed = normalize_network(big_config(forwards, rules, 1));
  auto empty = normalize_network(bj::object{});
  if (!first.ok() || !changed.ok() || !empty.ok()) {
    std::cerr << "bench-apply: " << (first.ok() ? changed.status() : first.status()).to_string()
              << "\n";
    return 1;
  }
  LibNftablesRunner nft;
  ProcSysctl sysctl;
  NetworkReconciler r(NetworkDeps{&nft, &sysctl, nullptr, nullptr, nullptr, nullptr, nullptr});
  bj::object out{{"forwards", forwards}, {"rules", rules}};

  auto t0 = std::chrono::steady_clock::now();
  auto cfg = parse_network_config(*first);
  std::string script = render_script(build_ruleset(*cfg, {}));
  out["render_ms"] = ms_since(t0);
  out["script_lines"] = static_cast<std::uint64_t>(std::count(script.begin(), script.end(), '\n'));

  auto run = [&](const char* name, const bj::object& section) {
    auto t = std::chrono::steady_clock::now();
    double c0 = cpu_ms();
    Status s = r.apply(section);
    double total = ms_since(t);
    double cpu = cpu_ms() - c0;
    const bj::array st = r.status();
    const bj::object& last = st[0].at("last_apply").as_object();
    out[name] = bj::object{{"ok", s.ok()},
                           {"total_ms", total},
                           {"cpu_ms", cpu},
                           {"check_ms", last.at("check_ms")},
                           {"commit_ms", last.at("commit_ms")},
                           {"changes", last.at("changes")}};
    if (!s.ok()) out[name].as_object()["error"] = s.message();
    return s.ok();
  };
  bool ok = run("initial", *first) && run("unchanged", *first) &&
            run("one_rule_per_batch_changed", *changed);
  auto tp = std::chrono::steady_clock::now();
  auto p = r.plan(*first);
  out["plan_ms"] = ms_since(tp);
  ok = run("remove_all", *empty) && ok;
  std::cout << bj::serialize(out) << "\n";
  return ok && p.ok() ? 0 : 1;
}

}  // namespace spectra::net::tool
