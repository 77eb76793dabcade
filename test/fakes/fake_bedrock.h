#pragma once
// A fake Amazon Bedrock runtime on loopback that speaks the real protocol:
//
// - Every request must carry a valid SigV4 Authorization header: the fake
//   recomputes the signature with its known test credentials and answers 403
//   (InvalidSignatureException, "The request signature we calculated does not
//   match...") when it differs, as Bedrock does.
// - POST /model/{modelId}/converse         -> Converse JSON
// - POST /model/{modelId}/converse-stream  -> application/vnd.amazon.eventstream,
//   real frames (wire::eventstream encoder, both CRCs), HTTP chunked, each
//   frame split across two chunks so that readers cannot rely on alignment.
// - POST /model/{modelId}/invoke           -> Titan text embeddings
// - POST /model/{modelId}/count-tokens     -> CountTokens {"inputTokens"} (Claude
//   models by their bare id only, as on Bedrock; others: ValidationException)
// Model ids as Bedrock takes them: a foundation model's, a cross-region
// profile's ("us.anthropic..."), or an application inference profile's ARN
// (options.inference_profiles), which runs its foundation model.
// Replies and usage are deterministic (fake_bedrock_replies.h). Errors are
// Bedrock's: JSON {"message"} with x-amzn-ErrorType.
//
// Faults are settable while the fake runs, from any thread.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "aws/sigv4.h"
#include "common/result.h"
#include "http/io_pool.h"
#include "http/server.h"

namespace spectra::fakes {

struct FakeBedrockOptions {
  std::string access_key_id = "AKIDFAKEBEDROCK0001";
  std::string secret_access_key = "fakeBedrockSecretKey/0123456789abcdefghij";
  std::string session_token;  // when set, requests must carry exactly this token
  std::string region = "us-east-1";
  std::string service = "bedrock";
  // Application inference profiles the account has: ARN -> the foundation
  // model's id. Any other application profile ARN is an invalid model id.
  std::map<std::string, std::string> inference_profiles;
  // Guardrails the account has, by "id:version": a user turn holding one
  // of its words (any case) is answered with its message instead, and
  // stopReason guardrail_intervened. Any other guardrail does not exist.
  struct Guardrail {
    std::vector<std::string> blocked_words;
    std::string blocked_message = "Sorry, the model cannot answer this question.";
  };
  std::map<std::string, Guardrail> guardrails;
};

struct FakeBedrockFaults {
  std::chrono::milliseconds latency{0};         // before the answer's status line
  std::chrono::milliseconds delta_interval{0};  // between stream events
  // Non-zero: answer this HTTP error before any token (429 ThrottlingException,
  // 503 ServiceUnavailableException, 500 InternalServerException, other: as is).
  unsigned error_status = 0;
  // >= 0: after this many contentBlockDelta events, send an exception event of
  // `exception_type` and end the stream.
  int exception_after_deltas = -1;
  std::string exception_type = "modelStreamErrorException";
  // >= 0: after this many contentBlockDelta events, close the connection
  // without ending the chunked body.
  int drop_after_deltas = -1;
};

// One request as the fake received it.
struct FakeBedrockRequest {
  std::string method;
  std::string target;  // path?query as on the wire
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool signature_ok = false;
};

class FakeBedrock {
 public:
  explicit FakeBedrock(FakeBedrockOptions options = {});
  ~FakeBedrock();
  FakeBedrock(const FakeBedrock&) = delete;
  FakeBedrock& operator=(const FakeBedrock&) = delete;

  // Listens on 127.0.0.1, ephemeral port.
  Status start();
  void stop();

  std::string base_url() const;  // http://127.0.0.1:<port>
  std::uint16_t port() const;
  const FakeBedrockOptions& options() const { return options_; }
  aws::sigv4::Credentials credentials() const;

  void set_faults(FakeBedrockFaults faults);
  FakeBedrockFaults faults() const;
  void clear_faults() { set_faults({}); }

  std::uint64_t request_count() const { return request_count_.load(); }
  std::vector<FakeBedrockRequest> requests() const;

 private:
  http::asio::awaitable<void> handle(http::Exchange& ex);

  FakeBedrockOptions options_;
  http::IoPool pool_{1};
  std::unique_ptr<http::Server> server_;
  bool running_ = false;
  mutable std::mutex mu_;
  FakeBedrockFaults faults_;                  // guarded by mu_
  std::vector<FakeBedrockRequest> requests_;  // guarded by mu_
  std::set<std::string> cached_prefixes_;     // prompt cache, by prefix and model; guarded by mu_
  std::atomic<std::uint64_t> request_count_{0};
};

// Checks a request's SigV4 Authorization header against `options`: nullopt
// when valid, else {error type, message} as Bedrock words them. Exposed for
// tests of the checker itself.
struct SignatureProblem {
  std::string error_type;
  std::string message;
};
std::optional<SignatureProblem> check_signature(const http::Request& request,
                                                const FakeBedrockOptions& options);

}  // namespace spectra::fakes
