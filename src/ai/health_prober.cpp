#include "ai/health_prober.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "ai/upstream_client.h"
#include "common/log.h"

namespace spectra::ai {

namespace asio = boost::asio;

namespace {
constexpr auto kTick = std::chrono::milliseconds(100);  // how late a due check may start
constexpr auto kIdleTick = std::chrono::seconds(1);     // without targets
constexpr std::size_t kMaxAnswer = 64 << 10;
}  // namespace

struct HealthProber::Impl {
  struct Job {
    HealthCheckTarget target;
    std::string key;
  };
  struct Schedule {
    std::chrono::steady_clock::time_point next_due{};
    bool in_flight = false;
  };

  Impl(HealthProber& o, UpstreamHealth& h) : owner(o), health(h) {}

  std::shared_ptr<const std::vector<HealthCheckTarget>> snapshot() {
    std::lock_guard lock(mu);
    return targets;
  }

  // Starts the checks that are due: every interval, and at once for an
  // ejected endpoint whose cool-down is over (nothing else brings it back).
  void tick() {
    const auto all = snapshot();
    const auto now = std::chrono::steady_clock::now();
    std::set<std::string> live;
    for (const HealthCheckTarget& t : *all) {
      std::string key = t.provider + ' ' + t.endpoint;
      live.insert(key);
      Schedule& s = schedules[key];
      if (s.in_flight) continue;
      auto st = health.state(t.provider, t.endpoint);
      if (st && st->ejected_for.count() > 0) continue;  // its ejection stands until the cool-down ends
      if (!(st && st->awaiting_check) && now < s.next_due) continue;
      s.next_due = now + t.interval;
      s.in_flight = true;
      auto job = std::make_shared<Job>(Job{t, std::move(key)});
      asio::co_spawn(io, check(job.get()), [this, job](std::exception_ptr) { schedules[job->key].in_flight = false; });
    }
    std::erase_if(schedules, [&](const auto& kv) { return !kv.second.in_flight && !live.contains(kv.first); });
  }

  asio::awaitable<void> check(Job* job) {
    const HealthCheckTarget& t = job->target;
    UpstreamRequest req;
    req.method = "GET";
    req.url = t.url;
    req.ca_file = t.ca_file;
    req.headers = {{"accept", "*/*"}, {"user-agent", "spectra-health-check"}};
    UpstreamTimeouts timeouts;
    timeouts.connect = t.timeout;
    timeouts.first_byte = t.timeout;
    timeouts.idle = t.timeout;
    UpstreamCall call;
    Status st = co_await call.start(req, timeouts);
    std::string body;
    if (st.ok()) st = co_await call.read_all(body, kMaxAnswer);
    const unsigned status = st.ok() ? call.status() : 0;
    const bool passed = st.ok() && status >= 200 && status < 300;
    owner.checks_.fetch_add(1, std::memory_order_relaxed);
    std::string error;
    if (!passed) {
      owner.failed_.fetch_add(1, std::memory_order_relaxed);
      error = "health check " + t.url + ": " + (st.ok() ? "HTTP " + std::to_string(status) : st.message());
    }
    switch (health.checked(t.provider, t.endpoint, passed, error)) {
      case UpstreamHealth::CheckEffect::kEjected:
        log::warn("upstream endpoint ejected after failed health checks", {{"provider", t.provider},
                                                                          {"endpoint", t.endpoint},
                                                                          {"error", error}});
        break;
      case UpstreamHealth::CheckEffect::kRestored:
        log::info("upstream endpoint passed its health check; back in rotation",
                  {{"provider", t.provider}, {"endpoint", t.endpoint}});
        break;
      case UpstreamHealth::CheckEffect::kNone:
        break;
    }
  }

  asio::awaitable<void> loop() {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    wake = &timer;
    for (;;) {
      tick();
      // Nothing to check (every health_check removed): look again now and then.
      timer.expires_after(snapshot()->empty() ? kIdleTick : kTick);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  HealthProber& owner;
  UpstreamHealth& health;
  asio::io_context io{1};
  std::mutex mu;
  std::shared_ptr<const std::vector<HealthCheckTarget>> targets =
      std::make_shared<const std::vector<HealthCheckTarget>>();  // guarded by mu
  std::map<std::string, Schedule> schedules;                    // the prober's thread only
  asio::steady_timer* wake = nullptr;                           // the loop's timer; the prober's thread only
  std::thread thread;
};

HealthProber::HealthProber(UpstreamHealth& health) : impl_(std::make_unique<Impl>(*this, health)) {
  Impl* d = impl_.get();
  asio::co_spawn(d->io, d->loop(), [](std::exception_ptr) {});
  d->thread = std::thread([d] { d->io.run(); });
}

HealthProber::~HealthProber() {
  impl_->io.stop();
  impl_->thread.join();
}

void HealthProber::set_targets(std::vector<HealthCheckTarget> targets) {
  auto t = std::make_shared<const std::vector<HealthCheckTarget>>(std::move(targets));
  {
    std::lock_guard lock(impl_->mu);
    impl_->targets = std::move(t);
  }
  // New targets are looked at now, not at the end of an idle wait.
  Impl* d = impl_.get();
  asio::post(d->io, [d] {
    if (d->wake) d->wake->cancel();
  });
}

}  // namespace spectra::ai
