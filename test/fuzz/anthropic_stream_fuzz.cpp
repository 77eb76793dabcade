// Feeds arbitrary bytes to the Anthropic adapter:
//   - the stream translator, once whole and once in input-derived pieces: no
//     crash or sanitizer report, and both ways give the same chunks, status,
//     error, usage and end state; usage is never negative;
//   - parse_chat and parse_error with an input-derived HTTP status: an error
//     always carries a 4xx/5xx status, a type and a message;
//   - build_chat, when the bytes are a JSON object: a success is a JSON body
//     with model, max_tokens (above a thinking budget) and alternating
//     messages;
//   - the exact cache's message assembler over the stream's events: a
//     message it assembles replays as events that assemble to it again.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ai/anthropic_adapter.h"
#include "ai/anthropic_replay.h"
#include "wire/sse.h"

namespace bj = boost::json;
using spectra::ai::AnthropicAdapter;
using spectra::ai::ModelTarget;
using spectra::ai::UpstreamError;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

struct Outcome {
  std::vector<std::string> chunks;  // serialized
  spectra::Status status;
  UpstreamError error;
  spectra::ai::Usage usage;
  bool done = false;
};

Outcome run(const AnthropicAdapter& adapter, const ModelTarget& target,
            const std::vector<std::string_view>& pieces) {
  auto t = adapter.stream_translator(target, "chatcmpl-fuzz", 1);
  Outcome o;
  std::vector<bj::object> chunks;
  for (std::string_view p : pieces) {
    o.status = t->feed(p, &chunks, &o.error);
    if (!o.status.ok()) break;
  }
  if (o.status.ok()) o.status = t->finish(&chunks, &o.error);
  for (const auto& c : chunks) o.chunks.push_back(bj::serialize(c));
  o.usage = t->usage();
  o.done = t->done();
  return o;
}

// Piece lengths come from a linear congruential generator seeded by the
// input's length and first bytes, so a corpus file stays a plain stream.
std::vector<std::string_view> pieces_of(std::string_view data) {
  std::uint32_t x = static_cast<std::uint32_t>(data.size()) * 2654435761u;
  for (std::size_t i = 0; i < data.size() && i < 8; ++i)
    x = x * 31u + static_cast<std::uint8_t>(data[i]);
  const std::uint32_t max_piece = 1u + (x >> 28);  // 1..16 bytes
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < data.size()) {
    x = x * 1103515245u + 12345u;
    std::size_t n = (x >> 16) % (max_piece + 1);  // 0 (an empty piece) .. max_piece
    if (n > data.size() - pos) n = data.size() - pos;
    out.push_back(data.substr(pos, n));
    pos += n;
  }
  return out;
}

void check_error(const UpstreamError& e) {
  check(e.http_status >= 400 && e.http_status <= 599);
  check(!e.type.empty());
  check(!e.message.empty());
  bj::object openai = e.to_openai();
  check(openai.contains("error"));
}

bool alternating(const bj::array& messages) {
  std::string_view prev;
  for (const bj::value& m : messages) {
    std::string_view role = m.at("role").as_string();
    if (role != "user" && role != "assistant") return false;
    if (role == prev) return false;
    prev = role;
  }
  return !messages.empty();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view data(reinterpret_cast<const char*>(bytes), size);
  const AnthropicAdapter adapter;
  ModelTarget target;
  target.kind = "anthropic";
  target.model = "claude-fuzz";
  target.base_url = "http://127.0.0.1:1";

  // The stream translator: whole and split agree.
  const Outcome whole = run(adapter, target, {data});
  const Outcome split = run(adapter, target, pieces_of(data));
  check(whole.chunks == split.chunks);
  check(whole.status.code() == split.status.code());
  check(whole.status.message() == split.status.message());
  check(whole.done == split.done);
  check(whole.usage.prompt_tokens == split.usage.prompt_tokens);
  check(whole.usage.completion_tokens == split.usage.completion_tokens);
  check(whole.usage.cached_prompt_tokens == split.usage.cached_prompt_tokens);
  check(whole.usage.cache_write_tokens == split.usage.cache_write_tokens);
  check(whole.usage.prompt_tokens >= whole.usage.cached_prompt_tokens + whole.usage.cache_write_tokens);
  check(whole.usage.completion_tokens >= 0 && whole.usage.cached_prompt_tokens >= 0);
  if (whole.status.ok()) {
    check(whole.done);
  } else {
    check(whole.error.message == split.error.message);
    check(whole.error.http_status == split.error.http_status);
    check_error(whole.error);
  }

  // The cache's assembler: what it builds from the events round-trips.
  {
    spectra::wire::sse::Parser parser;
    std::vector<spectra::wire::sse::Event> events;
    if (parser.feed(data, &events).ok()) {
      spectra::ai::anthropic::MessageAssembler a;
      for (const auto& e : events) {
        boost::system::error_code jec;
        bj::value ev = bj::parse(e.data, jec);
        if (!jec && ev.is_object()) a.add(ev.as_object());
      }
      if (auto m = a.message()) {
        const std::string replay = spectra::ai::anthropic::message_events(*m);
        check(!replay.empty());
        spectra::wire::sse::Parser again;
        std::vector<spectra::wire::sse::Event> replayed;
        check(again.feed(replay, &replayed).ok());
        spectra::ai::anthropic::MessageAssembler b;
        for (const auto& e : replayed) b.add(bj::parse(e.data).as_object());
        auto round = b.message();
        check(round.has_value() && bj::value(*round) == bj::value(*m));
      }
    }
  }

  // Whole answers and error bodies, with a status drawn from the input.
  const unsigned status = size == 0 ? 200u : 100u + static_cast<std::uint8_t>(data[0]) * 2u;
  for (unsigned s : {200u, status}) {
    spectra::ai::Usage usage;
    UpstreamError err;
    auto chat = adapter.parse_chat(s, data, target, &usage, &err);
    if (chat.ok()) {
      check(s >= 200 && s <= 299);
      check(chat->at("choices").as_array().size() == 1);
      check(usage.prompt_tokens >= 0 && usage.completion_tokens >= 0);
    } else {
      check_error(err);
    }
  }
  check_error(adapter.parse_error(status, data));

  // The request translator, for inputs that are JSON objects.
  boost::system::error_code ec;
  bj::value v = bj::parse(data, ec);
  if (!ec && v.is_object()) {
    auto up = adapter.build_chat(v.as_object(), target, (size & 1) != 0);
    if (up.ok()) {
      bj::value body = bj::parse(up->body);
      check(body.at("model") == "claude-fuzz");
      check(body.at("max_tokens").as_int64() >= 1);
      check(alternating(body.at("messages").as_array()));
      // With thinking on a budget, the limit leaves room to answer after
      // it; adaptive thinking has no budget.
      if (const bj::value* th = body.as_object().if_contains("thinking")) {
        const bj::object& t = th->as_object();
        if (t.at("type") == "enabled") {
          check(body.at("max_tokens").as_int64() > t.at("budget_tokens").as_int64());
        } else {
          check(t.at("type") == "adaptive" && !t.contains("budget_tokens"));
        }
      }
    } else {
      check(up.status().code() == spectra::Code::kInvalidArgument);
      check(!up.status().message().empty());
    }
  }
  return 0;
}
