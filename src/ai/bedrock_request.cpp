// OpenAI chat-completions request -> Bedrock Converse / ConverseStream request.
// The rules are listed once, in bedrock_adapter.h.
#include <boost/json/serialize.hpp>
#include <set>

#include "ai/anthropic_beta.h"
#include "ai/bedrock_adapter.h"
#include "ai/bedrock_internal.h"
#include "ai/reasoning.h"
#include "aws/sigv4_canonical.h"
#include "common/crypto.h"
#include "common/json_util.h"

namespace spectra::ai {
namespace bedrock {
namespace {

using namespace detail;

Status bad(std::string m) { return invalid_argument("bedrock: " + std::move(m)); }

bj::object text_block(std::string_view text) { return bj::object{{"text", text}}; }

// "data:image/png;base64,AAAA" -> {image:{format:"png", source:{bytes:"AAAA"}}}.
Result<bj::object> image_block(const bj::value& image_url) {
  const bj::string* url = nullptr;
  if (image_url.is_string())
    url = &image_url.get_string();
  else if (image_url.is_object())
    url = string_at(image_url.get_object(), "url");
  if (!url) return bad("image_url part has no url");
  std::string_view u(*url);
  constexpr std::string_view kData = "data:";
  if (u.substr(0, kData.size()) != kData) {
    return bad(
        "images must be data: URLs with base64 content; the gateway does not fetch "
        "remote image URLs for Bedrock");
  }
  const auto comma = u.find(',');
  if (comma == std::string_view::npos) return bad("malformed data: URL");
  std::string_view meta = u.substr(kData.size(), comma - kData.size());
  std::string_view data = u.substr(comma + 1);
  constexpr std::string_view kBase64 = ";base64";
  if (meta.size() < kBase64.size() || meta.substr(meta.size() - kBase64.size()) != kBase64) {
    return bad("image data: URLs must be base64-encoded");
  }
  std::string_view mime = meta.substr(0, meta.size() - kBase64.size());
  std::string format;
  if (mime == "image/png")
    format = "png";
  else if (mime == "image/jpeg" || mime == "image/jpg")
    format = "jpeg";
  else if (mime == "image/gif")
    format = "gif";
  else if (mime == "image/webp")
    format = "webp";
  else
    return bad("unsupported image type '" + std::string(mime) + "' (png, jpeg, gif, webp)");
  if (data.empty() || !crypto::base64_decode(data).ok()) return bad("image data is not base64");
  return bj::object{
      {"image", bj::object{{"format", format}, {"source", bj::object{{"bytes", data}}}}}};
}

bj::object cache_point() { return bj::object{{"cachePoint", bj::object{{"type", "default"}}}}; }

bool has_cache_mark(const bj::object& o) {
  const bj::value* cc = o.if_contains("cache_control");
  return cc && cc->is_object();
}

// Appends the blocks of an OpenAI `content` (null, a string, or parts);
// with `marks`, a cache point after each part that has cache_control.
Status append_content(const bj::value& content, bool allow_images, bj::array* blocks, bool marks) {
  if (content.is_null()) return {};
  if (content.is_string()) {
    if (!content.get_string().empty()) blocks->push_back(text_block(content.get_string()));
    return {};
  }
  if (!content.is_array()) return bad("message content must be a string, an array or null");
  for (const bj::value& part : content.get_array()) {
    if (!part.is_object()) return bad("content part is not an object");
    const bj::object& p = part.get_object();
    const bj::string* type = string_at(p, "type");
    if (!type) return bad("content part has no type");
    if (*type == "text") {
      const bj::string* t = string_at(p, "text");
      if (!t) return bad("text part has no text");
      if (t->empty()) continue;
      blocks->push_back(text_block(*t));
    } else if (*type == "image_url" && allow_images) {
      auto it = p.find("image_url");
      if (it == p.end()) return bad("image_url part has no image_url");
      auto img = image_block(it->value());
      if (!img.ok()) return img.status();
      blocks->push_back(std::move(*img));
    } else {
      return bad("content part type '" + std::string(*type) + "' is not supported here");
    }
    if (marks && has_cache_mark(p)) blocks->push_back(cache_point());
  }
  return {};
}

class Builder {
 public:
  // `thinking`: an assistant message's thinking_blocks go first in its
  // turn, as reasoningContent (Claude on Bedrock wants a tool-calling turn's
  // thinking back, signature unchanged); without it they are left out.
  // `marks`: cache_control on a part (or a tool) becomes a cache point
  // after it (Claude's prompt caching on Bedrock).
  Builder(bool thinking, bool marks) : thinking_(thinking), marks_(marks) {}

