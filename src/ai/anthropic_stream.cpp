#include "ai/anthropic_stream.h"

#include <boost/json/serialize.hpp>
#include <map>

#include "ai/anthropic_response.h"
#include "wire/sse.h"

namespace spectra::ai::anthropic {

namespace {

namespace sse = spectra::wire::sse;

constexpr std::size_t kMaxEventBytes = 4u << 20;

Status status_of(const UpstreamError& e) {
  return Status(e.retryable ? Code::kUnavailable : Code::kInvalidArgument, e.message);
}

class Translator final : public StreamTranslator {
 public:
  Translator(std::string model, std::string request_id, std::int64_t created)
      : parser_(sse::ParserLimits{kMaxEventBytes}),
        model_(std::move(model)),
        request_id_(std::move(request_id)),
        created_(created) {}

  Status feed(std::string_view bytes, std::vector<bj::object>* chunks,
              UpstreamError* error) override {
    if (!status_.ok()) return fail_again(error);
    if (done_) return {};
    events_.clear();
    Status parsed = parser_.feed(bytes, &events_);
    // Events completed before a framing error still count.
    for (const sse::Event& ev : events_) {
      if (done_) break;
      if (!on_event(ev, chunks)) return fail_again(error);
    }
    if (!parsed.ok() && !done_) {
      return fail(protocol_error("malformed Anthropic event stream: " + parsed.message()), error);
    }
    return {};
  }

  Status finish(std::vector<bj::object>* /*chunks*/, UpstreamError* error) override {
    if (!status_.ok()) return fail_again(error);
    if (done_) return {};
    return fail(protocol_error(started_ ? "Anthropic stream ended before message_stop"
                                        : "Anthropic stream ended before message_start"),
                error);
  }

  bool done() const override { return done_; }
  const Usage& usage() const override { return usage_; }

 private:
  enum class Kind { kText, kToolUse, kThinking, kRedactedThinking, kOther };
  struct Block {
    Kind kind = Kind::kOther;
    std::int64_t tool_index = 0;
    bool got_delta = false;
    bool stopped = false;
    std::string initial_input;  // tool_use input given whole at block start, if not {}
    // thinking: its text and signature so far; redacted_thinking: its data.
    std::string thinking, signature;
  };

  Status fail(UpstreamError e, UpstreamError* error) {
    error_ = std::move(e);
    status_ = status_of(error_);
    return fail_again(error);
  }
  Status fail_again(UpstreamError* error) const {
    if (error) *error = error_;
    return status_;
  }
  // Records a failure and returns false, for on_event's callers.
  bool violation(std::string message) {
    error_ = protocol_error("Anthropic stream protocol error: " + std::move(message));
    status_ = status_of(error_);
    return false;
  }

  bj::object chunk(bj::object delta, bj::value finish = nullptr) const {
    bj::object choice{{"index", 0},
                      {"delta", std::move(delta)},
                      {"logprobs", nullptr},
                      {"finish_reason", std::move(finish)}};
    return bj::object{{"id", request_id_},
                      {"object", "chat.completion.chunk"},
                      {"created", created_},
                      {"model", model_},
                      {"choices", bj::array{std::move(choice)}}};
  }

  void emit_text(std::string_view text, std::vector<bj::object>* chunks) const {
    if (!text.empty()) chunks->push_back(chunk(bj::object{{"content", text}}));
  }
  void emit_arguments(std::int64_t tool_index, std::string_view fragment,
                      std::vector<bj::object>* chunks) const {
    if (fragment.empty()) return;
    bj::object call{{"index", tool_index}, {"function", bj::object{{"arguments", fragment}}}};
    chunks->push_back(chunk(bj::object{{"tool_calls", bj::array{std::move(call)}}}));
  }
  void emit_finish(std::vector<bj::object>* chunks) {
    if (finish_emitted_) return;
    finish_emitted_ = true;
    chunks->push_back(
        chunk(bj::object{}, bj::value(finish_reason_.empty() ? "stop" : finish_reason_)));
  }

