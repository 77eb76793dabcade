#include "ai/messages_dialect.h"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "ai/openai_adapter.h"
#include "ai/stream_codec.h"
#include "common/json_util.h"

namespace spectra::ai::messages {

namespace {

Status bad(std::string* param, std::string field, std::string message) {
  if (param) *param = field;
  return invalid_argument(field + ": " + message);
}

using json::string_at;

// Prompt caching: a block's cache_control goes on the chat part (or tool)
// made from it, for Claude's adapters to send on.
void keep_cache_control(const bj::object& from, bj::object& to) {
  if (const auto* cc = from.if_contains("cache_control"); cc && cc->is_object()) to["cache_control"] = *cc;
}

// A tool_result's cache mark: its own, or the last one of its blocks.
const bj::value* result_cache_mark(const bj::object& result) {
  const bj::value* mark = result.if_contains("cache_control");
  if (const auto* content = result.if_contains("content"); content && content->is_array()) {
    for (const auto& b : content->get_array()) {
      const auto* o = b.if_object();
      if (const bj::value* m = o ? o->if_contains("cache_control") : nullptr) mark = m;
    }
  }
  return mark && mark->is_object() ? mark : nullptr;
}

// The text of a tool_result's content (a string, or text blocks).
Result<std::string> tool_result_text(const bj::value* content, const std::string& where, std::string* param) {
  if (!content || content->is_null()) return std::string();
  if (content->is_string()) return std::string(content->get_string());
  if (!content->is_array()) return bad(param, where, "must be a string or an array of blocks");
  std::string out;
  for (std::size_t i = 0; i < content->get_array().size(); ++i) {
    const auto* b = content->get_array()[i].if_object();
    if (!b || string_at(*b, "type") != "text") {
      return bad(param, where + "[" + std::to_string(i) + "]", "only text blocks can be translated for this model");
    }
    if (!out.empty()) out += "\n\n";
    out += string_at(*b, "text");
  }
  return out;
}

// One text or image block as a chat content part.
Result<bj::object> content_part(const bj::object& b, const std::string& where, std::string* param) {
  const std::string type(string_at(b, "type"));
  if (type == "text") {
    const auto* t = b.if_contains("text");
    if (!t || !t->is_string()) return bad(param, where + ".text", "must be a string");
    bj::object part{{"type", "text"}, {"text", t->get_string()}};
    keep_cache_control(b, part);
    return part;
  }
  if (type == "image") {
    const auto* src = b.if_contains("source") ? b.at("source").if_object() : nullptr;
    if (!src) return bad(param, where + ".source", "is required");
    const std::string kind(string_at(*src, "type"));
    std::string url;
    if (kind == "base64") {
      url = "data:" + std::string(string_at(*src, "media_type")) + ";base64," + std::string(string_at(*src, "data"));
    } else if (kind == "url") {
      url = std::string(string_at(*src, "url"));
    } else {
      return bad(param, where + ".source.type", "must be base64 or url");
    }
    bj::object part{{"type", "image_url"}, {"image_url", bj::object{{"url", url}}}};
    keep_cache_control(b, part);
    return part;
  }
  return bad(param, where + ".type", "block type '" + type + "' cannot be translated for this model");
}

// One Anthropic turn as chat messages, appended to `out`.
Status add_turn(const bj::object& turn, const std::string& where, bj::array& out, std::string* param) {
  const std::string role(string_at(turn, "role"));
  if (role != "user" && role != "assistant") return bad(param, where + ".role", "must be user or assistant");
  const auto* content = turn.if_contains("content");
  if (content && content->is_string()) {
    out.push_back(bj::object{{"role", role}, {"content", content->get_string()}});
    return {};
  }
  if (!content || !content->is_array()) return bad(param, where + ".content", "must be a string or an array of blocks");
  bj::array parts, tool_calls, thinking;
  for (std::size_t i = 0; i < content->get_array().size(); ++i) {
    const std::string at = where + ".content[" + std::to_string(i) + "]";
    const auto* b = content->get_array()[i].if_object();
    if (!b) return bad(param, at, "must be an object");
    const std::string type(string_at(*b, "type"));
    if (type == "thinking" || type == "redacted_thinking") {
      // Claude's own, signed, go back as they came (Claude on Bedrock
      // verifies them, and wants a tool-calling turn's thinking back); an
      // unsigned one is another model's notes, for no model to verify.
      if (role != "assistant") return bad(param, at + ".type", "thinking blocks belong to assistant turns");
      const auto* text = b->if_contains("thinking");
      const auto* sig = b->if_contains("signature");
      const auto* data = b->if_contains("data");
      if (type == "redacted_thinking") {
        if (!data || !data->is_string()) return bad(param, at + ".data", "must be a string");
        thinking.push_back(bj::object{{"type", type}, {"data", *data}});
      } else if (!text || !text->is_string() || !sig || !sig->is_string()) {
        return bad(param, at, "a thinking block needs its thinking and signature strings");
      } else if (!sig->get_string().empty()) {
        thinking.push_back(bj::object{{"type", type}, {"thinking", *text}, {"signature", *sig}});
      }
      continue;
    }
    if (type == "tool_use" && role == "assistant") {
      const auto* input = b->if_contains("input");
      tool_calls.push_back(bj::object{
          {"id", string_at(*b, "id")},
          {"type", "function"},
          {"function", bj::object{{"name", string_at(*b, "name")}, {"arguments", input ? bj::serialize(*input) : "{}"}}}});
      continue;
    }
    if (type == "tool_result" && role == "user") {
      auto text = tool_result_text(b->if_contains("content"), at + ".content", param);
      if (!text.ok()) return text.status();
      const auto* is_error = b->if_contains("is_error");
      std::string body = is_error && is_error->is_bool() && is_error->get_bool() ? "Error: " + *text : *text;
      bj::value result(body);
      if (const bj::value* mark = result_cache_mark(*b)) {
        result = bj::array{bj::object{{"type", "text"}, {"text", body}, {"cache_control", *mark}}};  // a part carries it
      }
      // Tool results answer the previous turn's calls: they come first.
      out.push_back(bj::object{{"role", "tool"}, {"tool_call_id", string_at(*b, "tool_use_id")}, {"content", std::move(result)}});
      continue;
    }
    auto part = content_part(*b, at, param);
    if (!part.ok()) return part.status();
    parts.push_back(std::move(*part));
  }
  if (role == "assistant") {
    if (parts.empty() && tool_calls.empty() && thinking.empty()) return {};
    bj::object m{{"role", "assistant"}};
    // Text only: one string (what every chat upstream takes for an assistant).
    std::string text;
    for (const auto& p : parts) {
      if (p.at("type") != "text") return bad(param, where + ".content", "an assistant turn can hold only text and tool_use");
      text += p.at("text").get_string();
    }
    m["content"] = parts.empty() ? bj::value(nullptr) : bj::value(text);
    if (!tool_calls.empty()) m["tool_calls"] = std::move(tool_calls);
    if (!thinking.empty()) m["thinking_blocks"] = std::move(thinking);
    out.push_back(std::move(m));
  } else if (!parts.empty()) {
    out.push_back(bj::object{{"role", "user"}, {"content", std::move(parts)}});
  }
  return {};
}

Status add_tools(const bj::object& request, bj::object& chat, std::string* param) {
  if (const auto* tools = request.if_contains("tools"); tools && !tools->is_null()) {
    if (!tools->is_array()) return bad(param, "tools", "must be an array");
    bj::array out;
    for (std::size_t i = 0; i < tools->get_array().size(); ++i) {
      const std::string at = "tools[" + std::to_string(i) + "]";
      const auto* t = tools->get_array()[i].if_object();
      if (!t) return bad(param, at, "must be an object");
      const std::string type(string_at(*t, "type"));
      if (!type.empty() && type != "custom") {
        return bad(param, at + ".type", "server tool '" + type + "' runs only on Anthropic's API");
      }
      const auto* schema = t->if_contains("input_schema");
      if (string_at(*t, "name").empty() || !schema || !schema->is_object()) {
        return bad(param, at, "needs a name and an input_schema object");
      }
      bj::object fn{{"name", string_at(*t, "name")}, {"parameters", *schema}};
      if (t->contains("description")) fn["description"] = string_at(*t, "description");
      bj::object tool{{"type", "function"}, {"function", std::move(fn)}};
      keep_cache_control(*t, tool);
      out.push_back(std::move(tool));
    }
    if (!out.empty()) chat["tools"] = std::move(out);
  }
  if (const auto* tc = request.if_contains("tool_choice"); tc && !tc->is_null()) {
    const auto* o = tc->if_object();
    const std::string type(o ? string_at(*o, "type") : std::string_view());
    if (type == "auto") chat["tool_choice"] = "auto";
    else if (type == "any") chat["tool_choice"] = "required";
    else if (type == "none") chat["tool_choice"] = "none";
    else if (type == "tool") chat["tool_choice"] = bj::object{{"type", "function"}, {"function", bj::object{{"name", string_at(*o, "name")}}}};
    else return bad(param, "tool_choice.type", "must be auto, any, tool or none");
    if (const auto* d = o->if_contains("disable_parallel_tool_use"); d && d->is_bool() && d->get_bool()) {
      chat["parallel_tool_calls"] = false;
    }
  }
  return {};
}

std::string stop_reason(const bj::value& finish) {
  if (!finish.is_string()) return "end_turn";
  const auto& f = finish.get_string();
  if (f == "length") return "max_tokens";
  if (f == "tool_calls" || f == "function_call") return "tool_use";
  if (f == "content_filter") return "refusal";
  return "end_turn";
}

bj::object input_of(std::string_view arguments) {
  auto v = json::parse(arguments, {.max_bytes = 8 << 20, .max_depth = 64});
  return v.ok() && v->is_object() ? std::move(v->get_object()) : bj::object();
}

}  // namespace

Result<bj::object> to_chat_request(const bj::object& request, std::string* param) {
  for (const char* refused : {"mcp_servers", "container"}) {
    if (const auto* v = request.if_contains(refused); v && !v->is_null()) {
      return bad(param, refused, "is served only by Anthropic's API");
    }
  }
  bj::object chat{{"model", request.contains("model") ? request.at("model") : bj::value(nullptr)}};
  bj::array msgs;
  if (const auto* sys = request.if_contains("system"); sys && !sys->is_null()) {
    if (sys->is_string()) {
      msgs.push_back(bj::object{{"role", "system"}, {"content", sys->get_string()}});
    } else if (json::any_element_has(sys, "cache_control")) {
      // Text blocks, one part each, so that each keeps its cache mark.
      bj::array parts;
      for (std::size_t i = 0; i < sys->get_array().size(); ++i) {
        const auto* b = sys->get_array()[i].if_object();
        const auto* t = b ? b->if_contains("text") : nullptr;
        if (!b || string_at(*b, "type") != "text" || !t || !t->is_string()) {
          return bad(param, "system[" + std::to_string(i) + "]", "only text blocks can be translated for this model");
        }
        bj::object part{{"type", "text"}, {"text", *t}};
        keep_cache_control(*b, part);
        parts.push_back(std::move(part));
      }
      msgs.push_back(bj::object{{"role", "system"}, {"content", std::move(parts)}});
    } else {
      auto text = tool_result_text(sys, "system", param);  // the same rule: text blocks only
      if (!text.ok()) return text.status();
      msgs.push_back(bj::object{{"role", "system"}, {"content", *text}});
    }
  }
  const auto* turns = request.if_contains("messages");
  if (!turns || !turns->is_array() || turns->get_array().empty()) return bad(param, "messages", "must be a non-empty array");
  for (std::size_t i = 0; i < turns->get_array().size(); ++i) {
    const std::string at = "messages[" + std::to_string(i) + "]";
    const auto* t = turns->get_array()[i].if_object();
    if (!t) return bad(param, at, "must be an object");
    if (Status s = add_turn(*t, at, msgs, param); !s.ok()) return s;
  }
  chat["messages"] = std::move(msgs);
  const auto* max_tokens = request.if_contains("max_tokens");
  if (!max_tokens || !max_tokens->is_int64() || max_tokens->get_int64() < 1) {
    return bad(param, "max_tokens", "is required: a positive integer");
  }
  chat["max_tokens"] = *max_tokens;
  for (const char* same : {"temperature", "top_p"}) {
    if (const auto* v = request.if_contains(same); v && !v->is_null()) chat[same] = *v;
  }
  // top_k as vLLM's chat API takes it (Claude's and Nova's adapters map it;
  // OpenAI's own API has none: left out there).
  if (const auto* k = request.if_contains("top_k"); k && !k->is_null()) {
    if (!k->is_int64() || k->get_int64() < 0) return bad(param, "top_k", "must be a non-negative integer");
    chat["top_k"] = *k;
  }
  // Claude's thinking and effort, as sent: Claude's adapters take them
  // (reasoning.h); an OpenAI-compatible upstream gets neither.
  for (const char* claude : {"thinking", "output_config"}) {
    if (const auto* v = request.if_contains(claude); v && !v->is_null()) {
      if (!v->is_object()) return bad(param, claude, "must be an object");
      chat[claude] = *v;
    }
  }
  if (const auto* stop = request.if_contains("stop_sequences"); stop && stop->is_array() && !stop->get_array().empty()) {
    chat["stop"] = *stop;
  }
  if (const auto* md = request.if_contains("metadata"); md && md->is_object()) {
    if (auto user = string_at(md->get_object(), "user_id"); !user.empty()) chat["user"] = user;
  }
  if (const auto* s = request.if_contains("stream"); s && s->is_bool() && s->get_bool()) {
    chat["stream"] = true;
    chat["stream_options"] = bj::object{{"include_usage", true}};
  }
  if (Status s = add_tools(request, chat, param); !s.ok()) return s;
  return chat;
}

bj::object usage_object(const Usage& u) {
  return bj::object{{"input_tokens", std::max<std::int64_t>(0, u.prompt_tokens - u.cached_prompt_tokens - u.cache_write_tokens)},
                    {"output_tokens", u.completion_tokens},
                    {"cache_creation_input_tokens", u.cache_write_tokens},
                    {"cache_read_input_tokens", u.cached_prompt_tokens}};
}

namespace {

// A thinking block as Anthropic's API has them (an upstream's field is
// untrusted): thinking with its text and signature, or redacted_thinking
// with its data.
bool well_formed_thinking(const bj::value& v) {
  const auto* b = v.if_object();
  if (!b) return false;
  const auto* text = b->if_contains("thinking");
  const auto* sig = b->if_contains("signature");
  const auto* data = b->if_contains("data");
  const auto type = string_at(*b, "type");
  return (type == "thinking" && text && text->is_string() && sig && sig->is_string()) ||
         (type == "redacted_thinking" && data && data->is_string());
}

}  // namespace

bj::object to_message(const bj::object& completion, std::string_view id, std::string_view model) {
  bj::array content;
  bj::value finish = nullptr;
  if (const bj::object* c = first_choice(completion)) {
    const auto& choice = *c;
    if (const auto* f = choice.if_contains("finish_reason")) finish = *f;
    if (const auto* m = choice.if_contains("message"); m && m->is_object()) {
      const auto& msg = m->get_object();
      // Thinking first: Claude's signed blocks as they are, else a
      // reasoning model's text in one unsigned thinking block.
      if (const auto* blocks = msg.if_contains("thinking_blocks"); blocks && blocks->is_array() && !blocks->get_array().empty()) {
        for (const auto& b : blocks->get_array()) {
          if (well_formed_thinking(b)) content.push_back(b);
        }
      } else if (std::string thought = reasoning_text(msg); !thought.empty()) {
        content.push_back(bj::object{{"type", "thinking"}, {"thinking", thought}, {"signature", ""}});
      }
      if (auto text = string_at(msg, "content"); !text.empty()) content.push_back(bj::object{{"type", "text"}, {"text", text}});
      if (const auto* calls = msg.if_contains("tool_calls"); calls && calls->is_array()) {
        for (const auto& call : calls->get_array()) {
          if (!call.is_object()) continue;
          const ToolCallParts t = tool_call_parts(call.get_object());
          content.push_back(bj::object{{"type", "tool_use"}, {"id", t.id}, {"name", t.name}, {"input", input_of(t.arguments)}});
        }
      }
    }
  }
  Usage u;
  if (const auto* usage = completion.if_contains("usage"); usage && usage->is_object()) read_openai_usage(*usage, &u);
  return bj::object{{"id", id},
                    {"type", "message"},
                    {"role", "assistant"},
                    {"model", model},
                    {"content", std::move(content)},
                    {"stop_reason", stop_reason(finish)},
                    {"stop_sequence", nullptr},
                    {"usage", usage_object(u)}};
}

std::string error_event(std::string_view type, std::string_view message) {
  return sse_event(bj::object{{"type", "error"}, {"error", bj::object{{"type", type}, {"message", message}}}});
}

std::string EventWriter::start_if_needed() {
  if (started_) return {};
  started_ = true;
  return sse_event(bj::object{{"type", "message_start"},
                          {"message", bj::object{{"id", id_},
                                                 {"type", "message"},
                                                 {"role", "assistant"},
                                                 {"model", model_},
                                                 {"content", bj::array()},
                                                 {"stop_reason", nullptr},
                                                 {"stop_sequence", nullptr},
                                                 {"usage", usage_object(Usage{})}}}});
}

std::string EventWriter::close_block() {
  if (!open_) return {};
  open_ = false;
  block_is_text_ = false;
  block_is_thinking_ = false;
  tool_ = -1;
  return sse_event(bj::object{{"type", "content_block_stop"}, {"index", next_ - 1}});
}

std::string EventWriter::open_block(bj::object block) {
  std::string out = close_block();
  open_ = true;
  out += sse_event(bj::object{{"type", "content_block_start"}, {"index", next_++}, {"content_block", std::move(block)}});
  return out;
}

std::string EventWriter::chunk(const bj::object& chunk) {
  std::string out = start_if_needed();
  const bj::object* first = first_choice(chunk);
  if (!first) return out;
  const auto& choice = *first;
  if (const bj::object* d = delta_of(choice)) {
    const auto& delta = *d;
    if (std::string thought = reasoning_text(delta); !thought.empty()) {
      if (!block_is_thinking_) {
        out += open_block(bj::object{{"type", "thinking"}, {"thinking", ""}, {"signature", ""}});
        block_is_thinking_ = true;
      }
      out += sse_event(bj::object{{"type", "content_block_delta"},
                                  {"index", next_ - 1},
                                  {"delta", bj::object{{"type", "thinking_delta"}, {"thinking", thought}}}});
    }
    if (const auto* blocks = delta.if_contains("thinking_blocks"); blocks && blocks->is_array()) {
      // Claude's signed blocks, each ending its thinking: the open block
      // gets its signature; a block not streamed (redacted) goes out whole.
      for (const auto& bv : blocks->get_array()) {
        if (!well_formed_thinking(bv)) continue;
        const auto* b = &bv.get_object();
        if (block_is_thinking_ && string_at(*b, "type") == "thinking") {
          out += sse_event(bj::object{{"type", "content_block_delta"},
                                      {"index", next_ - 1},
                                      {"delta", bj::object{{"type", "signature_delta"}, {"signature", string_at(*b, "signature")}}}});
          out += close_block();
          continue;
        }
        out += open_block(*b);
        out += close_block();
      }
    }
    if (const auto* t = delta.if_contains("content"); t && t->is_string() && !t->get_string().empty()) {
      if (!block_is_text_) {
        out += open_block(bj::object{{"type", "text"}, {"text", ""}});
        block_is_text_ = true;
      }
      out += sse_event(bj::object{{"type", "content_block_delta"},
                              {"index", next_ - 1},
                              {"delta", bj::object{{"type", "text_delta"}, {"text", t->get_string()}}}});
    }
    if (const auto* calls = delta.if_contains("tool_calls"); calls && calls->is_array()) {
      for (const auto& cv : calls->get_array()) {
        if (!cv.is_object()) continue;
        const ToolCallParts t = tool_call_parts(cv.get_object());
        if (!open_ || block_is_text_ || tool_ != t.index) {
          out += open_block(bj::object{{"type", "tool_use"}, {"id", t.id}, {"name", t.name}, {"input", bj::object()}});
          tool_ = t.index;
        }
        if (!t.arguments.empty()) {
          out += sse_event(bj::object{{"type", "content_block_delta"},
                                  {"index", next_ - 1},
                                  {"delta", bj::object{{"type", "input_json_delta"}, {"partial_json", t.arguments}}}});
        }
      }
    }
  }
  if (const auto* f = choice.if_contains("finish_reason"); f && !f->is_null()) stop_reason_ = stop_reason(*f);
  return out;
}

std::string EventWriter::end(const Usage& usage) {
  std::string out = start_if_needed();
  out += close_block();
  out += sse_event(bj::object{{"type", "message_delta"},
                          {"delta", bj::object{{"stop_reason", stop_reason_}, {"stop_sequence", nullptr}}},
                          {"usage", usage_object(usage)}});
  out += sse_event(bj::object{{"type", "message_stop"}});
  return out;
}

}  // namespace spectra::ai::messages
