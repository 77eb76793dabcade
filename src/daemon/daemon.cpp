#include "daemon/daemon.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>

#include "api/config_api.h"
#include "common/file_util.h"
#include "common/log.h"
#include "config/service.h"
#include "daemon/ai_component.h"
#include "net/network_runtime.h"
#include "http/io_pool.h"
#include "http/server.h"
#include "store/sqlite_store.h"

#ifndef SPECTRA_VERSION
#define SPECTRA_VERSION "0.1.0"
#endif

namespace spectra::daemon {

namespace bj = boost::json;

struct Daemon::Impl {
  Options opt;
  std::unique_ptr<store::SqliteStore> store;
  std::unique_ptr<config::ConfigService> config;
  std::unique_ptr<api::TokenService> tokens;
  metrics::Registry metrics;
  std::unique_ptr<http::IoPool> io;
  std::unique_ptr<boost::asio::thread_pool> blocking;
  http::Router router;
  api::ApiContext ctx;
  std::unique_ptr<http::Server> server;
  std::unique_ptr<AiComponent> ai;
  std::unique_ptr<net::NetworkRuntime> net;
  std::thread persister;
  std::mutex persist_mu;
  std::condition_variable persist_cv;
  bool persist_stop = false;  // guarded by persist_mu
  std::atomic<bool> ready{false};
  bool stopped = false;

  // Kernel state from the network section; runs on the blocking pool (10k
  // rules take about a second). A failed apply leaves the previous ruleset.
  void reconcile_network() {
    auto cfg = config->config_at(config->head());
    if (!cfg.ok()) return;
    if (Status s = net->apply(cfg->at("network").as_object()); !s.ok()) {
      log::error("network apply failed; the previous ruleset stays in force", {{"error", s.message()}});
    }
  }

