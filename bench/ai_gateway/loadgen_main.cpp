// ai-loadgen: open-loop load for OpenAI-compatible chat endpoints on
// loopback (see open_loop.h for the method). Prints one JSON line.
//
//   ai-loadgen --target 127.0.0.1:8090 --rate 5000 --duration 5 [--stream]
//   ai-loadgen --target ... --find-max --start-rate 2000 --max-rate 100000
//
// --find-max looks for the maximum sustained rate: the highest offered
// rate at which achieved >= --min-ratio x offered, errors <= --max-errors
// of the recorded requests, and p99 total latency < --slo-p99-ms. It doubles
// the rate from --start-rate until a trial fails (or --max-rate), or halves
// it while even the first rates fail, then bisects between the last pass
// and the first fail --bisect times. A failed trial is repeated
// --confirm-failures times (default once) before its rate counts as failed.
#include <sys/prctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>

#include "open_loop.h"

namespace {

using spectra::bench::LatencyRecorder;
using spectra::bench::LoadResult;
using spectra::bench::LoadSpec;
namespace bj = boost::json;

double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

bj::object quantiles(const LatencyRecorder& r) {
  if (r.count() == 0) return {};
  return bj::object{{"p50", round3(r.quantile_ms(0.50))},
                    {"p90", round3(r.quantile_ms(0.90))},
                    {"p99", round3(r.quantile_ms(0.99))},
                    {"p999", round3(r.quantile_ms(0.999))},
                    {"max", round3(r.max_ms())}};
}

long vm_hwm_kb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

bj::object to_json(const LoadResult& r) {
  bj::object cache, statuses;
  for (const auto& [k, v] : r.cache) cache[k] = v;
  for (const auto& [k, v] : r.statuses) statuses[std::to_string(k)] = v;
  bj::object o{{"offered_rps", round3(r.offered_rps)},
               {"achieved_rps", round3(r.achieved_rps)},
               {"window_s", round3(r.window_s)},
               {"scheduled", r.scheduled},
               {"recorded", r.recorded},
               {"ok", r.ok},
               {"errors", r.errors},
               {"timeouts", r.timeouts},
               {"transport_errors", r.transport_errors},
               {"http_errors", r.http_errors},
               {"bad_bodies", r.bad_bodies},
               {"retries", r.retries},
               {"statuses", statuses},
               {"cache", cache},
               {"latency_ms", quantiles(r.total)},
               {"send_lag_ms", quantiles(r.send_lag)},
               {"connections_opened", r.connections_opened},
               {"peak_in_flight", r.peak_in_flight},
               {"generator_cpu", round3(r.generator_cpu)}};
  if (r.ttfb.count() > 0) o["ttfb_ms"] = quantiles(r.ttfb);
  if (!r.first_error.empty()) o["first_error"] = r.first_error;
  return o;
}

// CPU ticks (user + system) of a process, or -1.
long cpu_ticks(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

// Waits (at most 15 s) until `pid` uses less than ~10% of a core, so work an
// overloaded trial left queued in the server does not leak into the next one.
void settle(int pid) {
  if (pid <= 0) return;
  const long hz = ::sysconf(_SC_CLK_TCK);
  for (int i = 0; i < 50; ++i) {
    long a = cpu_ticks(pid);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    long b = cpu_ticks(pid);
    if (a < 0 || b < 0 || static_cast<double>(b - a) <= 0.1 * 0.3 * static_cast<double>(hz)) return;
  }
  std::cerr << "  (server pid " << pid << " still busy after 15 s)\n";
}

struct Criteria {
  double min_ratio = 0.99;
  double max_errors = 0.001;
  double slo_p99_ms = 50;
};

std::string verdict(const LoadResult& r, const Criteria& c) {
  if (r.recorded == 0) return "no requests";
  if (r.achieved_rps < c.min_ratio * r.offered_rps) return "achieved below offered";
  if (static_cast<double>(r.errors) > c.max_errors * static_cast<double>(r.recorded))
    return "errors";
  double p99 = r.total.quantile_ms(0.99);
  if (p99 < 0 || p99 >= c.slo_p99_ms) return "p99 over SLO";
  return "pass";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ai-loadgen: open-loop load for OpenAI-compatible chat endpoints (loopback only)"};
  LoadSpec spec;
  std::string target, label;
  std::vector<std::string> headers;
  bool find_max = false;
  double start_rate = 1000, max_rate = 200000, trial_s = 3, growth = 2, budget_s = 120,
         pause_s = 0.3;
  int bisect = 4;
  int confirm_failures = 1;
  int settle_pid = 0;
  Criteria crit;
  app.add_option("--target", target, "host:port of the server (127.0.0.0/8 or [::1] only)")
      ->required();
  app.add_option("--path", spec.path, "request path");
  app.add_option("--header", headers, "extra request header 'name: value' (repeatable)");
  app.add_option("--model", spec.model, "model name sent");
  app.add_flag("--stream", spec.stream,
               "stream:true with include_usage; records time to first body byte");
  app.add_flag("!--same-prompt", spec.unique,
               "send one identical prompt (cache hits) instead of a unique one per request");
  app.add_option("--tag", spec.tag,
                 "text in every prompt, to keep prompts of different runs distinct");
  app.add_option("--prompt-bytes", spec.prompt_bytes, "padding bytes in the prompt");
  app.add_option("--rate", spec.rate, "offered requests per second")->check(CLI::Range(1.0, 1e6));
  app.add_option("--warmup", spec.warmup_s, "seconds of unrecorded load first")
      ->check(CLI::Range(0.0, 60.0));
  app.add_option("--duration", spec.duration_s, "recorded seconds")->check(CLI::Range(0.01, 120.0));
  app.add_option("--requests", spec.requests, "recorded requests (instead of --duration)")
      ->check(CLI::Range(0, 5'000'000));
  app.add_option("--connections", spec.max_connections, "connection cap")
      ->check(CLI::Range(1, 20000));
  app.add_option("--preconnect", spec.preconnect, "connections opened before the schedule starts");
  app.add_option("--drain", spec.drain_s, "seconds to wait for stragglers after the last send")
      ->check(CLI::Range(0.0, 60.0));
  app.add_option("--label", label, "copied into the output");
  app.add_flag("--find-max", find_max, "search for the maximum sustained rate");
  app.add_option("--start-rate", start_rate, "find-max: first rate");
  app.add_option("--max-rate", max_rate, "find-max: highest rate tried");
  app.add_option("--trial-duration", trial_s, "find-max: recorded seconds per trial")
      ->check(CLI::Range(0.1, 30.0));
  app.add_option("--growth", growth, "find-max: rate factor while passing")
      ->check(CLI::Range(1.1, 10.0));
  app.add_option("--bisect", bisect, "find-max: bisection steps after the first failure")
      ->check(CLI::Range(0, 10));
  app.add_option("--confirm-failures", confirm_failures,
                 "find-max: times a failed trial is repeated before its rate counts as failed")
      ->check(CLI::Range(0, 3));
  app.add_option("--budget", budget_s, "find-max: stop starting trials after this many seconds")
      ->check(CLI::Range(1.0, 1200.0));
  app.add_option("--settle-pid", settle_pid,
                 "find-max: before each trial, wait until this process is nearly idle");
  app.add_option("--min-ratio", crit.min_ratio, "find-max: achieved/offered needed");
  app.add_option("--max-errors", crit.max_errors, "find-max: error fraction allowed");
  app.add_option("--slo-p99-ms", crit.slo_p99_ms, "find-max: p99 latency bound");
  CLI11_PARSE(app, argc, argv);
  // Send times come from timers; the default 50 us timer slack would add
  // that much jitter to every intended send time.
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);

  auto colon = target.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "ai-loadgen: --target must be host:port\n";
    return 2;
  }
  std::string host = target.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(host, ec);
  if (ec || !addr.is_loopback()) {
    std::cerr << "ai-loadgen: refusing target '" << target
              << "': only loopback IP addresses are allowed\n";
    return 2;
  }
  spec.target = {addr, static_cast<unsigned short>(std::stoi(target.substr(colon + 1)))};
  for (const auto& h : headers) {
    auto c = h.find(':');
    if (c == std::string::npos) {
      std::cerr << "ai-loadgen: bad --header '" << h << "'\n";
      return 2;
    }
    std::string v = h.substr(c + 1);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    spec.headers.emplace_back(h.substr(0, c), v);
  }

