// Fuzzes the Bedrock adapter's parsers of upstream bytes: the ConverseStream
// translator (event-stream frames -> OpenAI chunks), parse_chat, parse_error
// and the Titan embedding parser; plus converse_body on client JSON.
//
// The first input byte picks a mode; the rest is the data:
//   mode % 4 == 0: raw event-stream bytes, as the upstream sent them.
//   mode % 4 == 1: the same with every frame's CRCs repaired, so mutations
//                  reach the header and JSON handling instead of the CRC check.
//   mode % 4 == 2: lines "<k><json>": each line becomes one well-formed frame
//                  whose type k picks (event types, exceptions, a bad frame),
//                  which lets the fuzzer build event sequences in plain text.
//   mode % 4 == 3: a JSON body for parse_chat / parse_error / Titan, and an
//                  OpenAI request for converse_body.
// Checks: no crash or sanitizer report; feeding whole and in chunks gives the
// same chunks and the same outcome; chunk and usage shapes hold.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ai/bedrock_adapter.h"
#include "ai/bedrock_embeddings.h"
#include "wire/crc32.h"
#include "wire/eventstream.h"

namespace {

namespace ai = spectra::ai;
namespace bj = boost::json;
namespace es = spectra::wire::eventstream;

void check(bool ok) {
  if (!ok) std::abort();
}

std::uint32_t be32(std::string_view s, std::size_t pos) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<std::uint8_t>(s[pos + i]);
  return v;
}

void put_be32(std::string* s, std::size_t pos, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) (*s)[pos + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xFF);
}

std::string with_crcs_fixed(std::string_view data) {
  std::string out(data);
  for (std::size_t pos = 0; out.size() - pos >= es::kPreludeBytes;) {
    put_be32(&out, pos + 8, spectra::wire::crc32(std::string_view(out).substr(pos, 8)));
    const std::uint32_t total = be32(out, pos);
    if (total < es::kMinMessageBytes || total > out.size() - pos) break;
    put_be32(&out, pos + total - 4,
             spectra::wire::crc32(std::string_view(out).substr(pos, total - 4)));
    pos += total;
  }
  return out;
}

std::string frames_from_lines(std::string_view data) {
  static constexpr std::string_view kEvents[] = {
      "messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop",
      "messageStop",  "metadata",          "somethingNew"};
  static constexpr std::string_view kExceptions[] = {
      "throttlingException", "modelStreamErrorException", "validationException",
      "internalServerException", "serviceUnavailableException"};
  std::string out;
  while (!data.empty()) {
    const auto nl = data.find('\n');
    std::string_view line = data.substr(0, nl);
    data = nl == std::string_view::npos ? std::string_view() : data.substr(nl + 1);
    if (line.empty()) continue;
    const auto kind = static_cast<std::uint8_t>(line[0]) % 16;
    const std::string payload(line.substr(1));
    es::Message m;
    if (kind < 7) {
      m.headers = {{":event-type", std::string(kEvents[kind])},
                   {":content-type", std::string("application/json")},
                   {":message-type", std::string("event")}};
    } else if (kind < 12) {
      m.headers = {{":exception-type", std::string(kExceptions[kind - 7])},
                   {":content-type", std::string("application/json")},
                   {":message-type", std::string("exception")}};
    } else if (kind == 12) {
      m.headers = {{":message-type", std::string("error")},
                   {":error-code", payload},
                   {":error-message", std::string("fuzz")}};
    } else {
      m.headers = {{":message-type", std::string("event")}};  // no :event-type
    }
    m.payload = payload;
    if (!es::encode(m, &out).ok()) break;
  }
  return out;
}

struct Outcome {
  std::string chunks;
  bool ok = true;
  std::string message;
  spectra::ai::Usage usage;
  bool done = false;
};

Outcome translate(std::string_view bytes, std::size_t step) {
  ai::BedrockAdapter adapter;
  ai::ModelTarget target;
  target.model = "fuzz-model";
  auto t = adapter.stream_translator(target, "chatcmpl-fuzz", 1);
  std::vector<bj::object> chunks;
  ai::UpstreamError err;
  spectra::Status s;
  for (std::size_t pos = 0; pos < bytes.size() && s.ok(); pos += step) {
    s = t->feed(bytes.substr(pos, step), &chunks, &err);
  }
  if (s.ok()) s = t->finish(&chunks, &err);
  Outcome o;
  for (const bj::object& c : chunks) {
    check(c.at("object").as_string() == "chat.completion.chunk");
    check(c.at("id").as_string() == "chatcmpl-fuzz");
    o.chunks += bj::serialize(c);
    o.chunks.push_back('\n');
  }
  o.ok = s.ok();
  o.message = s.message();
  if (!s.ok()) check(err.http_status >= 400 && err.http_status <= 599 && !err.type.empty());
  o.usage = t->usage();
  o.done = t->done();
  check(o.usage.prompt_tokens >= 0 && o.usage.completion_tokens >= 0 &&
        o.usage.cached_prompt_tokens + o.usage.cache_write_tokens <= o.usage.prompt_tokens);
  return o;
}

