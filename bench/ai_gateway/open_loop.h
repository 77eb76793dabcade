#pragma once
// An open-loop HTTP/1.1 load generator for OpenAI-compatible chat endpoints.
//
// Request i is due at t0 + i/rate, whatever happened to the requests before
// it. Its latency is measured from that intended time, not from when it was
// actually written: if the generator is late (no free connection, a busy
// thread), the wait counts against the server, so a stall is never hidden
// (no coordinated omission). Connections are opened on demand up to a cap
// large enough that the generator itself never throttles the offered rate;
// requests that find every connection busy wait in a FIFO, and that wait is
// part of their latency.
//
// Bounded by construction: a run issues a fixed number of requests and then
// waits at most `drain_s` for the stragglers, which count as timeouts.
// Loopback targets only.
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "latency.h"

namespace spectra::bench {

struct LoadSpec {
  boost::asio::ip::tcp::endpoint target;  // must be loopback
  std::string path = "/v1/chat/completions";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string model = "gpt";
  bool stream = false;      // stream:true + include_usage; TTFB is recorded
  bool unique = true;       // a distinct prompt per request (defeats caches)
  std::string tag = "run";  // part of every prompt: distinct across runs
  std::size_t prompt_bytes = 64;
  double rate = 1000;          // requests per second
  double warmup_s = 0.5;       // issued at the same rate, not recorded
  double duration_s = 5;       // recorded part
  std::uint64_t requests = 0;  // > 0: exactly this many recorded requests instead of duration_s
  std::size_t max_connections = 1024;
  std::size_t preconnect = 32;
  double drain_s = 5;  // after the last send: wait this long at most
};

struct LoadResult {
  double offered_rps = 0;
  double achieved_rps = 0;  // (good answers - 1) / (last good answer - first good answer)
  double window_s = 0;
  std::uint64_t scheduled = 0, recorded = 0, ok = 0;
  std::uint64_t errors = 0;  // all failures of recorded requests, broken down below
  std::uint64_t timeouts = 0, transport_errors = 0, http_errors = 0, bad_bodies = 0;
  std::uint64_t retries =
      0;  // requests re-sent once after a kept-alive connection was found closed
  std::map<std::string, std::uint64_t> cache;  // x-spectra-cache values of recorded answers
  std::map<unsigned, std::uint64_t> statuses;  // non-200 statuses
  std::string first_error;
  LatencyRecorder total;     // intended send -> last byte
  LatencyRecorder ttfb;      // intended send -> first body byte (streams)
  LatencyRecorder send_lag;  // intended send -> actually written (generator health)
  std::size_t connections_opened = 0, peak_in_flight = 0;
  double generator_cpu = 0;  // CPU seconds / wall seconds of this process during the run
};

LoadResult run_open_loop(const LoadSpec& spec);

}  // namespace spectra::bench
