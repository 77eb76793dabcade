#include "open_loop.h"

#include <sys/resource.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <chrono>
#include <deque>
#include <memory>

#include "response_parser.h"

namespace spectra::bench {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Ns = std::chrono::nanoseconds;

double cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

class Engine {
 public:
  explicit Engine(const LoadSpec& spec) : spec_(spec), timer_(io_), drain_timer_(io_) {
    warmup_n_ = static_cast<std::uint64_t>(spec.rate * spec.warmup_s);
    recorded_n_ =
        spec.requests > 0 ? spec.requests : static_cast<std::uint64_t>(spec.rate * spec.duration_s);
    total_n_ = warmup_n_ + recorded_n_;
    interval_ns_ = 1e9 / spec.rate;
    build_templates();
    r_.offered_rps = spec.rate;
    r_.scheduled = total_n_;
    r_.total.reserve(recorded_n_);
    r_.send_lag.reserve(recorded_n_);
    if (spec.stream) r_.ttfb.reserve(recorded_n_);
  }

  LoadResult run() {
    // Warm connections first, so the schedule does not start with a burst
    // of handshakes (bounded: 3 s at most).
    {
      auto guard = asio::make_work_guard(io_);
      for (std::size_t i = 0; i < std::min(spec_.preconnect, spec_.max_connections); ++i)
        open_connection();
      auto until = Clock::now() + std::chrono::seconds(3);
      while (connecting_ > 0 && Clock::now() < until)
        io_.run_one_for(std::chrono::milliseconds(50));
    }
    if (io_.stopped()) io_.restart();
    double cpu0 = cpu_seconds();
    auto wall0 = Clock::now();
    t0_ = Clock::now() + std::chrono::milliseconds(1);
    tick();
    io_.run();
    r_.generator_cpu =
        (cpu_seconds() - cpu0) / std::chrono::duration<double>(Clock::now() - wall0).count();
    r_.timeouts = recorded_n_ - done_recorded_;
    r_.errors += r_.timeouts;
    r_.recorded = recorded_n_;
    if (r_.ok > 1) {
      // Answers per second between the first and the last good answer. A
      // constant latency shifts both ends alike and cancels out; a server
      // that falls behind stretches the span, so achieved drops below
      // offered. Never shorter than the schedule (n answers span at least
      // (n-1)/rate when the server keeps up).
      double span_s = std::chrono::duration<double>(last_answer_ - first_answer_).count();
      double schedule_s = static_cast<double>(r_.ok - 1) / spec_.rate;
      r_.window_s = std::max(span_s, schedule_s);
      r_.achieved_rps = static_cast<double>(r_.ok - 1) / r_.window_s;
    }
    r_.total.finish();
    r_.ttfb.finish();
    r_.send_lag.finish();
    return std::move(r_);
  }

 private:
  struct Conn {
    explicit Conn(asio::io_context& io) : sock(io) {}
    tcp::socket sock;
    std::string out;
    char in[16384];
    ResponseParser parser;
    std::uint64_t index = 0;
    Clock::time_point intended, sent;
    bool ttfb_done = false;
    Clock::time_point first_body;
    bool retried = false;   // the current request is a re-send
    bool reused = false;    // served a request before this one
    std::uint64_t got = 0;  // response bytes of the current request
    bool open = false;
  };
  using ConnPtr = std::shared_ptr<Conn>;
  struct Waiting {
    std::uint64_t index;
    bool retried;
  };

  Clock::time_point intended(std::uint64_t i) const {
    return t0_ + Ns(static_cast<std::int64_t>(static_cast<double>(i) * interval_ns_));
  }
  bool recorded(std::uint64_t i) const { return i >= warmup_n_; }

  void build_templates() {
    head_ = "POST " + spec_.path + " HTTP/1.1\r\nHost: " + spec_.target.address().to_string() +
            ":" + std::to_string(spec_.target.port()) +
            "\r\nContent-Type: application/json\r\nAccept: " +
            (spec_.stream ? "text/event-stream" : "application/json") + "\r\n";
    for (const auto& [k, v] : spec_.headers) head_ += k + ": " + v + "\r\n";
    head_ += "Content-Length: ";
    body_prefix_ = R"({"model":")" + spec_.model + R"(","messages":[{"role":"user","content":")" +
                   spec_.tag + "-";
    std::string pad;
    static constexpr std::string_view kWords =
        "lorem ipsum dolor sit amet consectetur adipiscing elit ";
    while (pad.size() < spec_.prompt_bytes) pad += kWords;
    pad.resize(spec_.prompt_bytes);
    body_suffix_ = " " + pad + "\"}]";
    if (spec_.stream) body_suffix_ += R"(,"stream":true,"stream_options":{"include_usage":true})";
    body_suffix_ += "}";
  }

