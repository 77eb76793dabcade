#include "net/reconciler.h"

#include <cassert>

#include "common/log.h"

namespace spectra::net {
namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

constexpr std::size_t kPlanLinesPerSection = 200;

}  // namespace

std::string format_plan(
    const std::vector<std::pair<std::string, std::vector<std::string>>>& sections,
    const std::vector<std::string>& notes, const std::string& l4) {
  std::size_t total = 0;
  std::string out = "Network plan (L4 load balancing: " + l4 + ")\n";
  for (const auto& [title, lines] : sections) {
    total += lines.size();
    out += title + ":\n";
    if (lines.empty()) out += "  no changes\n";
    for (std::size_t i = 0; i < lines.size() && i < kPlanLinesPerSection; ++i)
      out += "  " + lines[i] + "\n";
    if (lines.size() > kPlanLinesPerSection) {
      out += "  … and " + std::to_string(lines.size() - kPlanLinesPerSection) + " more\n";
    }
  }
  for (const auto& n : notes) out += "note: " + n + "\n";
  out += total == 0 ? "No changes: the kernel already matches the config.\n"
                    : std::to_string(total) + " change(s); nothing was applied.\n";
  return out;
}

NetworkReconciler::NetworkReconciler(NetworkDeps deps) : deps_(deps), applier_(*deps.nft) {
  assert(deps_.nft && deps_.sysctl);
}

std::optional<NetworkConfig> NetworkReconciler::current_config() const {
  std::lock_guard lock(mu_);
  return config_;
}

Result<NetworkReconciler::Desired> NetworkReconciler::desire(const NetworkConfig& config) {
  Desired d;
  d.config = config;
  if (deps_.l4) {
    auto l4 = choose_l4(config.l4_backend, *deps_.l4);
    if (!l4.ok()) return l4.status();
    d.l4 = *l4;
  }
  if (d.l4 == L4Impl::kIpvs && !deps_.ipvs) {
    return Status(Code::kUnavailable, "IPVS was chosen but no IPVS applier is available");
  }
  for (const LoadBalancer& lb : config.load_balancers) {
    if (!lb.external_backends) continue;
    std::optional<std::vector<Backend>> bs;
    if (deps_.backends) bs = deps_.backends->backends(lb.name, lb.target_group_arn);
    if (bs) d.facts.external[lb.name] = std::move(*bs);
  }
  if (deps_.health) d.facts.unhealthy = deps_.health->unhealthy();
  RenderFacts rf;
  rf.lb_in_nftables = d.l4 == L4Impl::kNftables;
  rf.backends = d.facts;
  d.ruleset = build_ruleset(config, rf);
  return d;
}

Result<NetworkReconciler::Current> NetworkReconciler::current_locked(bool need_filter) {
  Current c;
  if (auto g = deps_.nft->generation(); g.ok()) c.generation = *g;
  if (c.generation && snapshot_ && snapshot_->generation == *c.generation) {
    c.from_snapshot = true;
    c.have_filter = true;
    c.filter = snapshot_->filter;
    c.nat = snapshot_->nat;
    return c;
  }
  auto nat = read_table(*deps_.nft, kNatFamily, kNatTable);
  if (!nat.ok()) return nat.status();
  c.nat = std::move(*nat);
  if (need_filter) {
    auto filter = read_table(*deps_.nft, kFilterFamily, kFilterTable);
    if (!filter.ok()) return filter.status();
    c.filter = std::move(*filter);
    c.have_filter = true;
  }
  return c;
}

Status NetworkReconciler::apply(const boost::json::object& network_section) {
  auto cfg = parse_network_config(network_section);
  std::lock_guard lock(mu_);
  if (!cfg.ok()) {
    LastApply a;
    a.reason = "config";
    a.error = cfg.status().message();
    record(std::move(a));
    return cfg.status();
  }
  return reconcile_locked(*cfg, /*include_filter=*/true, "config");
}

Status NetworkReconciler::observe(const boost::json::object& network_section) {
  auto cfg = parse_network_config(network_section);
  if (!cfg.ok()) return cfg.status();
  std::lock_guard lock(mu_);
  config_ = std::move(*cfg);
  return {};
}

Status NetworkReconciler::reconcile_backends() {
  std::lock_guard lock(mu_);
  if (!config_) return {};
  NetworkConfig cfg = *config_;
  return reconcile_locked(cfg, /*include_filter=*/false, "backends");
}

