// Untrusted bytes into the AI gateway's request path before any upstream is
// involved. Invariants: no crash; an accepted request has a model and
// messages; cache keys are stable (same input, same key) and 64 hex chars;
// a completion converted to chunks and assembled back keeps its text; an
// Anthropic Messages request translated to chat serializes to a JSON object
// with messages, or is refused naming a field; a completion as an Anthropic
// message, and as its event stream, keeps its text; the same for a
// Responses request and answer, whose typed events add up to the same
// output as the whole response object; an anthropic-beta header's flags
// are plain tokens, once each; an x-spectra-metadata header and a body's
// end user reach the audit record as short, well-formed JSON.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ai/anthropic_beta.h"
#include "ai/call_labels.h"
#include "ai/chat_request.h"
#include "ai/messages_dialect.h"
#include "ai/responses_dialect.h"
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
  // The same bytes as an anthropic-beta header: the flags it gives are
  // plain tokens, once each, at most kMaxFlags, and pass the chat field's
  // own check (they travel in it).
  if (auto flags = anthropic_beta::from_header(input); flags.ok()) {
    if (flags->size() > anthropic_beta::kMaxFlags) std::abort();
    bj::object carried{{"anthropic_beta", *flags}};
    auto back = anthropic_beta::of(carried);
    if (!back.ok() || back->size() != flags->size()) std::abort();
    for (std::size_t i = 0; i < back->size(); ++i) {
      if ((*back)[i].empty() || (*back)[i].find_first_of(", \t\r\n") != std::string_view::npos) std::abort();
      for (std::size_t j = 0; j < i; ++j) {
        if ((*back)[i] == (*back)[j]) std::abort();
      }
    }
  } else if (flags.status().message().empty()) {
    std::abort();
  }
  // The same bytes as an x-spectra-metadata header: what the audit record
  // gets is a JSON object of at most 16 short strings.
  if (auto metadata = metadata_of_header(input); metadata.ok()) {
    if (!metadata->empty()) {
      const bj::value back = bj::parse(*metadata);
      if (!back.is_object() || back.get_object().size() > kMaxMetadataEntries) std::abort();
      for (const auto& [key, value] : back.get_object()) {
        if (key.empty() || !value.is_string() || value.get_string().size() > kMaxMetadataValueBytes) std::abort();
      }
    }
  } else if (metadata.status().message().empty()) {
    std::abort();
  }
  // The same bytes as an Anthropic Messages request, translated to chat.
  boost::system::error_code ec;
  bj::value v = bj::parse(input, ec);
  if (!ec && v.is_object()) {
    // Its end user, as the audit record takes it: short, and still UTF-8
    // (cut on a character boundary).
    const std::string user = end_user_of(v.as_object());
    if (user.size() > kMaxEndUserBytes) std::abort();
    boost::system::error_code uec;
    (void)bj::parse(bj::serialize(bj::value(user)), uec);
    if (uec) std::abort();
    std::string param;
    auto chat = messages::to_chat_request(v.as_object(), &param);
    if (chat.ok()) {
      if (!chat->contains("messages") || !bj::parse(bj::serialize(*chat)).is_object()) std::abort();
      // What an OpenAI-compatible upstream would get: none of Claude's fields.
      bj::object plain = *chat;
      if (without_claude_fields(*chat, &plain) == (plain == *chat)) std::abort();
      if (plain.contains("thinking") || plain.contains("output_config")) std::abort();
      auto marked = [](const bj::value* items) {
        if (!items || !items->is_array()) return false;
        for (const auto& i : items->get_array()) {
          if (i.is_object() && i.get_object().contains("cache_control")) return true;
        }
        return false;
      };
      if (marked(plain.if_contains("tools"))) std::abort();
      for (const auto& m : plain.at("messages").as_array()) {
        if (m.as_object().contains("thinking_blocks") || marked(m.as_object().if_contains("content"))) std::abort();
      }
      // OpenAI's own API also gets no top_k; vLLM keeps it.
      bj::object to_openai = *chat, to_vllm = *chat;
      (void)for_openai_api(*chat, "openai", &to_openai);
      (void)for_openai_api(*chat, "vllm", &to_vllm);
      if (to_openai.contains("top_k") || to_openai.contains("thinking")) std::abort();
      if (to_vllm.contains("top_k") != chat->contains("top_k")) std::abort();
    } else if (param.empty() || chat.status().message().empty()) {
      std::abort();  // every refusal names its field
    }
  }
  // The same bytes as a Responses API request, translated to chat.
  if (!ec && v.is_object()) {
    std::string param;
    const bj::array history{bj::object{{"role", "user"}, {"content", "earlier"}}};
    auto t = responses::to_chat_request(v.as_object(), v.as_object().contains("previous_response_id") ? &history : nullptr, &param);
    if (t.ok()) {
      if (!t->chat.contains("messages") || !bj::parse(bj::serialize(t->chat)).is_object()) std::abort();
    } else if (param.empty() || t.status().message().empty()) {
      std::abort();
    }
  }
  // The same bytes as a completion, as a response object and as its typed
  // events: the stream's last event carries the same output and status.
  if (!ec && v.is_object() && v.as_object().contains("choices")) {
    const responses::Identity id{"r", 1};
    const bj::object echo;
    bj::object whole = responses::to_response(v.as_object(), echo, id);
    responses::EventWriter w(echo, id);
    std::string events;
    const auto* choices = v.as_object().if_contains("choices");
    const bool one_choice = choices->is_array() && choices->as_array().size() == 1;
    for (const auto& chunk : completion_to_chunks(v.as_object(), false)) events += w.chunk(chunk);
    events += w.end(Usage{});
    const auto last = events.rfind("\ndata: ");
    bj::value done = bj::parse(std::string_view(events).substr(last + 7, events.find('\n', last + 1) - last - 7));
    if (one_choice && (done.at("response").at("output") != whole.at("output") ||
                       done.at("response").at("status") != whole.at("status"))) {
      std::abort();
    }
  }
  // The same bytes as a completion: chunks and back.
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
        // As an Anthropic message, and as its event stream: the same text
        // (in the text block: thinking may come first).
        bj::object m = messages::to_message(v.as_object(), "msg_1", "m");
        const bj::value* text_block = nullptr;
        for (const auto& b : m.at("content").as_array()) {
          if (const auto* type = b.as_object().if_contains("type"); type && *type == "text") {
            text_block = &b;
            break;
          }
        }
        if (!text_block || text_block->at("text") != *content) std::abort();
        messages::EventWriter w("msg_1", "m");
        std::string events;
        for (const auto& chunk : completion_to_chunks(v.as_object(), false)) events += w.chunk(chunk);
        events += w.end(Usage{});
        // Each event is "event: <type>\ndata: <json>\n\n" (JSON text holds no raw
        // newline, so a data line starts after one).
        std::string text;
        for (std::size_t at = 0; (at = events.find("\ndata: ", at)) != std::string::npos; at += 7) {
          bj::value e = bj::parse(std::string_view(events).substr(at + 7, events.find('\n', at + 1) - at - 7));
          if (e.at("type") == "content_block_delta" && e.at("delta").at("type") == "text_delta") {
            text += e.at("delta").at("text").as_string();
          }
        }
        if (text != content->as_string()) std::abort();
      }
    }
  }
  return 0;
}
