#pragma once
// An incremental HTTP/1.1 response parser for the load generator: just what
// a client of an OpenAI-compatible server meets (Content-Length or chunked
// bodies, Connection: close), fed the bytes as they arrive, so the generator
// can time the first byte of the body (time to first token for SSE) without
// buffering whole responses. Not a general-purpose parser: no 1xx, no
// pipelining, no bodies delimited by close.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace spectra::bench {

class ResponseParser {
 public:
  enum class State {
    kHeader,
    kBody,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,
    kTrailer,
    kDone,
    kError
  };

  void reset();
  // Consumes bytes of one response. Returns how many were used; after kDone
  // the rest belongs to no response (the caller treats extra bytes as an error).
  std::size_t feed(const char* p, std::size_t n);

  State state() const { return state_; }
  bool done() const { return state_ == State::kDone; }
  bool failed() const { return state_ == State::kError; }
  const std::string& error() const { return error_; }
  unsigned status() const { return status_; }
  bool keep_alive() const { return keep_alive_; }
  // The x-spectra-cache header ("" when absent).
  const std::string& cache_header() const { return cache_; }
  // True once at least one byte of body data has been seen.
  bool body_started() const { return body_bytes_ > 0; }
  std::uint64_t body_bytes() const { return body_bytes_; }
  // The last bytes of the body (for an end-of-stream check such as "[DONE]").
  std::string_view body_tail() const { return {tail_, tail_len_}; }

 private:
  bool parse_header();  // header_ holds the whole header block
  void body_data(const char* p, std::size_t n);
  void fail(std::string why);

  State state_ = State::kHeader;
  std::string header_;
  std::string line_;  // chunk-size and trailer lines
  std::uint64_t remaining_ = 0;
  std::uint64_t body_bytes_ = 0;
  unsigned status_ = 0;
  bool keep_alive_ = true;
  bool chunked_ = false;
  std::string cache_;
  std::string error_;
  static constexpr std::size_t kTail = 24;
  char tail_[kTail] = {};
  std::size_t tail_len_ = 0;
};

}  // namespace spectra::bench
