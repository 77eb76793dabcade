#include "ai/anthropic_messages.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <string>

namespace spectra::ai::anthropic {

namespace {

std::string at(std::string_view base, std::size_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

Status bad(std::string_view where, std::string_view why) {
  return invalid_argument(std::string(where) + ": " + std::string(why));
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

void copy_cache_control(const bj::object& from, bj::object& to) {
  if (const bj::value* cc = from.if_contains("cache_control"); cc && cc->is_object()) {
    to["cache_control"] = *cc;
  }
}

bj::object text_block(std::string_view text) {
  return bj::object{{"type", "text"}, {"text", text}};
}

bool is_plain_text_block(const bj::value& v) {
  const bj::object& o = v.as_object();
  return o.size() == 2 && o.at("type") == "text" && o.contains("text");
}

// Content that may only hold text: a string, or an array of text parts (the
// shape OpenAI allows for system, developer and tool messages). Empty texts
// are dropped: Anthropic refuses empty text blocks.
Status text_blocks(const bj::value* content, std::string_view where, bj::array* out) {
  if (content == nullptr || content->is_null()) return {};
  if (content->is_string()) {
    if (!content->get_string().empty()) out->push_back(text_block(content->get_string()));
    return {};
  }
  if (!content->is_array()) return bad(where, "must be a string or an array of text parts");
  const bj::array& parts = content->get_array();
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string part_where = at(where, i);
    const bj::object* part = parts[i].if_object();
    const bj::value* type = part ? part->if_contains("type") : nullptr;
    const bj::value* text = part ? part->if_contains("text") : nullptr;
    if (!part || !type || *type != "text" || !text || !text->is_string()) {
      return bad(part_where, "only text parts {\"type\":\"text\",\"text\":...} are allowed here");
    }
    if (text->get_string().empty()) continue;
    bj::object block = text_block(text->get_string());
    copy_cache_control(*part, block);
    out->push_back(std::move(block));
  }
  return {};
}

Result<bj::object> image_block(const bj::object& part, std::string_view where) {
  const bj::value* image_url = part.if_contains("image_url");
  const bj::value* url = nullptr;
  if (image_url && image_url->is_string())
    url = image_url;  // lenient: some clients send a bare string
  if (image_url && image_url->is_object()) url = image_url->get_object().if_contains("url");
  const std::string url_where = std::string(where) + ".image_url.url";
  if (!url || !url->is_string()) return bad(url_where, "must be a string");
  std::string_view u = url->get_string();
  bj::object source;
  if (starts_with_ci(u, "data:")) {
    DataUrl d;
    if (!parse_data_url(u, &d)) {
      return bad(url_where, "a data: URL must have the form data:<media type>;base64,<data>");
    }
    std::string media(d.media_type);
    std::transform(media.begin(), media.end(), media.begin(), [](char c) {
      return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    });
    if (media == "image/jpg") media = "image/jpeg";
    if (media != "image/jpeg" && media != "image/png" && media != "image/gif" &&
        media != "image/webp") {
      return bad(url_where,
                 "image type '" + media +
                     "' is not supported (image/jpeg, image/png, image/gif, image/webp)");
    }
    source = bj::object{{"type", "base64"}, {"media_type", media}, {"data", d.data}};
  } else if (starts_with_ci(u, "https://") || starts_with_ci(u, "http://")) {
    source = bj::object{{"type", "url"}, {"url", u}};
  } else {
    return bad(url_where, "must be an http(s) URL or a base64 data: URL");
  }
  bj::object block{{"type", "image"}, {"source", std::move(source)}};
  copy_cache_control(part, block);
  return block;
}

Result<bj::object> file_block(const bj::object& part, std::string_view where) {
  const bj::value* file = part.if_contains("file");
  if (!file || !file->is_object()) return bad(std::string(where) + ".file", "must be an object");
  const bj::object& f = file->get_object();
  if (f.contains("file_id")) {
    return bad(
        std::string(where) + ".file.file_id",
        "uploaded file references cannot be sent to Anthropic; inline the file as file_data");
  }
  const bj::value* data = f.if_contains("file_data");
  const std::string data_where = std::string(where) + ".file.file_data";
  DataUrl d;
  if (!data || !data->is_string() || !parse_data_url(data->get_string(), &d)) {
    return bad(data_where, "must be a base64 data: URL");
  }
  if (d.media_type != "application/pdf") {
    return bad(data_where, "only application/pdf documents are supported");
  }
  bj::object block{
      {"type", "document"},
      {"source",
       bj::object{{"type", "base64"}, {"media_type", "application/pdf"}, {"data", d.data}}}};
  copy_cache_control(part, block);
  return block;
}

// Content of a user or assistant message -> blocks appended to *out.
Status content_blocks(const bj::value* content, std::string_view where, bj::array* out) {
  if (content == nullptr || content->is_null()) return {};
  if (content->is_string()) {
    if (!content->get_string().empty()) out->push_back(text_block(content->get_string()));
    return {};
  }
  if (!content->is_array()) return bad(where, "must be a string, an array of parts, or null");
  const bj::array& parts = content->get_array();
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string part_where = at(where, i);
    const bj::object* part = parts[i].if_object();
    if (!part) return bad(part_where, "must be an object");
    auto block = translate_content_part(*part, part_where);
    if (!block.ok()) return block.status();
    // An empty text part translates to nothing (Anthropic refuses empty text).
    if (block->empty()) continue;
    out->push_back(std::move(*block));
  }
  return {};
}

Status tool_use_blocks(const bj::value& tool_calls, std::string_view where, bj::array* out) {
  if (tool_calls.is_null()) return {};
  if (!tool_calls.is_array()) return bad(where, "must be an array");
  const bj::array& calls = tool_calls.get_array();
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const std::string call_where = at(where, i);
    const bj::object* call = calls[i].if_object();
    if (!call) return bad(call_where, "must be an object");
    const bj::value* type = call->if_contains("type");
    if (type && *type != "function")
      return bad(call_where + ".type", "only \"function\" is supported");
    const bj::value* id = call->if_contains("id");
    if (!id || !id->is_string() || id->get_string().empty()) {
      return bad(call_where + ".id", "must be a non-empty string");
    }
    const bj::value* fn = call->if_contains("function");
    if (!fn || !fn->is_object()) return bad(call_where + ".function", "must be an object");
    const bj::value* name = fn->get_object().if_contains("name");
    if (!name || !name->is_string() || name->get_string().empty()) {
      return bad(call_where + ".function.name", "must be a non-empty string");
    }
    const bj::value* args = fn->get_object().if_contains("arguments");
    bj::value input = bj::object{};
    const std::string args_where = call_where + ".function.arguments";
    if (args && args->is_string() && !args->get_string().empty()) {
      boost::system::error_code ec;
      input = bj::parse(args->get_string(), ec);
      if (ec) return bad(args_where, "is not valid JSON (" + ec.message() + ")");
    } else if (args && args->is_object()) {
      input = *args;  // lenient: arguments already decoded
    } else if (args && !args->is_null() && !args->is_string()) {
      return bad(args_where, "must be a JSON string");
    }
    if (!input.is_object()) {
      return bad(args_where, "must encode a JSON object (Anthropic tool input is an object)");
    }
    out->push_back(bj::object{{"type", "tool_use"},
                              {"id", id->get_string()},
                              {"name", name->get_string()},
                              {"input", std::move(input)}});
  }
  return {};
}

Result<bj::object> tool_result_block(const bj::object& msg, std::string_view where) {
  const bj::value* id = msg.if_contains("tool_call_id");
  if (!id || !id->is_string() || id->get_string().empty()) {
    return bad(std::string(where) + ".tool_call_id", "must be a non-empty string");
  }
  bj::object block{{"type", "tool_result"}, {"tool_use_id", id->get_string()}};
  const bj::value* content = msg.if_contains("content");
  if (content && content->is_string()) {
    if (!content->get_string().empty()) block["content"] = content->get_string();
  } else {
    bj::array parts;
    Status s = text_blocks(content, std::string(where) + ".content", &parts);
    if (!s.ok()) return s;
    if (!parts.empty()) block["content"] = std::move(parts);
  }
  return block;
}

struct Turn {
  std::string role;  // user | assistant
  bj::array blocks;
};

void append_turn(std::vector<Turn>* turns, std::string_view role, bj::array&& blocks) {
  if (blocks.empty()) return;
  if (!turns->empty() && turns->back().role == role) {
    for (auto& b : blocks) turns->back().blocks.push_back(std::move(b));
    return;
  }
  turns->push_back(Turn{std::string(role), std::move(blocks)});
}

}  // namespace

