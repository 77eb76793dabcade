// ConverseStream (application/vnd.amazon.eventstream) -> OpenAI chunks.
//
// Event sequence on the wire (one event-stream message each, JSON payload):
//   messageStart {role}
//   [contentBlockStart {contentBlockIndex, start:{toolUse:{toolUseId,name}}}]  tool blocks only
//   contentBlockDelta {contentBlockIndex, delta:{text} | {toolUse:{input}} | ...}*
//   contentBlockStop {contentBlockIndex}
//   ... more blocks ...
//   messageStop {stopReason}
//   metadata {usage:{inputTokens,outputTokens,totalTokens,...}, metrics}
// or, at any point, an exception message (:message-type exception) that ends
// the stream. Payloads carry a random-length "p" padding field, ignored here.
#include <map>

#include "ai/bedrock_adapter.h"
#include "ai/bedrock_internal.h"
#include "common/json_util.h"
#include "wire/eventstream.h"

namespace spectra::ai {
namespace {

namespace es = wire::eventstream;
using namespace bedrock::detail;

class BedrockStreamTranslator final : public StreamTranslator {
 public:
  BedrockStreamTranslator(std::string model, std::string request_id, std::int64_t created)
      : model_(std::move(model)), id_(std::move(request_id)), created_(created) {}

  Status feed(std::string_view bytes, std::vector<bj::object>* chunks,
              UpstreamError* error) override {
    if (!failed_.ok()) return replay_failure(error);
    std::vector<es::Message> messages;
    const Status decoded = decoder_.feed(bytes, &messages);
    // Messages completed before a framing error in the same chunk still count.
    for (const es::Message& m : messages) {
      if (Status s = handle(m, chunks); !s.ok()) return replay_failure(error);
    }
    if (!decoded.ok()) {
      (void)fail(Status(Code::kIo, "bedrock stream: " + decoded.message()),
                 malformed_error("event stream: " + decoded.message()));
      return replay_failure(error);
    }
    return {};
  }

  Status finish(std::vector<bj::object>* /*chunks*/, UpstreamError* error) override {
    if (!failed_.ok()) return replay_failure(error);
    if (Status s = decoder_.finish(); !s.ok()) {
      truncated("the stream ended in the middle of an event");
    } else if (!stopped_) {
      truncated("the stream ended before messageStop");
    }
    if (!failed_.ok()) return replay_failure(error);
    return {};
  }

  bool done() const override { return done_; }
  const Usage& usage() const override { return usage_; }

 private:
  Status handle(const es::Message& m, std::vector<bj::object>* chunks) {
    if (done_) return {};  // nothing follows metadata; ignore stragglers
    auto type = m.string_header(":message-type");
    if (!type) return malformed("message without :message-type");
    if (*type == "exception") {
      auto name = m.string_header(":exception-type");
      return upstream_failure(name ? *name : std::string_view("unknownException"), m.payload);
    }
    if (*type == "error") {
      auto code = m.string_header(":error-code");
      auto msg = m.string_header(":error-message");
      UpstreamError e = exception_error(code ? *code : std::string_view("unknownError"),
                                        msg ? *msg : std::string_view("stream error"));
      return fail(Status(e.retryable ? Code::kUnavailable : Code::kInvalidArgument, e.message), e);
    }
    if (*type != "event") return malformed("unknown :message-type '" + std::string(*type) + "'");
    auto event = m.string_header(":event-type");
    if (!event) return malformed("event without :event-type");
    auto parsed = json::parse(m.payload, {kMaxResponseBytes, kMaxJsonDepth});
    if (!parsed.ok() || !parsed->is_object()) {
      return malformed(std::string(*event) + " payload is not a JSON object");
    }
    const bj::object& p = parsed->get_object();
    if (*event == "messageStart") return message_start(chunks);
    if (*event == "contentBlockStart") return block_start(p, chunks);
    if (*event == "contentBlockDelta") return block_delta(p, chunks);
    if (*event == "contentBlockStop") return block_stop(p, chunks);
    if (*event == "messageStop") return message_stop(p, chunks);
    if (*event == "metadata") return metadata(p, chunks);
    return {};  // event types newer than this code
  }