  bj::array components() const {
    bj::array out;
    out.push_back(bj::object{{"name", "config_api"}, {"state", "running"},
                             {"detail", opt.api_address + ":" + std::to_string(server ? server->port() : 0)}});
    auto cfg = config->config_at(config->head());
    auto enabled = [&](const char* section, const char* field) {
      if (!cfg.ok()) return false;
      const auto* s = cfg->if_contains(section);
      const auto* v = s && s->is_object() ? s->get_object().if_contains(field) : nullptr;
      return v && v->is_bool() && v->get_bool();
    };
    // Components whose data-plane arrives in later releases report honestly.
    auto planned = [&](const char* name, bool wanted) {
      out.push_back(bj::object{{"name", name},
                               {"state", wanted ? "degraded" : "disabled"},
                               {"detail", wanted ? "enabled in config, but this build does not run it yet" : "disabled in config"}});
    };
    if (ai) out.push_back(ai->status());
    if (net) {
      for (auto& c : net->reconciler().status()) out.push_back(c);
    }
    planned("ips", enabled("ips", "enabled"));
    return out;
  }
};

Daemon::Daemon(Options options) : impl_(new Impl) { impl_->opt = std::move(options); }

Daemon::~Daemon() { stop(); }

namespace {

pid_t g_main_tid = 0;

// SIGTERM or SIGINT taken by a thread that does not block it: handed to the
// main thread, which blocks it and takes it in wait_for_signal().
void forward_to_main(int sig) {
  const int saved = errno;
  ::syscall(SYS_tgkill, ::getpid(), g_main_tid, sig);  // async-signal-safe, unlike pthread_kill
  errno = saved;
}

}  // namespace

void Daemon::block_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Threads that libraries start before main() (OpenBLAS starts its pool
  // from a constructor) do not block these: with the default action, a
  // SIGTERM the kernel hands one of them killed the daemon without a drain
  // whenever main was not yet in sigwait (between the ready file and
  // wait_for_signal). A handler makes such a delivery a hand-over instead.
  g_main_tid = static_cast<pid_t>(::syscall(SYS_gettid));
  struct sigaction sa {};
  sa.sa_handler = forward_to_main;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}

Status Daemon::start() {
  Impl& d = *impl_;
  log::Level lvl;
  if (log::parse_level(d.opt.log_level, &lvl)) log::set_level(lvl);
  if (Status s = fs::make_dirs(d.opt.state_dir, 0700); !s.ok()) return s;
  auto st = store::SqliteStore::open(d.opt.state_dir + "/config.db");
  if (!st.ok()) return st.status();
  d.store = std::move(*st);
  auto box = config::SecretBox::load_or_create(d.opt.state_dir + "/secrets.key");
  if (!box.ok()) return box.status();
  d.config = std::make_unique<config::ConfigService>(*d.store, std::move(*box));
  if (Status s = d.config->open(); !s.ok()) return s;
  d.tokens = std::make_unique<api::TokenService>(*d.store);
  if (Status s = d.tokens->open(); !s.ok()) return s;
  std::string token_file = d.opt.state_dir + "/admin.token";
  if (d.opt.reset_admin_token) {
    if (Status s = d.tokens->reset_admin(token_file); !s.ok()) return s;
    log::info("admin token replaced", {{"token_file", token_file}});
  } else {
    auto made = d.tokens->bootstrap_admin(token_file);
    if (!made.ok()) return made.status();
    if (*made) log::info("first start: admin token created", {{"token_file", token_file}});
    else if (!fs::exists(token_file)) {
      log::warn("no admin token file; run spectrad --reset-admin-token to make a new one", {{"token_file", token_file}});
    }
  }

  std::size_t threads = d.opt.threads ? d.opt.threads : std::max(1u, std::thread::hardware_concurrency());
  d.io = std::make_unique<http::IoPool>(threads);
  // How evenly the I/O threads share the work (conn_balancer.h): the
  // busiest and the least busy thread's demand over the last sampling window.
  auto thread_load = [&d](bool busiest) {
    if (!d.io) return 0.0;
    double out = busiest ? 0.0 : 1.0;
    for (const auto& l : d.io->loads()) {
      const double v = l.permille.load(std::memory_order_relaxed) / 1000.0;
      out = busiest ? std::max(out, v) : std::min(out, v);
    }
    return out;
  };
  d.metrics.callback_gauge("spectra_io_thread_load_max",
                           "Share of the last 100 ms (0 to 1) the busiest I/O thread ran or waited for a CPU",
                           [thread_load] { return thread_load(true); });
  d.metrics.callback_gauge("spectra_io_thread_load_min",
                           "Share of the last 100 ms (0 to 1) the least busy I/O thread ran or waited for a CPU",
                           [thread_load] { return thread_load(false); });
  d.metrics.callback_counter("spectra_io_thread_stalls_total",
                             "Times an I/O thread was 50 ms or more late to its own timer (every request on it waited that long)",
                             [&d] {
                               double n = 0;
                               if (d.io) {
                                 for (const auto& l : d.io->loads()) n += static_cast<double>(l.stalls.load(std::memory_order_relaxed));
                               }
                               return n;
                             });
  d.blocking = std::make_unique<boost::asio::thread_pool>(2);
  d.ctx.config = d.config.get();
  d.ctx.tokens = d.tokens.get();
  d.ctx.metrics = &d.metrics;
  d.ctx.blocking = d.blocking.get();
  d.ctx.version = SPECTRA_VERSION;
  d.ctx.store_backend = d.store->backend_name();
  d.ctx.components = [&d] { return d.components(); };
  d.ctx.ready = [&d] { return d.ready.load(); };
  d.ctx.ai_usage = [&d] { return d.ai ? d.ai->usage() : bj::array(); };
  d.ctx.ai_upstreams = [&d] { return d.ai ? d.ai->upstreams() : bj::array(); };
  d.ctx.ai_budgets = [&d] { return d.ai ? d.ai->budgets() : bj::array(); };
  d.ctx.on_commit = [&d](std::uint64_t rev) {
    if (d.ai) d.ai->apply_revision();
    if (d.net) boost::asio::post(*d.blocking, [&d] { d.reconcile_network(); });
    d.metrics.gauge("spectra_config_revision", "Head revision of the config of record").set(static_cast<double>(rev));
  };
  d.metrics.gauge("spectra_config_revision", "Head revision of the config of record").set(static_cast<double>(d.config->head()));
  auto started = std::chrono::steady_clock::now();
  d.metrics.callback_gauge("spectra_uptime_seconds", "Seconds since spectrad started", [started] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  });
  api::register_routes(d.router, d.ctx);

