// Untrusted bytes into the AI gateway's request path before any upstream is
// involved. Invariants: no crash; an accepted request has a model and
// messages; cache keys are stable (same input, same key) and 64 hex chars;
// and a completion converted to chunks and assembled back keeps its text.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ai/chat_request.h"
#include "ai/stream_codec.h"

using namespace spectra::ai;
namespace bj = boost::json;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  RequestError err;
  auto req = parse_chat_request(input, &err);
  if (req.ok()) {
    if (req->model.empty() || !req->body.contains("messages")) std::abort();
    std::string k1 = exact_cache_key("ns", "p", req->model, req->body);
    std::string k2 = exact_cache_key("ns", "p", req->model, req->body);
    std::string p1 = semantic_partition_key("ns", "p", req->model, req->body);
    if (k1 != k2 || k1.size() != 64 || p1.size() != 64) std::abort();
    (void)last_user_text(req->body);
  } else if (err.message.empty()) {
    std::abort();  // every refusal says why
  }
  // The same bytes as a completion: chunks and back.
  boost::system::error_code ec;
  bj::value v = bj::parse(input, ec);
  if (!ec && v.is_object() && v.as_object().contains("choices")) {
    ChunkAssembler a;
    for (const auto& chunk : completion_to_chunks(v.as_object(), true)) a.add(chunk);
    bj::object back = a.completion();
    const auto* choices = v.as_object().if_contains("choices");
    if (choices->is_array() && !choices->as_array().empty()) {
      const auto& c0 = choices->as_array()[0];
      const auto* msg = c0.is_object() ? c0.as_object().if_contains("message") : nullptr;
      const auto* content = msg && msg->is_object() ? msg->as_object().if_contains("content") : nullptr;
      const auto* idx = c0.is_object() ? c0.as_object().if_contains("index") : nullptr;
      bool plain_index = !idx || (idx->is_int64() && idx->as_int64() == 0);
      if (content && content->is_string() && !content->as_string().empty() && plain_index &&
          choices->as_array().size() == 1) {
        const auto& out = back.at("choices").as_array();
        if (out.empty() || out[0].at("message").at("content") != *content) std::abort();
      }
    }
  }
  return 0;
}
