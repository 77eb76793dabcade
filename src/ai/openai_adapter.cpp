#include "ai/openai_adapter.h"

#include <boost/json/serialize.hpp>

#include "common/json_util.h"
#include "wire/sse.h"

namespace spectra::ai {
namespace {

std::int64_t int_field(const bj::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  return v && v->is_number() ? json::to_int(*v) : 0;
}

class OpenAiStream final : public StreamTranslator {
 public:
  Status feed(std::string_view bytes, std::vector<bj::object>* chunks, UpstreamError* error) override {
    std::vector<wire::sse::Event> events;
    if (Status s = parser_.feed(bytes, &events); !s.ok()) return s;
    for (const auto& e : events) {
      if (done_) break;
      if (e.data == "[DONE]") {
        done_ = true;
        break;
      }
      auto v = json::parse(e.data, {.max_bytes = 8 << 20, .max_depth = 64});
      if (!v.ok() || !v->is_object()) return invalid_argument("upstream sent a stream event that is not a JSON object");
      auto& o = v->get_object();
      if (const auto* err = o.if_contains("error"); err && err->is_object()) {
        *error = OpenAiAdapter().parse_error(502, bj::serialize(*v));
        error->retryable = true;
        return unavailable("upstream reported an error in the stream: " + error->message);
      }
      if (const auto* u = o.if_contains("usage"); u && u->is_object()) read_openai_usage(*u, &usage_);
      chunks->push_back(std::move(o));
    }
    return {};
  }
  Status finish(std::vector<bj::object>*, UpstreamError*) override {
    if (!done_) return unavailable("upstream stream ended before [DONE]");
    return {};
  }
  bool done() const override { return done_; }
  const Usage& usage() const override { return usage_; }

 private:
  wire::sse::Parser parser_;
  Usage usage_;
  bool done_ = false;
};

}  // namespace

void read_openai_usage(const bj::value& usage, Usage* u) {
  if (!usage.is_object()) return;
  const auto& o = usage.get_object();
  // Chat Completions names them prompt/completion, the Responses API
  // input/output.
  const bool responses = o.contains("input_tokens");
  u->prompt_tokens = int_field(o, responses ? "input_tokens" : "prompt_tokens");
  u->completion_tokens = int_field(o, responses ? "output_tokens" : "completion_tokens");
  if (const auto* d = o.if_contains(responses ? "input_tokens_details" : "prompt_tokens_details"); d && d->is_object()) {
    u->cached_prompt_tokens = int_field(d->get_object(), "cached_tokens");
    u->cache_write_tokens = int_field(d->get_object(), "cache_write_tokens");
  }
  u->reported = true;
}

// The client's request as it is, with the resolved model, the stream flag
// and (streaming) include_usage: written member by member, without copying
// the request's DOM first.
Result<UpstreamRequest> OpenAiAdapter::build_chat(const bj::object& request, const ModelTarget& target,
                                                  bool stream) const {
  std::string out;
  out.reserve(512);
  json::ObjectWriter w(out);
  bool model = false, flag = false, options = false;
  for (const auto& kv : request) {
    const std::string_view k = kv.key();
    if (k == "model") {
      w.str(k, target.model);
      model = true;
    } else if (k == "stream") {
      w.boolean(k, stream);
      flag = true;
    } else if (k == "stream_options") {
      if (!stream) continue;  // OpenAI refuses stream_options without stream
      std::string so;
      json::ObjectWriter sw(so);
      if (const auto* o = kv.value().if_object()) {
        for (const auto& m : *o) {
          if (m.key() != "include_usage") sw.raw(m.key(), bj::serialize(m.value()));
        }
      }
      sw.boolean("include_usage", true);
      sw.close();
      w.raw(k, so);
      options = true;
    } else {
      w.raw(k, bj::serialize(kv.value()));
    }
  }
  if (!model) w.str("model", target.model);
  if (!flag) w.boolean("stream", stream);
  if (stream && !options) w.raw("stream_options", R"({"include_usage":true})");
  w.close();
  UpstreamRequest r;
  std::string base = target.base_url.empty() ? "https://api.openai.com/v1" : target.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  r.url = base + "/chat/completions";
  r.headers = {{"content-type", "application/json"}, {"accept", stream ? "text/event-stream" : "application/json"}};
  r.body = std::move(out);
  return r;
}

Result<bj::object> OpenAiAdapter::parse_chat(unsigned http_status, std::string_view body, const ModelTarget&,
                                             Usage* usage, UpstreamError* error) const {
  if (http_status < 200 || http_status >= 300) {
    *error = parse_error(http_status, body);
    return unavailable(error->message);
  }
  auto v = json::parse(body, {.max_bytes = 64 << 20, .max_depth = 64});
  if (!v.ok() || !v->is_object() || !v->get_object().contains("choices")) {
    *error = {502, "api_error", "upstream returned a response that is not a chat completion", "", true};
    return unavailable(error->message);
  }
  if (const auto* u = v->get_object().if_contains("usage")) read_openai_usage(*u, usage);
  return std::move(v->get_object());
}

std::unique_ptr<StreamTranslator> OpenAiAdapter::stream_translator(const ModelTarget&, std::string,
                                                                   std::int64_t) const {
  return std::make_unique<OpenAiStream>();
}

UpstreamError OpenAiAdapter::parse_error(unsigned http_status, std::string_view body) const {
  UpstreamError e;
  e.http_status = http_status >= 400 && http_status < 600 ? http_status : 502;
  e.retryable = http_status == 429 || http_status >= 500;
  e.type = http_status == 429 ? "rate_limit_error" : http_status >= 500 ? "api_error" : "invalid_request_error";
  e.message = "upstream answered HTTP " + std::to_string(http_status);
  auto v = json::parse(body, {.max_bytes = 1 << 20, .max_depth = 32});
  if (v.ok() && v->is_object()) {
    if (const auto* err = v->get_object().if_contains("error"); err && err->is_object()) {
      const auto& o = err->get_object();
      if (const auto* m = o.if_contains("message"); m && m->is_string()) e.message = std::string(m->get_string());
      if (const auto* t = o.if_contains("type"); t && t->is_string()) e.type = std::string(t->get_string());
      if (const auto* c = o.if_contains("code"); c && c->is_string()) e.code = std::string(c->get_string());
    }
  }
  return e;
}

}  // namespace spectra::ai