  Status message_start(std::vector<bj::object>* chunks) {
    if (!role_sent_) {
      role_sent_ = true;
      chunks->push_back(chunk(bj::object{{"role", "assistant"}, {"content", ""}}));
    }
    return {};
  }

  Status block_start(const bj::object& p, std::vector<bj::object>* chunks) {
    const bj::object* start = object_at(p, "start");
    const bj::object* use = start ? object_at(*start, "toolUse") : nullptr;
    if (!use) return {};  // only tool blocks need a start in OpenAI's shape
    auto block = int_at(p, "contentBlockIndex");
    const bj::string* id = string_at(*use, "toolUseId");
    const bj::string* name = string_at(*use, "name");
    if (!block || !id || !name) return malformed("contentBlockStart toolUse is incomplete");
    if (!tools_.emplace(*block, next_tool_).second) return malformed("block started twice");
    Status s = message_start(chunks);
    chunks->push_back(chunk(bj::object{
        {"tool_calls",
         bj::array{bj::object{{"index", next_tool_},
                              {"id", *id},
                              {"type", "function"},
                              {"function", bj::object{{"name", *name}, {"arguments", ""}}}}}}}));
    ++next_tool_;
    return s;
  }

  Status block_delta(const bj::object& p, std::vector<bj::object>* chunks) {
    const bj::object* delta = object_at(p, "delta");
    if (!delta) return malformed("contentBlockDelta without delta");
    if (const bj::string* text = string_at(*delta, "text")) {
      if (text->empty()) return {};
      (void)message_start(chunks);
      chunks->push_back(chunk(bj::object{{"content", *text}}));
      return {};
    }
    if (const bj::object* use = object_at(*delta, "toolUse")) {
      auto block = int_at(p, "contentBlockIndex");
      auto it = block ? tools_.find(*block) : tools_.end();
      if (it == tools_.end()) return malformed("toolUse delta for a block that is not a tool");
      const bj::string* input = string_at(*use, "input");
      if (!input) return malformed("toolUse delta without input");
      if (input->empty()) return {};
      chunks->push_back(chunk(bj::object{
          {"tool_calls", bj::array{bj::object{{"index", it->second},
                                              {"function", bj::object{{"arguments", *input}}}}}}}));
      return {};
    }
    if (const bj::object* rc = object_at(*delta, "reasoningContent")) {
      // Thinking: its text out as it comes; its signature (or redacted
      // data) kept for the whole block, sent at contentBlockStop.
      auto block = int_at(p, "contentBlockIndex");
      if (!block || tools_.count(*block)) return malformed("reasoningContent delta for a block that is not reasoning");
      Reasoning& r = reasoning_[*block];
      if (const bj::string* text = string_at(*rc, "text")) {
        r.text.append(text->data(), text->size());
        if (!text->empty()) {
          (void)message_start(chunks);
          chunks->push_back(chunk(bj::object{{"reasoning_content", *text}}));
        }
      } else if (const bj::string* sig = string_at(*rc, "signature")) {
        r.signature.append(sig->data(), sig->size());
      } else if (const bj::string* data = string_at(*rc, "redactedContent")) {
        r.redacted.append(data->data(), data->size());
      }
      return {};
    }
    return {};  // citations and newer delta kinds have no chunk field
  }

  Status block_stop(const bj::object& p, std::vector<bj::object>* chunks) {
    auto block = int_at(p, "contentBlockIndex");
    auto it = block ? reasoning_.find(*block) : reasoning_.end();
    if (it == reasoning_.end()) return {};
    Reasoning r = std::move(it->second);
    reasoning_.erase(it);
    (void)message_start(chunks);
    bj::object b = r.redacted.empty() && !r.text.empty()
                       ? bj::object{{"type", "thinking"}, {"thinking", r.text}, {"signature", r.signature}}
                       : bj::object{{"type", "redacted_thinking"}, {"data", r.redacted}};
    chunks->push_back(chunk(bj::object{{"thinking_blocks", bj::array{std::move(b)}}}));
    return {};
  }