  Status add_message(const bj::object& m) {
    const bj::string* role = string_at(m, "role");
    if (!role) return bad("message has no role");
    auto c = m.find("content");
    const bj::value null_content;
    const bj::value& content = c == m.end() ? null_content : c->value();
    bj::array blocks;
    if (*role == "system" || *role == "developer") {
      return append_content(content, false, &system_, marks_);
    }
    if (*role == "user") {
      if (Status s = append_content(content, true, &blocks, marks_); !s.ok()) return s;
      add_turn("user", std::move(blocks));
      return {};
    }
    if (*role == "assistant") {
      if (const bj::array* tb = array_at(m, "thinking_blocks"); tb && thinking_) {
        if (Status s = reasoning_blocks(*tb, &blocks); !s.ok()) return s;
      }
      if (Status s = append_content(content, false, &blocks, marks_); !s.ok()) return s;
      if (const bj::array* calls = array_at(m, "tool_calls")) {
        for (const bj::value& call : *calls) {
          auto use = tool_use_block(call);
          if (!use.ok()) return use.status();
          blocks.push_back(std::move(*use));
        }
      }
      add_turn("assistant", std::move(blocks));
      return {};
    }
    if (*role == "tool") {
      const bj::string* id = string_at(m, "tool_call_id");
      if (!id || id->empty()) return bad("tool message has no tool_call_id");
      bj::array result_content;
      if (Status s = append_content(content, false, &result_content, false); !s.ok()) return s;
      if (result_content.empty()) result_content.push_back(text_block(""));
      has_tool_blocks_ = true;
      blocks.push_back(bj::object{
          {"toolResult", bj::object{{"toolUseId", *id}, {"content", std::move(result_content)}}}});
      // A tool result holds no cache point: it goes right after the result.
      bool marked = false;
      if (content.is_array()) {
        for (const bj::value& part : content.get_array()) marked = marked || (part.is_object() && has_cache_mark(part.get_object()));
      }
      if (marks_ && marked) blocks.push_back(cache_point());
      add_turn("user", std::move(blocks));
      return {};
    }
    return bad("message role '" + std::string(*role) + "' is not supported");
  }

  bj::array take_system() { return std::move(system_); }
  bj::array& messages() { return messages_; }
  bool has_tool_blocks() const { return has_tool_blocks_; }
  bool marks() const { return marks_; }
  const std::set<std::string>& tool_names() const { return tool_names_; }

 private:
  Result<bj::object> tool_use_block(const bj::value& call) {
    if (!call.is_object()) return bad("tool_calls entry is not an object");
    const bj::object& c = call.get_object();
    const bj::string* id = string_at(c, "id");
    const bj::object* fn = object_at(c, "function");
    const bj::string* name = fn ? string_at(*fn, "name") : nullptr;
    if (!id || !name) return bad("tool_calls entry needs id and function.name");
    const bj::string* args = fn ? string_at(*fn, "arguments") : nullptr;
    bj::value input = bj::object{};
    if (args && !args->empty()) {
      auto parsed = json::parse(*args, {1u << 20, 64});
      if (!parsed.ok()) {
        return bad("tool call '" + std::string(*id) +
                   "' arguments are not JSON: " + parsed.status().message());
      }
      input = std::move(*parsed);
    }
    has_tool_blocks_ = true;
    tool_names_.insert(std::string(*name));
    return bj::object{
        {"toolUse", bj::object{{"toolUseId", *id}, {"name", *name}, {"input", std::move(input)}}}};
  }

  // thinking_blocks (as the gateway returned them) -> reasoningContent.
  static Status reasoning_blocks(const bj::array& in, bj::array* out) {
    for (const bj::value& v : in) {
      const bj::object* b = v.if_object();
      const bj::string* type = b ? string_at(*b, "type") : nullptr;
      if (type && *type == "thinking") {
        const bj::string* text = string_at(*b, "thinking");
        const bj::string* sig = string_at(*b, "signature");
        if (!text || !sig) return bad("thinking_blocks: a thinking block needs its thinking and signature strings");
        out->push_back(bj::object{
            {"reasoningContent", bj::object{{"reasoningText", bj::object{{"text", *text}, {"signature", *sig}}}}}});
      } else if (type && *type == "redacted_thinking") {
        const bj::string* data = string_at(*b, "data");
        if (!data) return bad("thinking_blocks: a redacted_thinking block needs its data string");
        out->push_back(bj::object{{"reasoningContent", bj::object{{"redactedContent", *data}}}});
      } else {
        return bad("thinking_blocks: each must be a thinking or redacted_thinking block");
      }
    }
    return {};
  }

