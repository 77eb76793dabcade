#include "ai/stream_codec.h"
#include "common/json_util.h"

#include <boost/json/serialize.hpp>

namespace spectra::ai {
namespace {

bj::object chunk_base(const bj::object& c) {
  bj::object o;
  o["id"] = c.contains("id") ? c.at("id") : bj::value("chatcmpl-cached");
  o["object"] = "chat.completion.chunk";
  o["created"] = c.contains("created") ? c.at("created") : bj::value(0);
  o["model"] = c.contains("model") ? c.at("model") : bj::value("");
  if (const auto* f = c.if_contains("system_fingerprint")) o["system_fingerprint"] = *f;
  return o;
}

std::string str(const bj::value* v) { return v && v->is_string() ? std::string(v->get_string()) : std::string(); }

}  // namespace

std::string sse_data(const bj::object& o) {
  std::string s = "data: ";
  s += bj::serialize(o);
  s += "\n\n";
  return s;
}

const bj::object* first_choice(const bj::object& c) {
  const auto* choices = c.if_contains("choices");
  if (!choices || !choices->is_array() || choices->get_array().empty()) return nullptr;
  return choices->get_array()[0].if_object();
}

const bj::object* delta_of(const bj::object& choice) {
  const auto* d = choice.if_contains("delta");
  return d ? d->if_object() : nullptr;
}

std::string reasoning_text(const bj::object& m) {
  return std::string(json::string_at(m, "reasoning_content")) + std::string(json::string_at(m, "reasoning"));
}

ToolCallParts tool_call_parts(const bj::object& call) {
  ToolCallParts out;
  if (const auto* i = call.if_contains("index")) out.index = json::to_int(*i);
  out.id = json::string_at(call, "id");
  if (const auto* fn = call.if_contains("function"); fn && fn->is_object()) {
    out.name = json::string_at(fn->get_object(), "name");
    out.arguments = json::string_at(fn->get_object(), "arguments");
  }
  return out;
}

std::string sse_event(const bj::object& o) {
  std::string s = "event: ";
  const auto* type = o.if_contains("type");
  if (type && type->is_string()) s += type->get_string();
  s += "\ndata: ";
  s += bj::serialize(o);
  s += "\n\n";
  return s;
}

std::vector<bj::object> completion_to_chunks(const bj::object& c, bool include_usage) {
  std::vector<bj::object> out;
  const auto* choices = c.if_contains("choices");
  if (choices && choices->is_array()) {
    for (const auto& ch : choices->get_array()) {
      if (!ch.is_object()) continue;
      const auto& co = ch.get_object();
      bj::value index = co.contains("index") ? co.at("index") : bj::value(0);
      const bj::object* msg = co.contains("message") && co.at("message").is_object() ? &co.at("message").get_object() : nullptr;
      auto push = [&](bj::object delta, bj::value finish) {
        bj::object k = chunk_base(c);
        k["choices"] = bj::array{bj::object{{"index", index}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", std::move(finish)}}};
        out.push_back(std::move(k));
      };
      bj::object first{{"role", "assistant"}, {"content", ""}};
      if (msg && msg->contains("refusal")) first["refusal"] = nullptr;
      push(std::move(first), nullptr);
      if (msg) {
        // In the order a model writes them: thinking, a refusal, content, calls.
        for (const char* field : {"reasoning_content", "reasoning"}) {
          if (const auto* r = msg->if_contains(field); r && r->is_string() && !r->get_string().empty()) {
            push(bj::object{{field, *r}}, nullptr);
          }
        }
        if (const auto* tb = msg->if_contains("thinking_blocks"); tb && tb->is_array() && !tb->get_array().empty()) {
          push(bj::object{{"thinking_blocks", *tb}}, nullptr);
        }
        if (const auto* r = msg->if_contains("refusal"); r && r->is_string() && !r->get_string().empty()) {
          push(bj::object{{"refusal", *r}}, nullptr);
        }
        if (const auto* content = msg->if_contains("content"); content && content->is_string() && !content->get_string().empty()) {
          push(bj::object{{"content", *content}}, nullptr);
        }
        if (const auto* tcs = msg->if_contains("tool_calls"); tcs && tcs->is_array()) {
          std::int64_t i = 0;
          for (const auto& tc : tcs->get_array()) {
            if (!tc.is_object()) continue;
            bj::object call{{"index", i++}};
            for (const char* k : {"id", "type", "function"}) {
              if (const auto* f = tc.get_object().if_contains(k)) call[k] = *f;
            }
            push(bj::object{{"tool_calls", bj::array{std::move(call)}}}, nullptr);
          }
        }
      }
      push(bj::object{}, co.contains("finish_reason") ? co.at("finish_reason") : bj::value("stop"));
    }
  }
  if (include_usage && c.contains("usage")) {
    bj::object k = chunk_base(c);
    k["choices"] = bj::array();
    k["usage"] = c.at("usage");
    out.push_back(std::move(k));
  }
  return out;
}

void ChunkAssembler::add(const bj::object& chunk) {
  if (id_.empty()) id_ = str(chunk.if_contains("id"));
  if (model_.empty()) model_ = str(chunk.if_contains("model"));
  if (system_fingerprint_.empty()) system_fingerprint_ = str(chunk.if_contains("system_fingerprint"));
  if (const auto* c = chunk.if_contains("created"); c && c->is_number() && created_ == 0) created_ = json::to_int(*c);
  if (const auto* u = chunk.if_contains("usage"); u && u->is_object()) usage_ = *u;
  const auto* choices = chunk.if_contains("choices");
  if (!choices || !choices->is_array()) return;
  for (const auto& ch : choices->get_array()) {
    if (!ch.is_object()) continue;
    const auto& co = ch.get_object();
    std::int64_t idx = co.contains("index") && co.at("index").is_number() ? json::to_int(co.at("index")) : 0;
    Choice& c = choices_[idx];
    if (const auto* f = co.if_contains("finish_reason"); f && !f->is_null()) c.finish_reason = *f;
    const bj::object* d = delta_of(co);
    if (!d) continue;
    const auto& delta = *d;
    if (const auto* r = delta.if_contains("role"); r && r->is_string()) c.role = std::string(r->get_string());
    if (const auto* t = delta.if_contains("content"); t && t->is_string()) {
      // The leading "" of a role chunk is not content: a tool-call answer
      // keeps content null.
      c.content += t->get_string();
      c.has_content = c.has_content || !t->get_string().empty();
      any_delta_ = any_delta_ || !t->get_string().empty();
    }
    if (const auto* t = delta.if_contains("refusal"); t && t->is_string()) c.refusal += t->get_string();
    for (auto [field, text] : {std::pair{"reasoning_content", &c.reasoning_content}, std::pair{"reasoning", &c.reasoning}}) {
      if (const auto* t = delta.if_contains(field); t && t->is_string()) {
        *text += t->get_string();
        any_delta_ = any_delta_ || !t->get_string().empty();
      }
    }
    if (const auto* tb = delta.if_contains("thinking_blocks"); tb && tb->is_array()) {
      for (const auto& b : tb->get_array()) c.thinking_blocks.push_back(b);
    }
    if (const auto* tcs = delta.if_contains("tool_calls"); tcs && tcs->is_array()) {
      for (const auto& tc : tcs->get_array()) {
        if (!tc.is_object()) continue;
        const auto& t = tc.get_object();
        std::int64_t ti = t.contains("index") && t.at("index").is_number() ? json::to_int(t.at("index")) : 0;
        ToolCall& call = c.tool_calls[ti];
        if (const auto* id = t.if_contains("id"); id && id->is_string()) call.id = std::string(id->get_string());
        if (const auto* ty = t.if_contains("type"); ty && ty->is_string()) call.type = std::string(ty->get_string());
        if (const auto* f = t.if_contains("function"); f && f->is_object()) {
          call.name += str(f->get_object().if_contains("name"));
          call.arguments += str(f->get_object().if_contains("arguments"));
        }
        any_delta_ = true;
      }
    }
  }
}

bj::object ChunkAssembler::completion() const {
  bj::array choices;
  for (const auto& [idx, c] : choices_) {
    bj::object msg{{"role", c.role}};
    msg["content"] = c.has_content || c.tool_calls.empty() ? bj::value(c.content) : bj::value(nullptr);
    if (!c.refusal.empty()) msg["refusal"] = c.refusal;
    if (!c.reasoning_content.empty()) msg["reasoning_content"] = c.reasoning_content;
    if (!c.reasoning.empty()) msg["reasoning"] = c.reasoning;
    if (!c.thinking_blocks.empty()) msg["thinking_blocks"] = c.thinking_blocks;
    if (!c.tool_calls.empty()) {
      bj::array calls;
      for (const auto& [ti, t] : c.tool_calls) {
        calls.push_back(bj::object{{"id", t.id}, {"type", t.type}, {"function", bj::object{{"name", t.name}, {"arguments", t.arguments}}}});
      }
      msg["tool_calls"] = std::move(calls);
    }
    choices.push_back(bj::object{{"index", idx}, {"message", std::move(msg)}, {"logprobs", nullptr}, {"finish_reason", c.finish_reason}});
  }
  bj::object out{{"id", id_}, {"object", "chat.completion"}, {"created", created_}, {"model", model_}, {"choices", std::move(choices)}};
  if (!system_fingerprint_.empty()) out["system_fingerprint"] = system_fingerprint_;
  if (!usage_.is_null()) out["usage"] = usage_;
  return out;
}

}  // namespace spectra::ai
