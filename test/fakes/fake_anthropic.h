#pragma once
// A fake of Anthropic's Messages API on loopback, for gateway tests.
//
// POST /v1/messages checks `x-api-key` (401 authentication_error) and
// `anthropic-version` (400), validates the body like the real API, and answers
// deterministically (rules and exact usage in fake_anthropic_protocol.h),
// either as one JSON message or as the real SSE event sequence over chunked
// transfer encoding. POST /v1/messages/count_tokens answers the input_tokens
// the same request would be charged. Other paths answer 404 not_found_error.
//
// Faults are set at run time from any thread (set_faults) and apply to
// requests that arrive afterwards. Counters let a test prove that a request
// never reached this upstream (requests() == 0, connections() == 0).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "fake_anthropic_protocol.h"
#include "http/io_pool.h"
#include "http/server.h"
#include "metrics/metrics.h"

namespace spectra::fakes {

struct FakeAnthropicOptions {
  std::string api_key = "test-anthropic-key";
  std::string address = "127.0.0.1";
  std::size_t threads = 1;
};

struct FakeAnthropicFaults {
  // Before the first response byte (the status line) of every request.
  std::chrono::milliseconds first_byte_delay{0};
  // Before each stream event after the first.
  std::chrono::milliseconds event_delay{0};
  // Non-zero: answer this status (e.g. 429, 500, 529) with an Anthropic error
  // body instead of an answer, for the next `error_count` requests (-1: all).
  // 429 carries `retry-after: 1`.
  unsigned error_status = 0;
  int error_count = -1;
  // Streamed answers: after this many content_block_delta events, send an
  // `error` event of `error_event_type` and end the stream. 0 makes the error
  // the very first event, before message_start. -1: off.
  int error_event_after = -1;
  std::string error_event_type = "overloaded_error";
  // After this many content_block_delta events (streamed) the connection is
  // closed without the terminating chunk; 0 closes it right after the response
  // head. For a non-streamed answer any value >= 0 sends half of the JSON body
  // (chunked) and then closes. -1: off.
  int drop_after = -1;
  // Reported in usage as given (Anthropic prompt caching).
  std::int64_t cache_read_input_tokens = 0;
  std::int64_t cache_creation_input_tokens = 0;
};

struct RecordedRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::string body;
  std::string header(std::string_view name) const;
};

class FakeAnthropic {
 public:
  explicit FakeAnthropic(FakeAnthropicOptions options = {});
  ~FakeAnthropic();
  FakeAnthropic(const FakeAnthropic&) = delete;
  FakeAnthropic& operator=(const FakeAnthropic&) = delete;

  // Binds 127.0.0.1:`port` (0: ephemeral) and starts serving.
  Status start(std::uint16_t port = 0);
  std::uint16_t port() const;
  std::string base_url() const;  // http://127.0.0.1:<port>
  // Stops and joins; safe to call twice. The destructor calls it.
  void stop();

  void set_faults(const FakeAnthropicFaults& faults);
  FakeAnthropicFaults faults() const;
  void clear_faults() { set_faults({}); }

  // Every HTTP request received (any path, any outcome).
  std::uint64_t requests() const { return requests_.load(); }
  // TCP connections accepted.
  std::uint64_t connections() const;
  // The most recent requests, oldest first (at most 64 kept).
  std::vector<RecordedRequest> recorded() const;
  RecordedRequest last_request() const;
  void reset_counters();

 private:
  boost::asio::awaitable<void> handle(http::Exchange& ex);
  boost::asio::awaitable<void> stream(http::Exchange& ex, const anthropic::Reply& reply,
                                      const FakeAnthropicFaults& faults);
  boost::asio::awaitable<void> drop_mid_body(http::Exchange& ex, const std::string& body);
  FakeAnthropicFaults take_faults();  // snapshot for one request; counts error_count down
  void record(const http::Request& req);

  FakeAnthropicOptions options_;
  std::unique_ptr<http::IoPool> pool_;
  std::unique_ptr<metrics::Registry> metrics_;
  std::unique_ptr<http::Server> server_;
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> seq_{0};
  std::uint64_t connections_base_ = 0;  // guarded by mu_
  mutable std::mutex mu_;
  FakeAnthropicFaults faults_;        // guarded by mu_
  std::vector<RecordedRequest> log_;  // guarded by mu_
  bool running_ = false;              // guarded by mu_
};

}  // namespace spectra::fakes