  if (!find_max) {
    LoadResult r = spectra::bench::run_open_loop(spec);
    bj::object o = to_json(r);
    o["label"] = label;
    o["loadgen_vmhwm_kb"] = vm_hwm_kb();
    std::cout << bj::serialize(o) << std::endl;
    return 0;
  }

  // Maximum sustained rate: grow while trials pass, then bisect.
  auto began = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  };
  bj::array trials;
  double best = 0, fail = 0;
  bj::object best_json;
  // One rate: a failure counts only when it repeats (--confirm-failures):
  // a transient stall of the shared machine fails a short trial without
  // saying anything about capacity, while a rate above capacity cannot pass
  // by luck (achieved must reach --min-ratio of offered).
  auto trial = [&](double rate) {
    for (int attempt = 0;; ++attempt) {
      LoadSpec s = spec;
      s.rate = rate;
      s.duration_s = trial_s;
      s.requests = 0;
      s.tag = spec.tag + "-" + std::to_string(static_cast<long>(rate)) + "-" + std::to_string(attempt);
      LoadResult r = spectra::bench::run_open_loop(s);
      std::string v = verdict(r, crit);
      bj::object o = to_json(r);
      o["verdict"] = v;
      o["attempt"] = attempt;
      std::cerr << "  trial " << static_cast<long>(rate) << " req/s" << (attempt ? " (again)" : "")
                << ": achieved " << static_cast<long>(r.achieved_rps) << ", p99 "
                << r.total.quantile_ms(0.99) << " ms, errors " << r.errors << " -> " << v << "\n";
      trials.push_back(o);
      // Let the server settle (work queued by an overloaded trial, closing
      // connections) before the next trial.
      std::this_thread::sleep_for(std::chrono::duration<double>(pause_s));
      settle(settle_pid);
      if (v == "pass") {
        if (rate > best) {
          best = rate;
          best_json = o;
        }
        return true;
      }
      if (attempt >= confirm_failures || elapsed() >= budget_s) {
        if (fail == 0 || rate < fail) fail = rate;
        return false;
      }
    }
  };
  settle(settle_pid);
  double rate = start_rate;
  if (trial(rate)) {
    for (rate *= growth; rate <= max_rate && elapsed() < budget_s; rate *= growth) {
      if (!trial(rate)) break;
    }
  } else {
    // Even the first rate failed: halve until a trial passes (a few times at most).
    for (int k = 0; k < 6 && elapsed() < budget_s; ++k) {
      rate = std::floor(rate / 2);
      if (rate < 1 || trial(rate)) break;
    }
  }
  for (int k = 0; k < bisect && best > 0 && fail > best && elapsed() < budget_s; ++k) {
    double mid = std::round((best + fail) / 2);
    if (mid <= best || mid >= fail) break;
    trial(mid);
  }
  bj::object out{{"label", label},
                 {"max_sustained_rps", best},
                 {"first_failing_rps", fail},
                 {"confirm_failures", confirm_failures},
                 {"criteria", bj::object{{"min_ratio", crit.min_ratio},
                                         {"max_errors", crit.max_errors},
                                         {"slo_p99_ms", crit.slo_p99_ms}}},
                 {"best", best_json},
                 {"trials", trials},
                 {"loadgen_vmhwm_kb", vm_hwm_kb()}};
  std::cout << bj::serialize(out) << std::endl;
  return 0;
}