  http::ServerOptions so;
  so.name = "config_api";
  so.address = d.opt.api_address;
  so.port = d.opt.api_port;
  so.body_limit = 1 << 20;
  d.server = std::make_unique<http::Server>(
      *d.io, so, [&d](http::Exchange& ex) { return d.router.dispatch(ex); }, &d.metrics);
  if (Status s = d.server->start(); !s.ok()) return s;
  if (d.opt.network) {
    d.net = std::make_unique<net::NetworkRuntime>(d.io->at(0), &d.metrics, [&d](std::function<void()> fn) {
      boost::asio::post(*d.blocking, std::move(fn));
    });
    boost::asio::post(*d.blocking, [&d] { d.reconcile_network(); });
  }
  if (d.opt.role == "all" || d.opt.role == "ai") {
    AiOptions ao{d.opt.ai_address, d.opt.ai_port, d.opt.ai_port_given, d.opt.state_dir, d.opt.model_dir};
    d.ai = std::make_unique<AiComponent>(ao, *d.io, d.metrics, *d.config, *d.store);
    if (Status s = d.ai->start(); !s.ok()) return s;
    // Metering is persisted every 10 s and at shutdown.
    // and AWS credentials are kept fresh, off the I/O threads.
    d.persister = std::thread([&d] {
      d.ai->warm_credentials();
      std::unique_lock lock(d.persist_mu);
      while (!d.persist_cv.wait_for(lock, std::chrono::seconds(10), [&d] { return d.persist_stop; })) {
        lock.unlock();
        if (Status s = d.ai->persist_metering(); !s.ok()) log::warn("cannot persist AI metering", {{"error", s.to_string()}});
        d.ai->warm_credentials();
        lock.lock();
      }
    });
  }
  d.io->start();
  d.ready = true;
  std::string where = d.opt.api_address + ":" + std::to_string(d.server->port());
  if (!d.opt.ready_file.empty()) {
    std::string text = where + "\n";
    if (d.ai) text += "ai " + d.opt.ai_address + ":" + std::to_string(d.ai->port()) + "\n";
    if (Status s = fs::write_file_atomic(d.opt.ready_file, text); !s.ok()) return s;
  }
  log::info("config API listening", {{"address", where}, {"revision", d.config->head()}, {"store", d.store->backend_name()},
                                     {"role", d.opt.role}, {"threads", threads}});
  return {};
}

std::uint16_t Daemon::port() const { return impl_->server ? impl_->server->port() : 0; }

void Daemon::wait_for_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  log::info("signal received; draining", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
}

void Daemon::stop() {
  Impl& d = *impl_;
  if (d.stopped) return;
  d.stopped = true;
  d.ready = false;
  if (d.persister.joinable()) {
    {
      std::lock_guard lock(d.persist_mu);
      d.persist_stop = true;
    }
    d.persist_cv.notify_all();
    d.persister.join();
  }
  if (d.ai) d.ai->stop();
  if (d.server && d.io) d.server->stop(d.opt.drain_timeout);
  if (d.blocking) d.blocking->wait();
  d.net.reset();  // the kernel tables stay in force after spectrad exits, on purpose
  if (d.io) {
    d.io->stop();
    d.io->join();
  }
  if (d.blocking) d.blocking->join();
  d.server.reset();
  d.ai.reset();
  log::info("spectrad stopped");
}

}  // namespace spectra::daemon