  // Bedrock wants user and assistant turns to alternate: a turn of the same
  // role as the last one is merged into it.
  void add_turn(std::string_view role, bj::array blocks) {
    if (blocks.empty()) return;
    if (!messages_.empty()) {
      bj::object& last = messages_.back().get_object();
      if (last["role"].get_string() == role) {
        bj::array& content = last["content"].get_array();
        for (bj::value& b : blocks) content.push_back(std::move(b));
        return;
      }
    }
    messages_.push_back(bj::object{{"role", role}, {"content", std::move(blocks)}});
  }

  const bool thinking_;
  const bool marks_;
  bj::array system_;
  bj::array messages_;
  bool has_tool_blocks_ = false;
  std::set<std::string> tool_names_;
};

Result<bj::object> inference_config(const bj::object& req) {
  bj::object cfg;
  auto max = int_at(req, "max_completion_tokens");
  if (!max) max = int_at(req, "max_tokens");
  if (max) {
    if (*max < 1 || *max > INT32_MAX) return bad("max_tokens must be a positive integer");
    cfg["maxTokens"] = *max;
  } else if (req.contains("max_completion_tokens") && !req.at("max_completion_tokens").is_null()) {
    return bad("max_completion_tokens must be an integer");
  } else if (req.contains("max_tokens") && !req.at("max_tokens").is_null()) {
    return bad("max_tokens must be an integer");
  }
  if (auto t = number_at(req, "temperature")) cfg["temperature"] = *t;
  if (auto p = number_at(req, "top_p")) cfg["topP"] = *p;
  if (auto it = req.find("stop"); it != req.end() && !it->value().is_null()) {
    bj::array stops;
    if (it->value().is_string()) {
      stops.push_back(it->value());
    } else if (it->value().is_array()) {
      for (const bj::value& s : it->value().get_array()) {
        if (!s.is_string()) return bad("stop must be a string or an array of strings");
        stops.push_back(s);
      }
    } else {
      return bad("stop must be a string or an array of strings");
    }
    if (!stops.empty()) cfg["stopSequences"] = std::move(stops);
  }
  return cfg;
}

bj::object permissive_schema() {
  return bj::object{{"type", "object"}, {"properties", bj::object{}}};
}

// Returns an empty object when no toolConfig is to be sent.
Result<bj::object> tool_config(const bj::object& req, const Builder& builder) {
  bj::array specs;
  if (const bj::array* tools = array_at(req, "tools")) {
    for (const bj::value& t : *tools) {
      const bj::object* to = t.is_object() ? &t.get_object() : nullptr;
      const bj::string* type = to ? string_at(*to, "type") : nullptr;
      if (!type || *type != "function") return bad("only tools of type 'function' are supported");
      const bj::object* fn = object_at(*to, "function");
      const bj::string* name = fn ? string_at(*fn, "name") : nullptr;
      if (!name || name->empty()) return bad("tool function has no name");
      bj::object spec{{"name", *name}};
      if (const bj::string* d = string_at(*fn, "description"); d && !d->empty()) {
        spec["description"] = *d;
      }
      const bj::object* params = object_at(*fn, "parameters");
      spec["inputSchema"] = bj::object{{"json", params ? bj::value(*params) : permissive_schema()}};
      specs.push_back(bj::object{{"toolSpec", std::move(spec)}});
      if (builder.marks() && has_cache_mark(*to)) specs.push_back(cache_point());
    }
  }
  const bool listed = !specs.empty();
  if (!listed && builder.has_tool_blocks()) {
    for (const std::string& name : builder.tool_names()) {
      specs.push_back(bj::object{
          {"toolSpec", bj::object{{"name", name},
                                  {"inputSchema", bj::object{{"json", permissive_schema()}}}}}});
    }
  }

  bj::object choice;
  bool none = false;
  if (auto it = req.find("tool_choice"); it != req.end() && !it->value().is_null()) {
    const bj::value& tc = it->value();
    if (tc.is_string() && tc.get_string() == "auto") {
      choice = bj::object{{"auto", bj::object{}}};
    } else if (tc.is_string() && tc.get_string() == "required") {
      choice = bj::object{{"any", bj::object{}}};
    } else if (tc.is_string() && tc.get_string() == "none") {
      none = true;
    } else if (tc.is_object()) {
      const bj::object* fn = object_at(tc.get_object(), "function");
      const bj::string* name = fn ? string_at(*fn, "name") : nullptr;
      if (!name) return bad("tool_choice object needs function.name");
      choice = bj::object{{"tool", bj::object{{"name", *name}}}};
    } else {
      return bad("tool_choice must be none, auto, required or a function");
    }
    if (!choice.empty() && !listed) return bad("tool_choice given without tools");
  }
  if (specs.empty() || (none && !builder.has_tool_blocks())) return bj::object{};
  bj::object cfg{{"tools", std::move(specs)}};
  if (!choice.empty()) cfg["toolChoice"] = std::move(choice);
  return cfg;
}

// Converse has no JSON mode: ask for it in the system prompt.
Status response_format(const bj::object& req, bj::array* system) {
  const bj::object* rf = object_at(req, "response_format");
  if (!rf) return {};
  const bj::string* type = string_at(*rf, "type");
  if (!type) return bad("response_format has no type");
  if (*type == "text") return {};
  if (*type == "json_object") {
    system->push_back(text_block("Respond with one valid JSON object and nothing else."));
    return {};
  }
  if (*type == "json_schema") {
    const bj::object* js = object_at(*rf, "json_schema");
    const bj::object* schema = js ? object_at(*js, "schema") : nullptr;
    if (!schema) return bad("response_format.json_schema.schema is required");
    system->push_back(text_block(
        "Respond with one valid JSON value and nothing else. It must conform to this JSON "
        "Schema: " +
        bj::serialize(*schema)));
    return {};
  }
  return bad("response_format type '" + std::string(*type) + "' is not supported");
}

}  // namespace

Result<std::string> endpoint(const ModelTarget& target) {
  if (!target.base_url.empty()) {
    std::string base = target.base_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base;
  }
  if (target.region.empty()) return bad("a region is required when no base_url is configured");
  for (char c : target.region) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return bad("invalid region '" + target.region + "'");
    }
  }
  return "https://bedrock-runtime." + target.region + ".amazonaws.com";
}

