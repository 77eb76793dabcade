#pragma once
// A protocol-faithful fake of an OpenAI-compatible upstream (OpenAI, vLLM):
// POST /v1/chat/completions (JSON or the real SSE chunk sequence with
// stream_options.include_usage), /v1/responses (the Responses API, whole or
// its typed event stream), /v1/completions, /v1/embeddings,
// GET /v1/models, and vLLM's GET /health and POST /tokenize. Replies are deterministic and usage is exact:
//   reply   = "<name> says: <last user message>"
//   prompt  = whitespace-separated words across all message contents
//   completion = words in the reply (and in the reasoning of a reasoning
//                model: one named *r1* answers it in reasoning_content, one
//                named *oss* in reasoning, before the reply, as vLLM does;
//                one named *qwen3* in reasoning_content unless
//                chat_template_kwargs.enable_thinking is false)
//   legacy completions: "<name> completes: <prompt>", cut at max_tokens
//                words with finish_reason "length"
// Faults can be injected at run time: latency, an HTTP error before the
// first token, an error event or a dropped connection after N chunks.
#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/result.h"
#include "http/io_pool.h"
#include "http/server.h"

namespace spectra::fakes {

struct FakeOpenAiFaults {
  std::chrono::milliseconds latency{0};        // before the status line
  std::chrono::milliseconds chunk_interval{0};  // between stream chunks
  unsigned error_status = 0;                    // e.g. 429, 500, 503: before any token
  int error_after_chunks = -1;                  // >= 0: an error event after N content chunks
  int drop_after_chunks = -1;                   // >= 0: close the connection after N content chunks
  unsigned health_status = 200;                 // what GET /health (vLLM's, no auth) answers
};

class FakeOpenAi {
 public:
  // `name` starts every reply, so tests can tell upstreams apart.
  explicit FakeOpenAi(std::string name = "fake-openai", std::string api_key = "");
  ~FakeOpenAi();
  FakeOpenAi(const FakeOpenAi&) = delete;
  FakeOpenAi& operator=(const FakeOpenAi&) = delete;

  Status start(std::uint16_t port = 0);  // 127.0.0.1
  void stop();
  std::uint16_t port() const;
  std::string base_url() const;  // http://127.0.0.1:<port>/v1

  void set_faults(FakeOpenAiFaults f);
  std::uint64_t request_count() const { return requests_.load(); }  // all but /health
  std::uint64_t health_requests() const { return health_requests_.load(); }
  std::int64_t max_in_flight() const { return max_in_flight_.load(); }
  std::string last_body() const;

 private:
  http::asio::awaitable<void> handle(http::Exchange& ex);
  http::asio::awaitable<void> chat(http::Exchange& ex);
  // The injected latency, then the injected error if there is one (true: answered).
  http::asio::awaitable<bool> injected_failure(http::Exchange& ex, const FakeOpenAiFaults& f);
  // POST /v1/responses (fake_openai_responses.cpp): usage counts the words of
  // the instructions and every input text; faults as for chat.
  http::asio::awaitable<void> responses(http::Exchange& ex);
  // What it stored (unless store: false): GET/DELETE /v1/responses/{id},
  // GET .../input_items, POST .../cancel (refused: nothing runs in the background).
  http::asio::awaitable<void> stored_response(http::Exchange& ex);
  // POST /v1/responses/input_tokens and /v1/responses/compact.
  http::asio::awaitable<void> response_tools(http::Exchange& ex);
  // Legacy /v1/completions with stream: text_completion chunks, one per
  // word (chunk_interval apart), the last with `finish`, a usage chunk if
  // asked, then [DONE].
  http::asio::awaitable<void> stream_completion(http::Exchange& ex, const boost::json::object& body, const std::string& prompt,
                                                const std::string& reply, const std::string& finish);

  std::string name_, api_key_;
  http::IoPool pool_{1};
  std::unique_ptr<http::Server> server_;
  mutable std::mutex mu_;
  FakeOpenAiFaults faults_;  // guarded by mu_
  std::string last_body_;    // guarded by mu_
  // Stored Responses API answers: id -> (response, input items); guarded by mu_.
  std::map<std::string, std::pair<boost::json::object, boost::json::array>> stored_;
  std::atomic<std::uint64_t> requests_{0}, health_requests_{0};
  std::atomic<std::int64_t> in_flight_{0}, max_in_flight_{0};
};

// Word count used for the fake's usage numbers.
std::int64_t fake_word_count(std::string_view text);

}  // namespace spectra::fakes
