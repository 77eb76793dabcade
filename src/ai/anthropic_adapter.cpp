#include "ai/anthropic_adapter.h"

#include <boost/json/serialize.hpp>

#include "ai/anthropic_beta.h"
#include "ai/anthropic_request.h"
#include "ai/anthropic_response.h"
#include "ai/anthropic_stream.h"

namespace spectra::ai {

namespace {

// A whole answer may be large (long outputs, many tool calls); bound it anyway.
constexpr std::size_t kMaxResponseBytes = 64u << 20;

Status status_of(const UpstreamError& e) {
  return Status(e.retryable ? Code::kUnavailable : Code::kInvalidArgument, e.message);
}

}  // namespace

Result<bj::object> AnthropicAdapter::messages_body(const bj::object& request, const ModelTarget& target,
                                                   bool stream) const {
  anthropic::RequestOptions ro;
  ro.model = target.model;
  ro.base_model = target.base_model;
  ro.stream = stream;
  ro.default_max_tokens = options_.default_max_tokens;
  if (ro.model.empty()) return invalid_argument("model: no upstream model id configured");
  return anthropic::translate_request(request, ro);
}

Result<UpstreamRequest> AnthropicAdapter::build_chat(const bj::object& request,
                                                     const ModelTarget& target, bool stream) const {
  auto body = messages_body(request, target, stream);
  if (!body.ok()) return body.status();
  auto flags = anthropic_beta::of(request);
  if (!flags.ok()) return flags.status();
  auto out = native_request(target, "/messages");
  if (!out.ok()) return out.status();
  // Anthropic's beta flags (a Messages client's, carried in translation)
  // go back to Anthropic as its header: all of them, the API is theirs.
  if (!flags->empty()) out->headers.emplace_back("anthropic-beta", anthropic_beta::header_value(*flags));
  out->body = bj::serialize(*body);
  return out;
}

Result<UpstreamRequest> AnthropicAdapter::native_request(const ModelTarget& target, std::string_view path) const {
  std::string base = target.base_url.empty() ? options_.default_base_url : target.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  UpstreamRequest out;
  out.method = "POST";
  out.url = base + "/v1" + std::string(path);
  out.headers = {{"anthropic-version", options_.api_version}, {"content-type", "application/json"}};
  return out;
}

Result<UpstreamRequest> AnthropicAdapter::build_count_tokens(const bj::object& request, const ModelTarget& target) const {
  auto body = messages_body(request, target, /*stream=*/false);
  if (!body.ok()) return body.status();
  auto out = native_request(target, "/messages/count_tokens");
  if (!out.ok()) return out.status();
  bj::object counted;
  for (const char* k : {"model", "messages", "system", "tools", "tool_choice"}) {
    if (auto* f = body->if_contains(k)) counted[k] = std::move(*f);
  }
  out->body = bj::serialize(counted);
  return out;
}

Result<std::int64_t> AnthropicAdapter::parse_count_tokens(std::string_view body) const {
  auto v = anthropic::parse_object(body, 1 << 20);
  const bj::value* n = v.ok() ? v->if_contains("input_tokens") : nullptr;
  if (!n || !n->is_int64() || n->get_int64() < 0) return Status(Code::kUnavailable, "count_tokens answered no input_tokens");
  return n->get_int64();
}

Result<bj::object> AnthropicAdapter::parse_chat(unsigned http_status, std::string_view body,
                                                const ModelTarget& target, Usage* usage,
                                                UpstreamError* error) const {
  UpstreamError e;
  if (http_status < 200 || http_status > 299) {
    e = parse_error(http_status, body);
  } else {
    auto parsed = anthropic::parse_object(body, kMaxResponseBytes);
    if (!parsed.ok()) {
      e = anthropic::protocol_error("Anthropic answered with invalid JSON: " +
                                    parsed.status().message());
    } else if (const bj::value* err = parsed->if_contains("error"); err && err->is_object() &&
                                                                    parsed->if_contains("type") &&
                                                                    parsed->at("type") == "error") {
      e = anthropic::translate_error_object(http_status, err->get_object());
    } else {
      auto out = anthropic::translate_message(*parsed, target.model, usage);
      if (out.ok()) return out;
      e = anthropic::protocol_error("Anthropic answered with a malformed message: " +
                                    out.status().message());
    }
  }
  if (error) *error = e;
  return status_of(e);
}

std::unique_ptr<StreamTranslator> AnthropicAdapter::stream_translator(const ModelTarget& target,
                                                                      std::string request_id,
                                                                      std::int64_t created) const {
  return anthropic::make_stream_translator(target.model, std::move(request_id), created);
}

UpstreamError AnthropicAdapter::parse_error(unsigned http_status, std::string_view body) const {
  return anthropic::translate_error(http_status, body);
}

}  // namespace spectra::ai