bool is_claude(std::string_view model_id) {
  return model_id.find("anthropic.") != std::string_view::npos || model_id.find("claude") != std::string_view::npos;
}

bool reasons_at_an_effort(std::string_view model_id) { return model_id.find("nova-2") != std::string_view::npos; }

std::string model_path(std::string_view model_id, std::string_view action) {
  return "/model/" + aws::sigv4::uri_encode(model_id, /*keep_slash=*/false) + "/" +
         std::string(action);
}

Result<bj::object> converse_body(const bj::object& request, std::string_view model_id,
                                 const std::vector<std::string>& betas) {
  if (auto n = int_at(request, "n"); n && *n != 1) return bad("n other than 1 is not supported");
  const bj::array* messages = array_at(request, "messages");
  if (!messages) return bad("messages must be an array");
  // Claude thinks as on Anthropic's API, set through
  // additionalModelRequestFields (thinking, output_config).
  reasoning::Thinking think;
  const bool claude = is_claude(model_id);
  if (claude) {
    auto t = reasoning::thinking(request, model_id);
    if (!t.ok()) return t.status();
    think = std::move(*t);
    if (think.on()) {
      if (Status s = reasoning::thinking_conflicts(request); !s.ok()) return s;
    }
  }
  // Nova 2 reasons at an effort level instead (reasoningConfig).
  std::string effort;
  if (reasons_at_an_effort(model_id)) {
    const bj::value* e = request.if_contains("reasoning_effort");
    if (e && !e->is_null() && *e != "none") {
      if (*e == "minimal" || *e == "low") effort = "low";
      else if (*e == "medium" || *e == "high") effort = std::string(e->get_string());
      else if (*e == "xhigh") effort = "high";  // Nova 2's top
      else return bad("reasoning_effort must be \"none\", \"minimal\", \"low\", \"medium\", \"high\" or \"xhigh\"");
    }
  }
  Builder builder(think.on(), claude);
  for (const bj::value& m : *messages) {
    if (!m.is_object()) return bad("message is not an object");
    if (Status s = builder.add_message(m.get_object()); !s.ok()) return s;
  }
  if (builder.messages().empty()) return bad("at least one user or assistant message is needed");

  bj::object body{{"messages", std::move(builder.messages())}};
  bj::array system = builder.take_system();
  if (Status s = response_format(request, &system); !s.ok()) return s;
  if (!system.empty()) body["system"] = std::move(system);
  auto cfg = inference_config(request);
  if (!cfg.ok()) return cfg.status();
  bj::object extra;
  if (think.on()) {
    auto max = reasoning::max_tokens_with_thinking(request, think, kDefaultAnswerTokens);
    if (!max.ok()) return max.status();
    (*cfg)["maxTokens"] = *max;
    extra["thinking"] = think.object();
  }
  if (!think.effort.empty()) extra["output_config"] = bj::object{{"effort", think.effort}};
  if (!effort.empty()) extra["reasoningConfig"] = bj::object{{"type", "enabled"}, {"maxReasoningEffort", effort}};
  // top_k (Anthropic's, and vLLM's; not in Converse's inferenceConfig): as
  // Claude takes it, and as Nova does; other models have none.
  if (const bj::value* k = request.if_contains("top_k"); k && !k->is_null()) {
    const auto top_k = int_at(request, "top_k");
    if (!top_k || *top_k < 0) return bad("top_k must be a non-negative integer");
    if (claude) extra["top_k"] = *top_k;
    else if (model_id.find("nova") != std::string_view::npos) extra["inferenceConfig"] = bj::object{{"topK", *top_k}};
  }
  // Anthropic's beta flags: those the operator listed for this Claude
  // model (a flag it does not take fails the whole request on Bedrock).
  auto flags = anthropic_beta::of(request);
  if (!flags.ok()) return flags.status();
  if (bj::array allowed = anthropic_beta::allowed_of(*flags, betas); claude && !allowed.empty()) {
    extra["anthropic_beta"] = std::move(allowed);
  }
  if (!extra.empty()) body["additionalModelRequestFields"] = std::move(extra);
  if (!cfg->empty()) body["inferenceConfig"] = std::move(*cfg);
  auto tools = tool_config(request, builder);
  if (!tools.ok()) return tools.status();
  if (!tools->empty()) body["toolConfig"] = std::move(*tools);
  return body;
}

}  // namespace bedrock