  Status message_stop(const bj::object& p, std::vector<bj::object>* chunks) {
    if (stopped_) return {};
    stopped_ = true;
    (void)message_start(chunks);
    const bj::string* reason = string_at(p, "stopReason");
    chunks->push_back(
        chunk(bj::object{}, bedrock::finish_reason(reason ? std::string_view(*reason) : "")));
    return {};
  }

  Status metadata(const bj::object& p, std::vector<bj::object>* chunks) {
    done_ = true;
    const bj::object* u = object_at(p, "usage");
    if (!u) return {};
    usage_ = parse_usage(*u);
    read_guardrail_trace(p, &usage_);
    bj::object c = base();
    c["choices"] = bj::array{};
    c["usage"] = chat_usage_json(usage_);
    chunks->push_back(std::move(c));
    return {};
  }

  bj::object base() const {
    return bj::object{
        {"id", id_}, {"object", "chat.completion.chunk"}, {"created", created_}, {"model", model_}};
  }

  bj::object chunk(bj::object delta, std::string_view finish = {}) const {
    bj::object choice{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}};
    if (finish.empty())
      choice["finish_reason"] = nullptr;
    else
      choice["finish_reason"] = finish;
    bj::object c = base();
    c["choices"] = bj::array{std::move(choice)};
    return c;
  }

  Status upstream_failure(std::string_view exception_type, std::string_view payload) {
    std::string message = "(no message)";
    auto parsed = json::parse(payload, {1u << 20, 32});
    if (parsed.ok() && parsed->is_object()) {
      for (std::string_view key : {"message", "Message"}) {
        if (const bj::string* m = string_at(parsed->get_object(), key)) {
          message = std::string(*m);
          break;
        }
      }
    }
    UpstreamError e = exception_error(exception_type, message);
    return fail(Status(e.retryable ? Code::kUnavailable : Code::kInvalidArgument, e.message), e);
  }

  Status malformed(std::string what) {
    return fail(Status(Code::kIo, "bedrock stream: " + what), malformed_error(what));
  }

  // The connection ended early: worth retrying elsewhere if nothing reached
  // the client yet (the core decides).
  void truncated(std::string what) {
    UpstreamError e = malformed_error(what);
    e.retryable = true;
    (void)fail(Status(Code::kUnavailable, "bedrock stream: " + what), std::move(e));
  }

  Status fail(Status s, UpstreamError e) {
    failed_ = std::move(s);
    failed_error_ = std::move(e);
    return failed_;
  }

  Status replay_failure(UpstreamError* error) const {
    if (error) *error = failed_error_;
    return failed_;
  }

  std::string model_;
  std::string id_;
  std::int64_t created_;
  es::Decoder decoder_;
  bool role_sent_ = false;
  bool stopped_ = false;
  bool done_ = false;
  std::map<std::int64_t, int> tools_;  // contentBlockIndex -> OpenAI tool_calls index
  struct Reasoning {
    std::string text, signature, redacted;
  };
  std::map<std::int64_t, Reasoning> reasoning_;  // contentBlockIndex -> the thinking block under way
  int next_tool_ = 0;
  Usage usage_;
  Status failed_;  // errors are final, like the decoder's
  UpstreamError failed_error_;
};

}  // namespace

std::unique_ptr<StreamTranslator> BedrockAdapter::stream_translator(const ModelTarget& target,
                                                                    std::string request_id,
                                                                    std::int64_t created) const {
  return std::make_unique<BedrockStreamTranslator>(target.model, std::move(request_id), created);
}

}  // namespace spectra::ai