bool parse_data_url(std::string_view url, DataUrl* out) {
  if (!starts_with_ci(url, "data:")) return false;
  std::string_view rest = url.substr(5);
  std::size_t comma = rest.find(',');
  if (comma == std::string_view::npos) return false;
  std::string_view header = rest.substr(0, comma);
  std::string_view data = rest.substr(comma + 1);
  std::size_t semi = header.find(';');
  if (semi == std::string_view::npos || semi == 0) return false;
  std::string_view media = header.substr(0, semi);
  bool base64 = false;
  std::string_view params = header.substr(semi + 1);
  while (!params.empty()) {
    std::size_t next = params.find(';');
    std::string_view p = params.substr(0, next);
    if (p == "base64") base64 = true;
    params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
  }
  if (!base64 || data.empty()) return false;
  out->media_type = media;
  out->data = data;
  return true;
}

Result<bj::object> translate_content_part(const bj::object& part, std::string_view where) {
  const bj::value* type = part.if_contains("type");
  if (!type || !type->is_string()) return bad(std::string(where) + ".type", "must be a string");
  const bj::string& t = type->get_string();
  if (t == "text" || t == "refusal") {
    const bj::value* text = part.if_contains(t == "text" ? "text" : "refusal");
    if (!text || !text->is_string())
      return bad(std::string(where) + "." + std::string(t), "must be a string");
    if (text->get_string().empty()) return bj::object{};
    bj::object block = text_block(text->get_string());
    copy_cache_control(part, block);
    return block;
  }
  if (t == "image_url") return image_block(part, where);
  if (t == "file") return file_block(part, where);
  if (t == "input_audio") return bad(where, "audio input is not supported by Anthropic models");
  return bad(std::string(where) + ".type",
             "unsupported content part type '" + std::string(t) + "'");
}