Result<UpstreamRequest> BedrockAdapter::build_chat(const bj::object& request,
                                                   const ModelTarget& target, bool stream) const {
  if (target.model.empty()) return invalid_argument("bedrock: the target has no model id");
  auto base = bedrock::endpoint(target);
  if (!base.ok()) return base.status();
  auto body = bedrock::converse_body(request, target.base(), target.anthropic_betas);
  if (!body.ok()) return body.status();
  // The operator's guardrail: on every call, whatever the client sent.
  if (!target.guardrail.id.empty()) {
    // (Traced: the audit record says which policies acted and the text
    // units billed; the trace itself never reaches the client.)
    bj::object guard{{"guardrailIdentifier", target.guardrail.id}, {"guardrailVersion", target.guardrail.version},
                     {"trace", "enabled"}};
    if (stream) guard["streamProcessingMode"] = target.guardrail.stream_mode;
    (*body)["guardrailConfig"] = std::move(guard);
  }
  UpstreamRequest up;
  up.method = "POST";
  up.url = *base + bedrock::model_path(target.model, stream ? "converse-stream" : "converse");
  up.headers = {{"content-type", "application/json"},
                {"accept", stream ? "application/vnd.amazon.eventstream" : "application/json"}};
  up.body = bj::serialize(*body);
  return up;
}

Result<UpstreamRequest> BedrockAdapter::build_count_tokens(const bj::object& request, const ModelTarget& target) const {
  if (target.model.empty()) return invalid_argument("bedrock: the target has no model id");
  auto base = bedrock::endpoint(target);
  if (!base.ok()) return base.status();
  auto body = bedrock::converse_body(request, target.base());
  if (!body.ok()) return body.status();
  bj::object converse;
  for (const char* k : {"messages", "system", "toolConfig"}) {
    if (auto* f = body->if_contains(k)) converse[k] = std::move(*f);
  }
  UpstreamRequest up;
  up.method = "POST";
  // CountTokens takes a foundation model's id, not a profile's.
  up.url = *base + bedrock::model_path(target.base(), "count-tokens");
  up.headers = {{"content-type", "application/json"}, {"accept", "application/json"}};
  up.body = bj::serialize(bj::object{{"input", bj::object{{"converse", std::move(converse)}}}});
  return up;
}

Result<std::int64_t> BedrockAdapter::parse_count_tokens(std::string_view body) const {
  auto v = json::parse(body, {.max_bytes = 1 << 20, .max_depth = 8});
  const bj::value* n = v.ok() && v->is_object() ? v->get_object().if_contains("inputTokens") : nullptr;
  if (!n || !n->is_int64() || n->get_int64() < 0) return Status(Code::kUnavailable, "CountTokens answered no inputTokens");
  return n->get_int64();
}

}  // namespace spectra::ai
