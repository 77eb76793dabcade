#pragma once
// The per-request state of the AI gateway pipeline (internal).
#include <boost/json/object.hpp>

#include <chrono>
#include <optional>
#include <string>

#include "ai/anthropic_response.h"
#include "ai/dialect.h"
#include "ai/gateway.h"
#include "ai/stream_codec.h"

namespace spectra::ai {

// The key from "Authorization: Bearer <key>", or empty.
inline std::string bearer_token(std::string_view header) {
  if (header.size() > 7 && (header.substr(0, 7) == "Bearer " || header.substr(0, 7) == "bearer ")) {
    return std::string(header.substr(7));
  }
  return {};
}

struct Gateway::Call {
  http::Exchange* ex = nullptr;
  std::shared_ptr<const GatewayConfig> cfg;
  std::shared_ptr<AuditLog> audit;  // null: audit off
  std::shared_ptr<CacheStorage> cache;
  std::shared_ptr<FleetLimits> fleet;  // null: limits per instance only
  std::shared_ptr<SemanticShare> share;  // null: semantic entries stay in this instance
  const VirtualKey* key = nullptr;
  bj::object body;
  std::string requested_model;
  bool stream = false;
  bool include_usage = false;
  std::vector<std::string> targets;  // provider/model, first is primary
  std::string route;                 // alias used, or "direct"
  // cache
  bool cache_read = false, cache_write = false;
  std::string cache_key;
  std::string cache_result = "bypass";  // hit | semantic-hit | miss | bypass
  // A pass-through call the exact cache serves (the Responses API,
  // Messages, embeddings): its answer says x-spectra-cache, bypass included.
  bool cache_route = false;
  // outcome
  std::string provider, model;  // the one that answered
  std::string fallback;         // provider/model taken after the primary failed
  std::string egress = "none";  // host of the remote upstream, or none
  Usage usage;
  unsigned status = 0;
  bool started_stream = false;
  bool finished = false;  // audited once
  std::string error;
  std::string error_param;  // the request field an error names (OpenAI's `param`), if any
  // The upstream answer's finish_reason in chat's words (stop, length,
  // tool_calls, content_filter; relayed answers' stop reasons mapped to
  // them), for the audit record; empty when it has none (embeddings, an
  // error). A cache hit's is the one its answer was given with.
  std::string finish_reason;
  // What the call cost at the price table's prices (upstream usage), and
  // what a cache hit saved; none when its model has no price.
  std::optional<double> cost_usd, saved_usd;
  // The provider whose capacity slot (max_concurrency) the call holds.
  std::string slot;
  // The client's labels of the call (ai/call_labels.h): the end user its
  // body names, and its x-spectra-metadata as compact JSON.
  std::string end_user, metadata;
  std::string stored;  // completion JSON to cache
  std::string cached;  // `stored` encoded for the caches (encode_cached_answer)
  // semantic cache
  std::string partition;
  std::vector<float> embedding;
  std::chrono::steady_clock::time_point t0;
  // A streamed answer's first token (content, thinking or a tool call) on
  // its way to the client; unset until then.
  std::optional<std::chrono::steady_clock::time_point> first_token_at;
  // Responses API pass-through: the endpoint that answered, and whether the
  // answer's id is recorded (see ResponseOwners).
  bool responses_api = false, response_noted = false;
  std::string endpoint;
  // Anthropic's Messages API (/v1/messages): errors in its shape, and its
  // usage gathered from message_start and message_delta.
  bool anthropic_api = false;
  anthropic::RawUsage anthropic_usage;
  // The API of a client of the chat pipeline: a Messages or Responses
  // request is translated, and its answers written back in its API
  // (Gateway::dialect_answer, dialect_stream). `echo`: the settings a
  // Responses answer repeats.
  Dialect dialect = Dialect::chat;
  bj::object echo;
  // A translated Responses call whose answer the gateway keeps (store):
  // its time, the conversation so far as chat messages, and its input as
  // input_items lists it (Gateway::keep_response).
  bool keep_response = false;
  std::int64_t created_at = 0;
  bj::array conversation, input_items;
  // The Messages API's native call to the route's target failed before
  // any byte went out: `targets` holds the route's fallbacks, the request
  // is admitted already, and whichever answers is a fallback.
  bool primary_failed = false;
  // Bytes of the upstream's stream already read (a peek at its first
  // event), relayed before anything read after them; done: that was all.
  std::string read_ahead;
  bool read_ahead_done = false;
  // A pass-through call (Messages, Responses) leading identical concurrent
  // misses: its cached answer is their answer (set where it is cached).
  Coalescer::Lead lead;
  bool meter_usage = true;  // false where an answer repeats usage already metered (a stored response read again)
  // The id of the message a Messages client of the chat pipeline gets.
  std::string message_id() const { return "msg_" + ex->info().request_id; }
};

}  // namespace spectra::ai