  // Returns false (and records why) if the stream cannot continue.
  bool on_event(const sse::Event& ev, std::vector<bj::object>* chunks) {
    if (ev.type == "ping") return true;  // keep-alive; its data does not matter
    auto parsed = parse_object(ev.data, kMaxEventBytes);
    if (!parsed.ok())
      return violation("event '" + ev.type + "' data: " + parsed.status().message());
    const bj::object& data = *parsed;
    std::string type = ev.type;
    if (const bj::value* t = data.if_contains("type"); t && t->is_string()) type = t->get_string();

    if (type == "ping") return true;
    if (type == "error") {
      const bj::value* err = data.if_contains("error");
      error_ =
          translate_error_object(200, err && err->is_object() ? err->get_object() : bj::object{});
      status_ = status_of(error_);
      return false;
    }
    if (type == "message_start") return on_message_start(data, chunks);
    if (!started_) {
      // Anything but ping/error before message_start breaks the protocol;
      // even unknown types, since nothing may precede message_start.
      return violation("'" + type + "' before message_start");
    }
    if (type == "content_block_start") return on_block_start(data, chunks);
    if (type == "content_block_delta") return on_block_delta(data, chunks);
    if (type == "content_block_stop") return on_block_stop(data, chunks);
    if (type == "message_delta") return on_message_delta(data, chunks);
    if (type == "message_stop") {
      emit_finish(chunks);
      done_ = true;
      return true;
    }
    return true;  // a newer event type: skip it, as Anthropic's versioning policy asks
  }

  bool on_message_start(const bj::object& data, std::vector<bj::object>* chunks) {
    if (started_) return violation("a second message_start");
    const bj::value* m = data.if_contains("message");
    if (!m || !m->is_object()) return violation("message_start without a message");
    const bj::object& msg = m->get_object();
    if (const bj::value* u = msg.if_contains("usage"); u && u->is_object()) {
      raw_.merge(u->get_object());
      usage_ = raw_.to_usage();
    }
    if (const bj::value* model = msg.if_contains("model");
        model && model->is_string() && !model->get_string().empty()) {
      model_ = model->get_string();
    }
    started_ = true;
    chunks->push_back(chunk(bj::object{{"role", "assistant"}, {"content", ""}}));
    return true;
  }

  // The block named by data.index, or null after recording a violation.
  Block* block_of(const bj::object& data, std::string_view event) {
    const bj::value* idx = data.if_contains("index");
    if (!idx || !(idx->is_int64() || idx->is_uint64())) {
      violation(std::string(event) + " without an integer index");
      return nullptr;
    }
    auto it = blocks_.find(idx->is_int64() ? idx->get_int64() : -1);
    if (it == blocks_.end() || it->second.stopped) {
      violation(std::string(event) + " for a content block that is not open");
      return nullptr;
    }
    return &it->second;
  }

  bool on_block_start(const bj::object& data, std::vector<bj::object>* chunks) {
    if (finish_emitted_) return violation("content_block_start after the stop reason");
    const bj::value* idx = data.if_contains("index");
    const bj::value* cb = data.if_contains("content_block");
    if (!idx || !idx->is_int64() || idx->get_int64() < 0) {
      return violation("content_block_start without a non-negative index");
    }
    if (!cb || !cb->is_object()) return violation("content_block_start without a content_block");
    if (blocks_.count(idx->get_int64())) return violation("content block index reused");
    const bj::object& block = cb->get_object();
    Block b;
    const bj::value* type = block.if_contains("type");
    if (type && *type == "text") {
      b.kind = Kind::kText;
      const bj::value* text = block.if_contains("text");
      if (text && text->is_string()) emit_text(text->get_string(), chunks);
    } else if (type && *type == "thinking") {
      b.kind = Kind::kThinking;
      if (const bj::value* t = block.if_contains("thinking"); t && t->is_string()) {
        b.thinking = t->get_string();
        if (!b.thinking.empty()) chunks->push_back(chunk(bj::object{{"reasoning_content", b.thinking}}));
      }
      if (const bj::value* sig = block.if_contains("signature"); sig && sig->is_string()) b.signature = sig->get_string();
    } else if (type && *type == "redacted_thinking") {
      const bj::value* data = block.if_contains("data");
      if (!data || !data->is_string()) return violation("redacted_thinking block without data");
      b.kind = Kind::kRedactedThinking;
      b.thinking = data->get_string();
    } else if (type && *type == "tool_use") {
      const bj::value* id = block.if_contains("id");
      const bj::value* name = block.if_contains("name");
      if (!id || !id->is_string() || !name || !name->is_string()) {
        return violation("tool_use block without id or name");
      }
      b.kind = Kind::kToolUse;
      b.tool_index = next_tool_index_++;
      if (const bj::value* input = block.if_contains("input");
          input && input->is_object() && !input->get_object().empty()) {
        b.initial_input = bj::serialize(*input);
      }
      bj::object call{{"index", b.tool_index},
                      {"id", *id},
                      {"type", "function"},
                      {"function", bj::object{{"name", *name}, {"arguments", ""}}}};
      chunks->push_back(chunk(bj::object{{"tool_calls", bj::array{std::move(call)}}}));
    }
    blocks_.emplace(idx->get_int64(), std::move(b));
    return true;
  }

