#include "net/health_loop.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <mutex>

namespace spectra::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct AsioTcpProber::Shared {
  std::mutex mu;
  bool alive = true;  // guarded by mu
};

namespace {

struct ProbeOp : std::enable_shared_from_this<ProbeOp> {
  ProbeOp(asio::io_context& io, std::function<void(bool, std::string)> cb)
      : strand(asio::make_strand(io)), socket(strand), timer(strand), done(std::move(cb)) {}
  asio::strand<asio::io_context::executor_type> strand;
  tcp::socket socket;
  asio::steady_timer timer;
  std::function<void(bool, std::string)> done;
  bool timed_out = false;
  bool finished = false;
};

}  // namespace

AsioTcpProber::AsioTcpProber(asio::io_context& io) : io_(io), shared_(std::make_shared<Shared>()) {}

AsioTcpProber::~AsioTcpProber() { shutdown(); }

void AsioTcpProber::shutdown() {
  std::lock_guard lock(shared_->mu);
  shared_->alive = false;
}

void AsioTcpProber::probe(const std::string& address, std::uint16_t port,
                          std::chrono::milliseconds timeout,
                          std::function<void(bool ok, std::string detail)> done) {
  auto shared = shared_;
  auto finish = [shared, done = std::move(done)](bool ok, std::string detail) {
    std::lock_guard lock(shared->mu);
    if (shared->alive) done(ok, std::move(detail));
  };
  boost::system::error_code ec;
  auto addr = asio::ip::make_address_v4(address, ec);
  if (ec) {
    finish(false, "bad address " + address);
    return;
  }
  auto op = std::make_shared<ProbeOp>(io_, std::move(finish));
  // Opened here, on the calling thread: the socket belongs to its namespace.
  op->socket.open(tcp::v4(), ec);
  if (ec) {
    asio::post(op->strand, [op, msg = ec.message()] { op->done(false, "socket: " + msg); });
    return;
  }
  op->timer.expires_after(timeout);
  op->timer.async_wait([op](const boost::system::error_code& e) {
    if (e || op->finished) return;
    op->timed_out = true;
    boost::system::error_code ignored;
    op->socket.close(ignored);  // completes the connect with operation_aborted
  });
  op->socket.async_connect(tcp::endpoint(addr, port), [op](const boost::system::error_code& e) {
    op->finished = true;
    op->timer.cancel();
    boost::system::error_code ignored;
    op->socket.close(ignored);
    if (!e)
      op->done(true, "connected");
    else
      op->done(false, op->timed_out ? "timeout" : e.message());
  });
}

struct HealthLoop::State : std::enable_shared_from_this<HealthLoop::State> {
  State(asio::io_context& io, HealthChecker& c, std::chrono::milliseconds m)
      : strand(asio::make_strand(io)), timer(strand), checker(c), max_sleep(m) {}
  asio::strand<asio::io_context::executor_type> strand;
  asio::steady_timer timer;
  HealthChecker& checker;
  std::chrono::milliseconds max_sleep;
  std::mutex mu;
  bool running = false;  // guarded by mu

  void tick() {
    std::lock_guard lock(mu);
    if (!running) return;
    auto next = checker.poll();
    auto now = std::chrono::steady_clock::now();
    auto wait = max_sleep;
    if (next) {
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(*next - now);
      if (until < wait) wait = std::max(until, std::chrono::milliseconds(1));
    }
    timer.expires_after(wait);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
      if (!e) self->tick();
    });
  }
};

HealthLoop::HealthLoop(asio::io_context& io, HealthChecker& checker,
                       std::chrono::milliseconds max_sleep)
    : state_(std::make_shared<State>(io, checker, max_sleep)) {}

HealthLoop::~HealthLoop() { stop(); }

void HealthLoop::start() {
  {
    std::lock_guard lock(state_->mu);
    if (state_->running) return;
    state_->running = true;
  }
  wake();
}

void HealthLoop::stop() {
  std::lock_guard lock(state_->mu);
  state_->running = false;
  asio::post(state_->strand, [s = state_] { s->timer.cancel(); });
}

void HealthLoop::wake() {
  asio::post(state_->strand, [s = state_] {
    s->timer.cancel();
    s->tick();
  });
}

}  // namespace spectra::net