namespace {

// An assistant message's thinking_blocks -> Anthropic thinking and
// redacted_thinking blocks, unchanged (their signatures are verified).
Status thinking_blocks(const bj::value& v, const std::string& where, bj::array* out) {
  if (v.is_null()) return {};
  if (!v.is_array()) return bad(where, "must be an array");
  for (std::size_t i = 0; i < v.get_array().size(); ++i) {
    const std::string at_i = where + "[" + std::to_string(i) + "]";
    const bj::object* b = v.get_array()[i].if_object();
    const bj::value* type = b ? b->if_contains("type") : nullptr;
    if (type && *type == "thinking") {
      const bj::value* text = b->if_contains("thinking");
      const bj::value* sig = b->if_contains("signature");
      if (!text || !text->is_string() || !sig || !sig->is_string()) {
        return bad(at_i, "a thinking block needs its thinking and signature strings");
      }
      out->push_back(bj::object{{"type", "thinking"}, {"thinking", *text}, {"signature", *sig}});
    } else if (type && *type == "redacted_thinking") {
      const bj::value* data = b->if_contains("data");
      if (!data || !data->is_string()) return bad(at_i, "a redacted_thinking block needs its data string");
      out->push_back(bj::object{{"type", "redacted_thinking"}, {"data", *data}});
    } else {
      return bad(at_i + ".type", "must be \"thinking\" or \"redacted_thinking\"");
    }
  }
  return {};
}

}  // namespace

Result<TranslatedMessages> translate_messages(const bj::array& messages, bool thinking) {
  TranslatedMessages out;
  std::vector<Turn> turns;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const std::string where = at("messages", i);
    const bj::object* msg = messages[i].if_object();
    if (!msg) return bad(where, "must be an object");
    const bj::value* role_v = msg->if_contains("role");
    if (!role_v || !role_v->is_string()) return bad(where + ".role", "must be a string");
    const bj::string& role = role_v->get_string();
    const bj::value* content = msg->if_contains("content");
    if (role == "system" || role == "developer") {
      Status s = text_blocks(content, where + ".content", &out.system);
      if (!s.ok()) return s;
    } else if (role == "user") {
      if (!content || content->is_null()) return bad(where + ".content", "is required");
      bj::array blocks;
      Status s = content_blocks(content, where + ".content", &blocks);
      if (!s.ok()) return s;
      append_turn(&turns, "user", std::move(blocks));
    } else if (role == "assistant") {
      if (const bj::value* fc = msg->if_contains("function_call"); fc && !fc->is_null()) {
        return bad(where + ".function_call",
                   "the legacy function_call is not supported; use tool_calls");
      }
      bj::array blocks;
      if (const bj::value* tb = msg->if_contains("thinking_blocks"); tb && thinking) {
        if (Status st = thinking_blocks(*tb, where + ".thinking_blocks", &blocks); !st.ok()) return st;
      }
      Status s = content_blocks(content, where + ".content", &blocks);
      if (!s.ok()) return s;
      if (const bj::value* calls = msg->if_contains("tool_calls")) {
        s = tool_use_blocks(*calls, where + ".tool_calls", &blocks);
        if (!s.ok()) return s;
      }
      append_turn(&turns, "assistant", std::move(blocks));
    } else if (role == "tool") {
      auto block = tool_result_block(*msg, where);
      if (!block.ok()) return block.status();
      bj::array blocks;
      blocks.push_back(std::move(*block));
      append_turn(&turns, "user", std::move(blocks));
    } else if (role == "function") {
      return bad(where + ".role",
                 "the legacy \"function\" role is not supported; use tool messages");
    } else {
      return bad(where + ".role", "unknown role '" + std::string(role) + "'");
    }
  }
  if (turns.empty()) {
    return invalid_argument(
        "messages: at least one non-empty user or assistant message is required");
  }
  for (Turn& t : turns) {
    if (t.role == "user") {
      // Anthropic wants a user turn's tool_result blocks before anything else.
      std::stable_partition(t.blocks.begin(), t.blocks.end(), [](const bj::value& b) {
        return b.as_object().at("type") == "tool_result";
      });
    }
    bj::object m{{"role", t.role}};
    if (t.blocks.size() == 1 && is_plain_text_block(t.blocks[0])) {
      m["content"] = t.blocks[0].as_object().at("text");
    } else {
      m["content"] = std::move(t.blocks);
    }
    out.messages.push_back(std::move(m));
  }
  return out;
}

}  // namespace spectra::ai::anthropic