void run_stream(std::string_view bytes) {
  const Outcome whole = translate(bytes, bytes.size() + 1);
  const std::size_t step = 1 + bytes.size() % 13;
  const Outcome chunked = translate(bytes, step);
  check(whole.chunks == chunked.chunks);
  check(whole.ok == chunked.ok);
  check(whole.message == chunked.message);
  check(whole.done == chunked.done);
  check(whole.usage.prompt_tokens == chunked.usage.prompt_tokens);
}

void run_bodies(std::string_view body) {
  ai::BedrockAdapter adapter;
  ai::ModelTarget target;
  target.model = "fuzz-model";
  target.region = "us-east-1";
  for (unsigned status : {200u, 400u, 429u, 503u}) {
    ai::Usage usage;
    ai::UpstreamError err;
    auto out = adapter.parse_chat(status, body, target, &usage, &err);
    if (out.ok()) {
      check(status == 200);
      check(out->at("object").as_string() == "chat.completion");
      (void)bj::serialize(*out);
      // A guardrail trace's summary is bounded whatever the upstream sent.
      check(usage.guardrail_acted.size() <= 16 && usage.guardrail_units >= 0);
      for (const auto& acted : usage.guardrail_acted) check(acted.size() <= 128 && acted.find(':') != std::string::npos);
    } else {
      check(err.http_status >= 400 && err.http_status <= 599);
      (void)err.to_openai();
    }
  }
  (void)adapter.parse_error(500, body);
  ai::UpstreamError err;
  (void)spectra::ai::bedrock::parse_titan_embedding(200, body, &err);

  boost::system::error_code ec;
  bj::value request = bj::parse(body, ec);
  if (!ec && request.is_object()) {
    auto converse = spectra::ai::bedrock::converse_body(request.get_object());
    if (converse.ok()) (void)bj::serialize(*converse);
    // Claude (thinking on a budget, adaptively) and Nova 2: reasoning_effort,
    // thinking, output_config, thinking_blocks and cache_control are read too.
    auto claude = spectra::ai::bedrock::converse_body(request.get_object(), "anthropic.claude-3-7-sonnet-20250219-v1:0");
    if (claude.ok()) (void)bj::serialize(*claude);
    // With beta flags listed for the model: only listed flags are sent,
    // each once, and only to Claude.
    static const std::vector<std::string> listed = {"interleaved-thinking-2025-05-14", "context-1m-2025-08-07"};
    auto adaptive = spectra::ai::bedrock::converse_body(request.get_object(), "us.anthropic.claude-opus-4-7-v1:0", listed);
    if (adaptive.ok()) {
      (void)bj::serialize(*adaptive);
      const bj::value* extra = adaptive->if_contains("additionalModelRequestFields");
      const bj::value* sent = extra && extra->is_object() ? extra->get_object().if_contains("anthropic_beta") : nullptr;
      if (sent) {
        check(sent->is_array() && !sent->get_array().empty() && sent->get_array().size() <= listed.size());
        for (const bj::value& f : sent->get_array()) {
          check(f.is_string() && std::count(listed.begin(), listed.end(), f.get_string()) == 1);
          check(std::count(sent->get_array().begin(), sent->get_array().end(), f) == 1);
        }
      }
    }
    if (auto nova = spectra::ai::bedrock::converse_body(request.get_object(), "us.amazon.nova-pro-v1:0", listed); nova.ok()) {
      const bj::value* extra = nova->if_contains("additionalModelRequestFields");
      check(!extra || !extra->get_object().contains("anthropic_beta"));
    }
    auto nova2 = spectra::ai::bedrock::converse_body(request.get_object(), "us.amazon.nova-2-lite-v1:0");
    if (nova2.ok()) (void)bj::serialize(*nova2);
    auto up = adapter.build_chat(request.get_object(), target, true);
    if (up.ok()) check(up->url.find("/converse-stream") != std::string::npos);
    (void)spectra::ai::bedrock::build_titan_embeddings(request.get_object(), target);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      run_stream(rest);
      break;
    case 1:
      run_stream(with_crcs_fixed(rest));
      break;
    case 2:
      run_stream(frames_from_lines(rest));
      break;
    default:
      run_bodies(rest);
      break;
  }
  return 0;
}
