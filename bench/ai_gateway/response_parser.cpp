#include "response_parser.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace spectra::bench {
namespace {

constexpr std::size_t kMaxHeader = 64 * 1024;
constexpr std::size_t kMaxLine = 1024;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if (iequals(hay.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

void ResponseParser::reset() {
  state_ = State::kHeader;
  header_.clear();
  line_.clear();
  remaining_ = body_bytes_ = 0;
  status_ = 0;
  keep_alive_ = true;
  chunked_ = false;
  cache_.clear();
  error_.clear();
  tail_len_ = 0;
}

void ResponseParser::fail(std::string why) {
  state_ = State::kError;
  error_ = std::move(why);
}

void ResponseParser::body_data(const char* p, std::size_t n) {
  body_bytes_ += n;
  if (n >= kTail) {
    std::memcpy(tail_, p + n - kTail, kTail);
    tail_len_ = kTail;
    return;
  }
  std::size_t keep = std::min(tail_len_, kTail - n);
  std::memmove(tail_, tail_ + tail_len_ - keep, keep);
  std::memcpy(tail_ + keep, p, n);
  tail_len_ = keep + n;
}

bool ResponseParser::parse_header() {
  std::string_view h(header_);
  auto eol = h.find("\r\n");
  std::string_view status_line = h.substr(0, eol);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") {
    fail("bad status line");
    return false;
  }
  if (status_line.substr(0, 8) == "HTTP/1.0") keep_alive_ = false;
  unsigned code = 0;
  for (char c : status_line.substr(9, 3)) {
    if (c < '0' || c > '9') {
      fail("bad status code");
      return false;
    }
    code = code * 10 + static_cast<unsigned>(c - '0');
  }
  status_ = code;
  bool have_length = false;
  std::uint64_t length = 0;
  for (std::size_t pos = eol + 2; pos < h.size();) {
    auto end = h.find("\r\n", pos);
    if (end == std::string_view::npos) end = h.size();
    std::string_view line = h.substr(pos, end - pos);
    pos = end + 2;
    if (line.empty()) break;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
    if (iequals(name, "content-length")) {
      length = 0;
      for (char c : value) {
        if (c < '0' || c > '9') {
          fail("bad content-length");
          return false;
        }
        length = length * 10 + static_cast<std::uint64_t>(c - '0');
      }
      have_length = true;
    } else if (iequals(name, "transfer-encoding")) {
      chunked_ = icontains(value, "chunked");
    } else if (iequals(name, "connection")) {
      if (icontains(value, "close")) keep_alive_ = false;
      if (icontains(value, "keep-alive")) keep_alive_ = true;
    } else if (iequals(name, "x-spectra-cache")) {
      cache_ = std::string(value);
    }
  }
  if (chunked_) {
    state_ = State::kChunkSize;
  } else if (have_length) {
    remaining_ = length;
    state_ = length == 0 ? State::kDone : State::kBody;
  } else if (status_ == 204 || status_ == 304) {
    state_ = State::kDone;
  } else {
    fail("response without length (read-until-close is not supported)");
    return false;
  }
  return true;
}

std::size_t ResponseParser::feed(const char* p, std::size_t n) {
  std::size_t used = 0;
  while (used < n && state_ != State::kDone && state_ != State::kError) {
    const char* q = p + used;
    std::size_t left = n - used;
    switch (state_) {
      case State::kHeader: {
        // Look for the blank line, allowing it to straddle two reads.
        std::size_t before = header_.size();
        header_.append(q, left);
        std::size_t from = before >= 3 ? before - 3 : 0;
        auto end = header_.find("\r\n\r\n", from);
        if (end == std::string::npos) {
          if (header_.size() > kMaxHeader) fail("header too large");
          used = n;
          break;
        }
        std::size_t header_len = end + 4;
        used += header_len - before;
        header_.resize(header_len);
        if (!parse_header()) return used;
        break;
      }
      case State::kBody: {
        std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, left));
        body_data(q, take);
        remaining_ -= take;
        used += take;
        if (remaining_ == 0) state_ = State::kDone;
        break;
      }
      case State::kChunkSize:
      case State::kTrailer: {
        const void* nl = std::memchr(q, '\n', left);
        std::size_t take =
            nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - q) + 1 : left;
        line_.append(q, take);
        used += take;
        if (line_.size() > kMaxLine) {
          fail("chunk line too long");
          break;
        }
        if (!nl) break;
        std::string_view line = trim(std::string_view(line_).substr(0, line_.size() - 1));
        if (state_ == State::kTrailer) {
          if (line.empty()) state_ = State::kDone;
          line_.clear();
          break;
        }
        std::uint64_t size = 0;
        std::size_t digits = 0;
        for (char c : line) {
          int v = (c >= '0' && c <= '9')   ? c - '0'
                  : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                  : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                           : -1;
          if (v < 0) break;  // chunk extensions follow ';'
          size = size * 16 + static_cast<std::uint64_t>(v);
          ++digits;
        }
        line_.clear();
        if (digits == 0) {
          fail("bad chunk size");
          break;
        }
        remaining_ = size;
        state_ = size == 0 ? State::kTrailer : State::kChunkData;
        break;
      }
      case State::kChunkData: {
        std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, left));
        body_data(q, take);
        remaining_ -= take;
        used += take;
        if (remaining_ == 0) {
          state_ = State::kChunkDataEnd;
          remaining_ = 2;  // CRLF after the data
        }
        break;
      }
      case State::kChunkDataEnd: {
        char c = *q;
        if ((remaining_ == 2 && c != '\r') || (remaining_ == 1 && c != '\n')) {
          fail("chunk data not followed by CRLF");
          break;
        }
        ++used;
        if (--remaining_ == 0) state_ = State::kChunkSize;
        break;
      }
      case State::kDone:
      case State::kError:
        break;
    }
  }
  return used;
}

}  // namespace spectra::bench