  bool on_block_delta(const bj::object& data, std::vector<bj::object>* chunks) {
    Block* b = block_of(data, "content_block_delta");
    if (!b) return false;
    if (finish_emitted_) return violation("content_block_delta after the stop reason");
    const bj::value* d = data.if_contains("delta");
    if (!d || !d->is_object()) return violation("content_block_delta without a delta");
    const bj::object& delta = d->get_object();
    const bj::value* type = delta.if_contains("type");
    if (b->kind == Kind::kOther || !type) return true;  // newer kinds
    if (*type == "thinking_delta" || *type == "signature_delta") {
      const bool text = *type == "thinking_delta";
      const bj::value* part = delta.if_contains(text ? "thinking" : "signature");
      if (b->kind != Kind::kThinking || !part || !part->is_string()) {
        return violation(std::string(type->get_string()) + " that does not fit its block");
      }
      if (!text) {
        b->signature += part->get_string();
      } else if (!part->get_string().empty()) {
        b->thinking += part->get_string();
        chunks->push_back(chunk(bj::object{{"reasoning_content", *part}}));
      }
    } else if (*type == "text_delta") {
      const bj::value* text = delta.if_contains("text");
      if (b->kind != Kind::kText || !text || !text->is_string()) {
        return violation("text_delta that does not fit its block");
      }
      emit_text(text->get_string(), chunks);
    } else if (*type == "input_json_delta") {
      const bj::value* part = delta.if_contains("partial_json");
      if (b->kind != Kind::kToolUse || !part || !part->is_string()) {
        return violation("input_json_delta that does not fit its block");
      }
      b->got_delta = true;
      emit_arguments(b->tool_index, part->get_string(), chunks);
    }
    return true;  // citations_delta and newer delta types carry nothing for OpenAI
  }

  bool on_block_stop(const bj::object& data, std::vector<bj::object>* chunks) {
    Block* b = block_of(data, "content_block_stop");
    if (!b) return false;
    if (b->kind == Kind::kToolUse && !b->got_delta)
      emit_arguments(b->tool_index, b->initial_input, chunks);
    // A finished thinking block goes out whole and signed, as the client
    // must send it back (its text went out as reasoning_content deltas).
    if (b->kind == Kind::kThinking) {
      chunks->push_back(chunk(bj::object{{"thinking_blocks", bj::array{bj::object{
          {"type", "thinking"}, {"thinking", std::move(b->thinking)}, {"signature", std::move(b->signature)}}}}}));
    } else if (b->kind == Kind::kRedactedThinking) {
      chunks->push_back(chunk(bj::object{{"thinking_blocks", bj::array{bj::object{
          {"type", "redacted_thinking"}, {"data", std::move(b->thinking)}}}}}));
    }
    b->stopped = true;
    return true;
  }

  bool on_message_delta(const bj::object& data, std::vector<bj::object>* chunks) {
    if (const bj::value* u = data.if_contains("usage"); u && u->is_object()) {
      raw_.merge(u->get_object());
      usage_ = raw_.to_usage();
    }
    const bj::value* d = data.if_contains("delta");
    const bj::value* sr =
        d && d->is_object() ? d->get_object().if_contains("stop_reason") : nullptr;
    if (sr && sr->is_string()) {
      finish_reason_ = finish_reason(sr->get_string());
      emit_finish(chunks);
    }
    return true;
  }

  sse::Parser parser_;
  std::vector<sse::Event> events_;
  std::string model_;
  std::string request_id_;
  std::int64_t created_;
  std::map<std::int64_t, Block> blocks_;
  std::int64_t next_tool_index_ = 0;
  RawUsage raw_;
  Usage usage_;
  std::string finish_reason_;
  bool started_ = false;
  bool finish_emitted_ = false;
  bool done_ = false;
  Status status_;
  UpstreamError error_;
};

}  // namespace

std::unique_ptr<StreamTranslator> make_stream_translator(std::string model, std::string request_id,
                                                         std::int64_t created) {
  return std::make_unique<Translator>(std::move(model), std::move(request_id), created);
}

}  // namespace spectra::ai::anthropic