Status NetworkReconciler::reconcile_locked(const NetworkConfig& config, bool include_filter,
                                           const char* reason) {
  auto t0 = std::chrono::steady_clock::now();
  LastApply a;
  a.reason = reason;
  auto fail = [&](Status s) {
    a.error = s.message();
    a.total_ms = ms_since(t0);
    record(std::move(a));
    return s;
  };
  auto d = desire(config);
  if (!d.ok()) return fail(d.status());

  auto now = current_locked(include_filter);
  if (!now.ok()) return fail(now.status());
  std::string script;
  std::size_t changes = 0;
  bool filter_changed = false;
  if (include_filter) {
    auto diff = diff_table(d->ruleset.filter, now->filter);
    filter_changed = !diff.empty();
    if (filter_changed) script += render_table(d->ruleset.filter, now->filter.objects());
    changes += diff.size();
  }
  auto nat_diff = diff_table(d->ruleset.nat, now->nat);
  bool nat_changed = !nat_diff.empty();
  if (nat_changed) script += render_table(d->ruleset.nat, now->nat.objects());
  changes += nat_diff.size();

  if (!script.empty()) {
    snapshot_.reset();
    Status s = applier_.apply(script, &a.timing);
    if (!s.ok()) return fail(s);
  }
  // Remember what the kernel holds now. It stays true while the generation
  // is the one we expect: ours, or ours + 1 for our own commit. Anyone
  // else's commit in between moves it further and the record is dropped.
  if (now->generation && now->have_filter) {
    auto after = deps_.nft->generation();
    std::uint32_t expect = *now->generation + (script.empty() ? 0u : 1u);
    if (after.ok() && *after == expect) {
      snapshot_ = Snapshot{expect, filter_changed ? as_actual(d->ruleset.filter) : now->filter,
                           nat_changed ? as_actual(d->ruleset.nat) : now->nat};
    } else {
      snapshot_.reset();
    }
  }
  // The rules are in force: from here on this config is the one the kernel
  // runs, even if a sysctl or the IPVS sync below fails (and is reported).
  config_ = config;
  l4_ = d->l4;
  notes_ = d->ruleset.notes;
  a.changes = changes;
  if (deps_.health) deps_.health->set_targets(probe_targets(config, d->facts.external));
  if (include_filter) {
    sysctls_ = apply_sysctls(*deps_.sysctl, desired_sysctls(config));
    for (const auto& r : sysctls_) {
      if (!r.ok) {
        log::warn("sysctl not set", {{"key", sysctl_display(r.setting.key)}, {"error", r.error}});
        if (r.setting.required) {
          return fail(io_error("sysctl " + sysctl_display(r.setting.key) + ": " + r.error));
        }
      }
    }
  }
  if (d->l4 == L4Impl::kIpvs) {
    Status s = deps_.ipvs->sync(config, d->facts);
    if (!s.ok()) return fail(s);
  }
  a.ok = true;
  a.total_ms = ms_since(t0);
  if (changes) {
    log::info("network data plane applied", {{"reason", reason},
                                             {"changes", changes},
                                             {"check_ms", a.timing.check_ms},
                                             {"commit_ms", a.timing.commit_ms},
                                             {"total_ms", a.total_ms}});
  }
  record(std::move(a));
  return {};
}

Result<std::string> NetworkReconciler::plan(const boost::json::object& network_section) {
  auto cfg = parse_network_config(network_section);
  if (!cfg.ok()) return cfg.status();
  std::lock_guard lock(mu_);
  auto d = desire(*cfg);
  if (!d.ok()) return d.status();
  auto now = current_locked(true);
  if (!now.ok()) return now.status();
  std::vector<std::pair<std::string, std::vector<std::string>>> sections;
  sections.emplace_back("table inet spectra_filter", diff_table(d->ruleset.filter, now->filter));
  sections.emplace_back("table ip spectra_nat", diff_table(d->ruleset.nat, now->nat));
  sections.emplace_back("sysctl", plan_sysctls(*deps_.sysctl, desired_sysctls(*cfg)));
  if (d->l4 == L4Impl::kIpvs) {
    std::vector<std::string> lbs;
    for (const auto& lb : cfg->load_balancers)
      lbs.push_back("= IPVS service " + lb.name + " (synchronised on apply)");
    sections.emplace_back("ipvs", std::move(lbs));
  }
  std::vector<std::string> notes = d->ruleset.notes;
  bool checked = false;
  for (const auto& lb : cfg->load_balancers) checked = checked || lb.health_check.enabled;
  if (checked && !deps_.health) {
    notes.push_back(
        "no health checks run in this process: every backend counts as healthy, so backends "
        "the running gateway has taken out of rotation show up as changes");
  }
  return format_plan(sections, notes, l4_impl_name(d->l4));
}

void NetworkReconciler::record(LastApply a) {
  a.at = std::chrono::system_clock::now();
  if (deps_.metrics) {
    deps_.metrics
        ->counter("spectra_net_apply_total", "Network data-plane reconciles",
                  {{"result", a.ok ? "ok" : "error"}, {"reason", a.reason}})
        .inc();
    if (a.ok) {
      deps_.metrics
          ->histogram("spectra_net_apply_seconds", "Time to reconcile the network data plane")
          .observe(a.total_ms / 1000.0);
    }
    deps_.metrics->gauge("spectra_net_last_apply_ok", "1 when the last network reconcile succeeded")
        .set(a.ok ? 1 : 0);
  }
  last_ = std::move(a);
}

}  // namespace spectra::net