  void render(Conn& c, std::uint64_t i) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, spec_.unique ? i : 0);
    (void)ec;
    std::size_t id_len = static_cast<std::size_t>(end - digits);
    std::size_t body_len = body_prefix_.size() + id_len + body_suffix_.size();
    char len[24];
    auto [lend, lec] = std::to_chars(len, len + sizeof len, body_len);
    (void)lec;
    c.out.clear();
    c.out.append(head_).append(len, lend).append("\r\n\r\n");
    c.out.append(body_prefix_).append(digits, end).append(body_suffix_);
  }

  void tick() {
    auto now = Clock::now();
    while (next_ < total_n_ && intended(next_) <= now) dispatch(next_++);
    if (next_ < total_n_) {
      timer_.expires_at(intended(next_));
      timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) tick();
      });
      return;
    }
    // Everything is sent: wait for the stragglers, but not for ever.
    drain_timer_.expires_after(Ns(static_cast<std::int64_t>(spec_.drain_s * 1e9)));
    drain_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      for (auto& c : conns_) close(*c);
      io_.stop();
    });
    maybe_finish();
  }

  void dispatch(std::uint64_t i) {
    pending_.push_back({i, false});
    pump();
  }

  // Pairs waiting requests with idle connections; opens connections when
  // requests wait and the cap allows.
  void pump() {
    while (!pending_.empty() && !idle_.empty()) {
      ConnPtr c = std::move(idle_.back());
      idle_.pop_back();
      Waiting w = pending_.front();
      pending_.pop_front();
      start(c, w);
    }
    while (!pending_.empty() && connecting_ < pending_.size() &&
           conns_.size() < spec_.max_connections) {
      open_connection();
    }
  }

  void open_connection() {
    auto c = std::make_shared<Conn>(io_);
    conns_.push_back(c);
    ++connecting_;
    ++r_.connections_opened;
    c->sock.async_connect(spec_.target, [this, c](boost::system::error_code ec) {
      --connecting_;
      if (ec) {
        note_error("connect: " + ec.message());
        drop(c);
        // The oldest waiting request fails with it (so a dead server costs
        // one attempt per request, never a reconnect storm).
        if (!pending_.empty()) {
          Waiting w = pending_.front();
          pending_.pop_front();
          finished(w.index);
          if (recorded(w.index)) {
            ++r_.errors;
            ++r_.transport_errors;
          }
        }
        pump();
        maybe_finish();
        return;
      }
      c->open = true;
      boost::system::error_code ignore;
      c->sock.set_option(tcp::no_delay(true), ignore);
      idle_.push_back(c);
      pump();
    });
  }

  void start(const ConnPtr& c, Waiting w) {
    std::uint64_t i = w.index;
    c->index = i;
    c->retried = w.retried;
    c->intended = intended(i);
    c->ttfb_done = false;
    c->got = 0;
    c->parser.reset();
    render(*c, i);
    c->sent = Clock::now();
    ++in_flight_;
    r_.peak_in_flight = std::max(r_.peak_in_flight, in_flight_);
    asio::async_write(c->sock, asio::buffer(c->out),
                      [this, c](boost::system::error_code ec, std::size_t) {
                        if (ec) {
                          failed(c, "write: " + ec.message(), true);
                          return;
                        }
                        read(c);
                      });
  }

  void read(const ConnPtr& c) {
    c->sock.async_read_some(asio::buffer(c->in),
                            [this, c](boost::system::error_code ec, std::size_t n) {
                              if (ec) {
                                failed(c, "read: " + ec.message(), true);
                                return;
                              }
                              c->got += n;
                              std::size_t used = c->parser.feed(c->in, n);
                              if (!c->ttfb_done && c->parser.body_started()) {
                                c->ttfb_done = true;
                                c->first_body = Clock::now();
                              }
                              if (c->parser.failed()) {
                                failed(c, "protocol: " + c->parser.error(), false);
                                return;
                              }
                              if (!c->parser.done()) {
                                read(c);
                                return;
                              }
                              if (used != n) {
                                failed(c, "protocol: bytes after the response", false);
                                return;
                              }
                              answered(c);
                            });
  }

  void answered(const ConnPtr& c) {
    auto now = Clock::now();
    --in_flight_;
    std::uint64_t i = c->index;
    finished(i);
    const ResponseParser& p = c->parser;
    bool good = p.status() == 200;
    if (good && spec_.stream) good = p.body_tail().find("[DONE]") != std::string_view::npos;
    if (good && !spec_.stream) good = p.body_bytes() > 0;
    if (recorded(i)) {
      if (p.status() != 200) {
        ++r_.statuses[p.status()];
        ++r_.http_errors;
        ++r_.errors;
        note_error("HTTP status " + std::to_string(p.status()));
      } else if (!good) {
        ++r_.bad_bodies;
        ++r_.errors;
        note_error("answer body incomplete (no [DONE] / empty)");
      } else {
        ++r_.ok;
        r_.total.add((now - c->intended).count());
        if (spec_.stream) r_.ttfb.add((c->first_body - c->intended).count());
        r_.send_lag.add((c->sent - c->intended).count());
        ++r_.cache[p.cache_header().empty() ? "-" : p.cache_header()];
        last_answer_ = std::max(last_answer_, now);
        if (r_.ok == 1) first_answer_ = now;
      }
    }
    c->reused = true;
    if (p.keep_alive()) {
      idle_.push_back(c);
    } else {
      close(*c);
      drop(c);
    }
    pump();
    maybe_finish();
  }

  // A transport or protocol failure of the request on `c`.
  void failed(const ConnPtr& c, const std::string& why, bool transport) {
    --in_flight_;
    close(*c);
    drop(c);
    // A kept-alive connection the server closed while it sat idle fails
    // before any byte of an answer: send the request once more, fresh.
    if (transport && c->reused && c->got == 0 && !c->retried) {
      ++r_.retries;
      pending_.push_front({c->index, true});
      pump();
      return;
    }
    finished(c->index);
    if (recorded(c->index)) {
      ++r_.errors;
      ++r_.transport_errors;
      note_error(why);
    }
    pump();
    maybe_finish();
  }

  void note_error(const std::string& why) {
    if (r_.first_error.empty()) r_.first_error = why;
  }

  void close(Conn& c) {
    boost::system::error_code ignore;
    c.open = false;
    c.sock.close(ignore);
  }

  void drop(const ConnPtr& c) {
    for (std::size_t k = 0; k < conns_.size(); ++k) {
      if (conns_[k] == c) {
        conns_[k] = std::move(conns_.back());
        conns_.pop_back();
        break;
      }
    }
    for (std::size_t k = 0; k < idle_.size(); ++k) {
      if (idle_[k] == c) {
        idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(k));
        break;
      }
    }
  }

  void finished(std::uint64_t i) {
    ++done_;
    if (recorded(i)) ++done_recorded_;
  }

  void maybe_finish() {
    if (next_ < total_n_ || done_ < total_n_) return;
    timer_.cancel();
    drain_timer_.cancel();
    for (auto& c : conns_) close(*c);
    io_.stop();
  }

  const LoadSpec& spec_;
  asio::io_context io_{1};
  asio::steady_timer timer_, drain_timer_;
  std::string head_, body_prefix_, body_suffix_;
  std::uint64_t warmup_n_ = 0, recorded_n_ = 0, total_n_ = 0, next_ = 0, done_ = 0;
  std::uint64_t done_recorded_ = 0;  // recorded requests answered or failed
  double interval_ns_ = 0;
  Clock::time_point t0_, first_answer_{}, last_answer_{};
  std::vector<ConnPtr> conns_;
  std::vector<ConnPtr> idle_;    // LIFO: the warmest connection first
  std::deque<Waiting> pending_;  // FIFO of requests due but not yet sent
  std::size_t connecting_ = 0, in_flight_ = 0;
  LoadResult r_;
};

}  // namespace

LoadResult run_open_loop(const LoadSpec& spec) {
  Engine e(spec);
  return e.run();
}

}  // namespace spectra::bench
