#include "fakes/fake_bedrock_replies.h"

#include <boost/json/serialize.hpp>
#include <cctype>
#include <cmath>
#include <cstring>

#include "claude_models.h"
#include "common/crypto.h"

namespace spectra::fakes {
namespace {

Status validation(std::string m) { return invalid_argument(std::move(m)); }

const bj::array* array_of(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_array() ? &it->value().get_array() : nullptr;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::string join_words(const std::vector<std::string>& words, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n && i < words.size(); ++i) {
    if (i) out.push_back(' ');
    out += words[i];
  }
  return out;
}

// The padding field Bedrock adds to each event ("p": a run of letters whose
// length hides the token length).
std::string padding(std::size_t n) {
  static constexpr std::string_view kLetters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ";
  return std::string(kLetters.substr(0, 1 + n % kLetters.size()));
}

}  // namespace

std::int64_t count_words(std::string_view text) {
  return static_cast<std::int64_t>(words_of(text).size());
}

Result<BedrockReply> make_reply(const bj::object& req, std::string_view model) {
  const bj::array* messages = array_of(req, "messages");
  if (!messages || messages->empty()) return validation("The messages field is required.");
  BedrockReply reply;
  std::int64_t input = 0;
  // Prompt caching: the prefix walked so far (tools, system, messages, in
  // Bedrock's order) and where its last cache point is.
  std::string prefix;
  int cache_points = 0;
  auto cache_point = [&](const bj::value& cp) -> Status {
    const bj::value* type = cp.is_object() ? cp.get_object().if_contains("type") : nullptr;
    if (!type || *type != "default") return validation("Malformed input request: cachePoint.type must be default");
    if (++cache_points > 4) return validation("The number of cache points in the request exceeds the maximum of 4.");
    if (input >= 1024) reply.cache_prefixes.emplace_back(crypto::sha256_hex(prefix), input);
    return {};
  };
  const bj::object* tool_config = nullptr;
  if (auto it = req.find("toolConfig"); it != req.end() && it->value().is_object()) {
    tool_config = &it->value().get_object();
    if (const bj::array* tools = array_of(*tool_config, "tools")) {
      for (const bj::value& t : *tools) {
        if (const bj::value* cp = t.is_object() ? t.get_object().if_contains("cachePoint") : nullptr) {
          if (Status st = cache_point(*cp); !st.ok()) return st;
        } else {
          prefix += bj::serialize(t);
        }
      }
    }
  }
  if (const bj::array* system = array_of(req, "system")) {
    for (const bj::value& b : *system) {
      if (const bj::value* cp = b.is_object() ? b.get_object().if_contains("cachePoint") : nullptr) {
        if (Status st = cache_point(*cp); !st.ok()) return st;
        continue;
      }
      prefix += bj::serialize(b);
      if (b.is_object() && b.get_object().contains("text") && b.at("text").is_string()) {
        input += count_words(b.at("text").get_string());
      }
    }
  }
  std::string last_user_text;
  std::string last_tool_result;
  bool last_user_has_result = false;
  std::string prev_role;
  for (const bj::value& mv : *messages) {
    if (!mv.is_object()) return validation("Malformed input request: message is not an object");
    const bj::object& m = mv.get_object();
    const bj::value* role = m.if_contains("role");
    const bj::array* content = array_of(m, "content");
    if (!role || !role->is_string() || !content || content->empty()) {
      return validation("Malformed input request: each message needs a role and content");
    }
    const std::string r(role->get_string());
    if (r != "user" && r != "assistant") return validation("Unknown role " + r);
    if (prev_role.empty() && r != "user") {
      return validation(
          "A conversation must start with a user message. Try again with a "
          "conversation that starts with a user message.");
    }
    if (r == prev_role) {
      return validation(
          "A conversation must alternate between user and assistant roles. Make "
          "sure the conversation alternates between user and assistant roles and "
          "try again.");
    }
    prev_role = r;
    std::string text;
    bool has_result = false;
    std::string result_text;
    prefix += r;
    for (const bj::value& bv : *content) {
      const bj::object* b = bv.is_object() ? &bv.get_object() : nullptr;
      if (!b) return validation("Malformed input request: content block is not an object");
      if (const bj::value* cp = b->if_contains("cachePoint")) {
        if (Status st = cache_point(*cp); !st.ok()) return st;
        continue;
      }
      prefix += bj::serialize(bv);
      if (const bj::value* t = b->if_contains("text"); t && t->is_string()) {
        if (words_of(t->get_string()).empty()) {
          return validation(
              "The text field in the ContentBlock object is blank. Add text to "
              "the text field, and try again.");
        }
        input += count_words(t->get_string());
        if (!text.empty()) text.push_back(' ');
        text += std::string(t->get_string());
      } else if (b->contains("toolUse") || b->contains("toolResult")) {
        if (!tool_config) {
          return validation(
              "The toolConfig field must be defined when using toolUse and "
              "toolResult content blocks.");
        }
        if (const bj::value* tr = b->if_contains("toolResult"); tr && tr->is_object()) {
          has_result = true;
          if (const bj::array* rc = array_of(tr->get_object(), "content")) {
            for (const bj::value& c : *rc) {
              if (c.is_object() && c.get_object().contains("text") && c.at("text").is_string()) {
                input += count_words(c.at("text").get_string());
                if (result_text.empty()) result_text = std::string(c.at("text").get_string());
              } else if (c.is_object() && c.get_object().contains("json")) {
                if (result_text.empty()) result_text = bj::serialize(c.at("json"));
              }
            }
          }
        }
      } else if (const bj::value* rc = b->if_contains("reasoningContent")) {
        // Claude's own thinking, sent back: only in assistant turns, its
        // text unchanged (the signature is checked against it).
        if (r != "assistant") return validation("Malformed input request: reasoningContent outside an assistant turn");
        const bj::value* rt = rc->is_object() ? rc->get_object().if_contains("reasoningText") : nullptr;
        if (rt) {
          const bj::value* t = rt->is_object() ? rt->get_object().if_contains("text") : nullptr;
          const bj::value* sig = rt->is_object() ? rt->get_object().if_contains("signature") : nullptr;
          if (!t || !t->is_string() || !sig || !sig->is_string() ||
              sig->get_string() != reasoning_signature(t->get_string())) {
            return validation("The signature of a reasoning block is invalid: it must be passed back unchanged.");
          }
        } else if (!rc->is_object() || !rc->get_object().contains("redactedContent")) {
          return validation("Malformed input request: reasoningContent needs reasoningText or redactedContent");
        }
      } else if (!b->contains("image")) {
        return validation("Malformed input request: unknown content block");
      }
    }
    if (r == "user") {
      last_user_text = text;
      last_user_has_result = has_result;
      last_tool_result = result_text;
    }
  }
  reply.input_tokens = input;

  // additionalModelRequestFields.thinking (Claude): its rules, and the
  // thinking the reply starts with.
  const bj::value* extra = req.if_contains("additionalModelRequestFields");
  const bj::value* thinking = extra && extra->is_object() ? extra->get_object().if_contains("thinking") : nullptr;
  const bool thinks = thinking && thinking->is_object() && thinking->get_object().contains("type") &&
                      (thinking->at("type") == "enabled" || thinking->at("type") == "adaptive");
  const bool on_a_budget = thinks && thinking->at("type") == "enabled";
  if (thinking && model.find("anthropic.") == std::string_view::npos) {
    return validation("The model returned the following errors: Malformed input request: extraneous key [thinking] "
                      "is not permitted, please reformat your input and try again.");
  }
  if (thinks && on_a_budget && thinks_for(model) == Thinks::adaptive) {
    return validation("\"thinking.type.enabled\" is not supported for this model. Use \"thinking.type.adaptive\" and "
                      "\"output_config.effort\" to control thinking behavior.");
  }
  if (thinks && !on_a_budget && thinks_for(model) == Thinks::budget) {
    return validation("adaptive thinking is not supported on this model");
  }
  if (const bj::value* oc = extra && extra->is_object() ? extra->get_object().if_contains("output_config") : nullptr) {
    const bj::value* effort = oc->is_object() ? oc->get_object().if_contains("effort") : nullptr;
    if (!effort || !(*effort == "low" || *effort == "medium" || *effort == "high" || *effort == "max")) {
      return validation("output_config.effort: must be low, medium, high or max");
    }
  }
  // anthropic_beta (Claude): each flag one the model takes on Bedrock; the
  // 1M-token context window is one of them.
  std::int64_t context_window = kClaudeContextWindow;
  if (const bj::value* betas = extra && extra->is_object() ? extra->get_object().if_contains("anthropic_beta") : nullptr) {
    if (model.find("anthropic.") == std::string_view::npos) {
      return validation("The model returned the following errors: Malformed input request: extraneous key "
                        "[anthropic_beta] is not permitted, please reformat your input and try again.");
    }
    if (!betas->is_array()) return validation("anthropic_beta: Input should be a valid list");
    for (const bj::value& flag : betas->get_array()) {
      if (!flag.is_string() || !takes_beta(model, flag.get_string())) return validation("invalid beta flag");
      if (flag.get_string() == kContext1m) context_window = kClaudeLongContextWindow;
    }
  }
  if (model.find("anthropic.") != std::string_view::npos && input > context_window) {
    return validation("Input is too long for requested model.");
  }
  // reasoningConfig (Nova 2): an effort of low, medium or high; the reply's
  // reasoning is redacted, as Nova 2 Lite's is.
  const bj::value* rc = extra && extra->is_object() ? extra->get_object().if_contains("reasoningConfig") : nullptr;
  if (rc) {
    const bj::value* effort = rc->is_object() ? rc->get_object().if_contains("maxReasoningEffort") : nullptr;
    if (!effort || !(*effort == "low" || *effort == "medium" || *effort == "high")) {
      return validation("reasoningConfig.maxReasoningEffort: must be low, medium or high");
    }
    reply.reasoning = "[REDACTED]";
  }
  if (thinks) {
    const bj::value* cfg = req.if_contains("inferenceConfig");
    const bj::object* inference = cfg && cfg->is_object() ? &cfg->get_object() : nullptr;
    if (on_a_budget) {
      const bj::value* budget = thinking->get_object().if_contains("budget_tokens");
      if (!budget || !budget->is_int64() || budget->get_int64() < 1024) {
        return validation("thinking.budget_tokens: must be an integer of at least 1024");
      }
      const bj::value* max = inference ? inference->if_contains("maxTokens") : nullptr;
      if (max && max->is_int64() && max->get_int64() <= budget->get_int64()) {
        return validation("max_tokens must be greater than thinking.budget_tokens");
      }
    } else if (thinking->get_object().contains("budget_tokens")) {
      return validation("thinking.adaptive.budget_tokens: Extra inputs are not permitted");
    }
    if (const bj::value* t = inference ? inference->if_contains("temperature") : nullptr; t && t->to_number<double>() != 1) {
      return validation("temperature may only be set to 1 when thinking is enabled");
    }
    // The assistant turn whose tool calls the last user turn answers must
    // start with its thinking.
    for (std::size_t i = messages->size(); i-- > 0;) {
      const bj::object& m = messages->at(i).get_object();
      if (m.at("role") != "assistant") continue;
      const bj::array& content = m.at("content").get_array();
      bool calls = false;
      for (const bj::value& b : content) calls = calls || b.get_object().contains("toolUse");
      if (calls && !content.front().get_object().contains("reasoningContent")) {
        return validation("Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is enabled, "
                          "a final `assistant` message must start with a thinking block.");
      }
      break;
    }
    reply.reasoning = "Thinking about: " + (last_user_has_result ? last_tool_result : last_user_text);
    reply.reasoning_signature = reasoning_signature(reply.reasoning);
  }

  const bj::array* tools = tool_config ? array_of(*tool_config, "tools") : nullptr;
  if (last_user_has_result) {
    reply.text = "Tool result received: " + last_tool_result;
  } else if (tools && !tools->empty() &&
             lower(last_user_text).find("weather") != std::string::npos) {
    std::string name;
    for (const bj::value& t : *tools) {
      const bj::value* spec = t.is_object() ? t.get_object().if_contains("toolSpec") : nullptr;
      const bj::value* n =
          spec && spec->is_object() ? spec->get_object().if_contains("name") : nullptr;
      if (!n || !n->is_string()) continue;
      if (name.empty()) name = std::string(n->get_string());
      if (lower(n->get_string()).find("weather") != std::string::npos) {
        name = std::string(n->get_string());
        break;
      }
    }
    if (name.empty()) return validation("Malformed input request: toolSpec without a name");
    auto words = words_of(last_user_text);
    std::string location = words.empty() ? "nowhere" : words.back();
    while (!location.empty() && std::ispunct(static_cast<unsigned char>(location.back()))) {
      location.pop_back();
    }
    reply.text = "Checking the weather.";
    reply.tool = true;
    reply.tool_name = name;
    reply.tool_use_id = "tooluse_" + crypto::sha256_hex(last_user_text).substr(0, 22);
    reply.tool_input = bj::object{{"location", location}};
    reply.stop_reason = "tool_use";
  } else {
    reply.text = "You said: " + last_user_text;
  }

  if (!reply.tool) {
    reply.stop_reason = "end_turn";
    const bj::value* cfg = req.if_contains("inferenceConfig");
    const bj::object* inference = cfg && cfg->is_object() ? &cfg->get_object() : nullptr;
    if (const bj::array* stops = inference ? array_of(*inference, "stopSequences") : nullptr) {
      std::size_t cut = std::string::npos;
      for (const bj::value& s : *stops) {
        if (!s.is_string() || s.get_string().empty()) continue;
        cut = std::min(cut, reply.text.find(std::string_view(s.get_string())));
      }
      if (cut != std::string::npos) {
        reply.text.resize(cut);
        while (!reply.text.empty() && std::isspace(static_cast<unsigned char>(reply.text.back()))) {
          reply.text.pop_back();
        }
        reply.stop_reason = "stop_sequence";
      }
    }
    const bj::value* max = inference ? inference->if_contains("maxTokens") : nullptr;
    if (max && max->is_int64()) {
      auto words = words_of(reply.text);
      if (max->get_int64() >= 0 && static_cast<std::size_t>(max->get_int64()) < words.size()) {
        reply.text = join_words(words, static_cast<std::size_t>(max->get_int64()));
        reply.stop_reason = "max_tokens";
      }
    }
  }
  reply.output_tokens = count_words(reply.text) + count_words(reply.reasoning);
  if (reply.tool) reply.output_tokens += count_words(bj::serialize(reply.tool_input));
  return reply;
}

Status apply_guardrail(const bj::object& req, bool stream,
                       const std::map<std::string, FakeBedrockOptions::Guardrail>& guardrails, BedrockReply& reply) {
  const bj::value* g = req.if_contains("guardrailConfig");
  if (!g) return {};
  const bj::object* config = g->if_object();
  const bj::value* id = config ? config->if_contains("guardrailIdentifier") : nullptr;
  const bj::value* version = config ? config->if_contains("guardrailVersion") : nullptr;
  if (!id || !id->is_string() || !version || !version->is_string()) {
    return validation("guardrailConfig needs guardrailIdentifier and guardrailVersion");
  }
  for (const auto& [key, value] : *config) {
    const bool known = key == "guardrailIdentifier" || key == "guardrailVersion" || key == "trace" ||
                       (stream && key == "streamProcessingMode");
    if (!known) return validation("Malformed input request: extraneous key [" + std::string(key) + "] is not permitted");
  }
  if (const bj::value* mode = config->if_contains("streamProcessingMode"); mode && !(*mode == "sync" || *mode == "async")) {
    return validation("guardrailConfig.streamProcessingMode: must be sync or async");
  }
  auto it = guardrails.find(std::string(id->get_string()) + ":" + std::string(version->get_string()));
  if (it == guardrails.end()) {
    return validation("The guardrail identifier or version provided in the request does not exist.");
  }
  // Every user turn's text, as the guardrail assesses the input.
  std::string input;
  static const bj::array kNone;
  const bj::array* messages = array_of(req, "messages");
  for (const bj::value& m : messages ? *messages : kNone) {
    if (!m.is_object() || m.at("role") != "user" || !m.at("content").is_array()) continue;
    for (const bj::value& b : m.at("content").get_array()) {
      if (b.is_object() && b.get_object().contains("text") && b.at("text").is_string()) {
        input += lower(b.at("text").get_string()) + "\n";
      }
    }
  }
  const std::string model_output = reply.text;
  bj::array matched;
  for (const std::string& word : it->second.blocked_words) {
    if (input.find(lower(word)) == std::string::npos) continue;
    matched.push_back(bj::object{{"match", word}, {"action", "BLOCKED"}, {"detected", true}});
    reply.text = it->second.blocked_message;
    reply.reasoning.clear();
    reply.reasoning_signature.clear();
    reply.tool = false;
    reply.stop_reason = "guardrail_intervened";
    reply.output_tokens = count_words(reply.text);
    break;
  }
  const bj::value* trace = config->if_contains("trace");
  if (!trace || !(*trace == "enabled" || *trace == "enabled_full")) return {};
  // Its word filter is its one policy: billed one unit per 1,000 characters.
  auto metrics = [](std::size_t chars) {
    const std::int64_t units = static_cast<std::int64_t>((chars + 999) / 1000);
    return bj::object{
        {"guardrailProcessingLatency", 12},
        {"usage", bj::object{{"topicPolicyUnits", 0}, {"contentPolicyUnits", 0}, {"wordPolicyUnits", units},
                             {"sensitiveInformationPolicyUnits", 0}, {"sensitiveInformationPolicyFreeUnits", units},
                             {"contextualGroundingPolicyUnits", 0}}},
        {"guardrailCoverage", bj::object{{"textCharacters", bj::object{{"guarded", chars}, {"total", chars}}}}}};
  };
  bj::object in{{"invocationMetrics", metrics(input.size())}};
  if (!matched.empty()) in["wordPolicy"] = bj::object{{"customWords", std::move(matched)}};
  const std::string guard_id(id->get_string());
  bj::object guardrail{{"inputAssessment", bj::object{{guard_id, std::move(in)}}}};
  if (reply.stop_reason == "guardrail_intervened") {
    guardrail["modelOutput"] = bj::array{bj::value(model_output)};  // what the model said, never shown
  } else {
    guardrail["outputAssessments"] =
        bj::object{{guard_id, bj::array{bj::object{{"invocationMetrics", metrics(reply.text.size())}}}}};
  }
  reply.trace = bj::object{{"guardrail", std::move(guardrail)}};
  return {};
}

void apply_prompt_cache(BedrockReply& reply, std::set<std::string>& memory, std::string_view model) {
  if (reply.cache_prefixes.empty()) return;
  for (const auto& [key, tokens] : reply.cache_prefixes) {
    if (memory.count(key + "\n" + std::string(model))) reply.cache_read_tokens = tokens;
  }
  reply.cache_write_tokens = reply.cache_prefixes.back().second - reply.cache_read_tokens;
  for (const auto& [key, tokens] : reply.cache_prefixes) memory.insert(key + "\n" + std::string(model));
  reply.input_tokens -= reply.cache_read_tokens + reply.cache_write_tokens;
}

namespace {

bj::object usage_of(const BedrockReply& reply) {
  bj::object u{{"inputTokens", reply.input_tokens},
               {"outputTokens", reply.output_tokens},
               {"totalTokens", reply.input_tokens + reply.cache_read_tokens + reply.cache_write_tokens + reply.output_tokens}};
  if (reply.cache_read_tokens || reply.cache_write_tokens) {
    u["cacheReadInputTokens"] = reply.cache_read_tokens;
    u["cacheWriteInputTokens"] = reply.cache_write_tokens;
  }
  return u;
}

}  // namespace

std::string reasoning_signature(std::string_view text) {
  return "bedrock-sig-" + crypto::sha256_hex(text).substr(0, 16);
}

bj::object converse_response(const BedrockReply& reply) {
  bj::array content;
  if (!reply.reasoning.empty()) {
    bj::object text{{"text", reply.reasoning}};
    if (!reply.reasoning_signature.empty()) text["signature"] = reply.reasoning_signature;  // (Nova's has none)
    content.push_back(bj::object{{"reasoningContent", bj::object{{"reasoningText", std::move(text)}}}});
  }
  if (!reply.text.empty()) content.push_back(bj::object{{"text", reply.text}});
  if (reply.tool) {
    content.push_back(bj::object{{"toolUse", bj::object{{"toolUseId", reply.tool_use_id},
                                                        {"name", reply.tool_name},
                                                        {"input", reply.tool_input}}}});
  }
  bj::object out{
      {"output",
       bj::object{{"message", bj::object{{"role", "assistant"}, {"content", std::move(content)}}}}},
      {"stopReason", reply.stop_reason},
      {"usage", usage_of(reply)},
      {"metrics", bj::object{{"latencyMs", 1}}}};
  if (!reply.trace.empty()) out["trace"] = reply.trace;
  return out;
}

std::vector<StreamEvent> stream_events(const BedrockReply& reply) {
  std::vector<StreamEvent> out;
  auto add = [&out](std::string type, bj::object payload, bool delta = false) {
    payload["p"] = padding(out.size() * 7);
    out.push_back({std::move(type), bj::serialize(payload), delta});
  };
  add("messageStart", bj::object{{"role", "assistant"}});
  int block = 0;
  if (!reply.reasoning.empty()) {
    auto words = words_of(reply.reasoning);
    for (std::size_t i = 0; i < words.size(); ++i) {
      add("contentBlockDelta",
          bj::object{{"contentBlockIndex", block},
                     {"delta", bj::object{{"reasoningContent", bj::object{{"text", (i ? " " : "") + words[i]}}}}}},
          true);
    }
    if (!reply.reasoning_signature.empty()) {
      add("contentBlockDelta", bj::object{{"contentBlockIndex", block},
                                          {"delta", bj::object{{"reasoningContent", bj::object{{"signature", reply.reasoning_signature}}}}}});
    }
    add("contentBlockStop", bj::object{{"contentBlockIndex", block}});
    ++block;
  }
  if (!reply.text.empty()) {
    auto words = words_of(reply.text);
    for (std::size_t i = 0; i < words.size(); ++i) {
      std::string piece = (i ? " " : "") + words[i];
      add("contentBlockDelta",
          bj::object{{"contentBlockIndex", block}, {"delta", bj::object{{"text", piece}}}}, true);
    }
    add("contentBlockStop", bj::object{{"contentBlockIndex", block}});
    ++block;
  }
  if (reply.tool) {
    add("contentBlockStart",
        bj::object{{"contentBlockIndex", block},
                   {"start", bj::object{{"toolUse", bj::object{{"toolUseId", reply.tool_use_id},
                                                               {"name", reply.tool_name}}}}}});
    const std::string input = bj::serialize(reply.tool_input);
    const std::size_t third = input.size() / 3;
    for (std::string piece :
         {input.substr(0, third), input.substr(third, third), input.substr(2 * third)}) {
      add("contentBlockDelta",
          bj::object{{"contentBlockIndex", block},
                     {"delta", bj::object{{"toolUse", bj::object{{"input", piece}}}}}},
          true);
    }
    add("contentBlockStop", bj::object{{"contentBlockIndex", block}});
  }
  add("messageStop", bj::object{{"stopReason", reply.stop_reason}});
  bj::object metadata{{"usage", usage_of(reply)}, {"metrics", bj::object{{"latencyMs", 1}}}};
  if (!reply.trace.empty()) metadata["trace"] = reply.trace;
  add("metadata", std::move(metadata));
  return out;
}

std::vector<double> titan_vector(std::string_view text, std::size_t dims) {
  std::vector<double> v;
  v.reserve(dims);
  std::string seed(text);
  while (v.size() < dims) {
    const crypto::Sha256Digest d = crypto::sha256(seed);
    for (std::size_t i = 0; i + 1 < d.size() && v.size() < dims; i += 2) {
      const int raw = (d[i] << 8) | d[i + 1];
      v.push_back(static_cast<double>(raw) / 32767.5 - 1.0);
    }
    seed.assign(reinterpret_cast<const char*>(d.data()), d.size());
  }
  double norm = 0;
  for (double x : v) norm += x * x;
  norm = std::sqrt(norm);
  if (norm > 0) {
    for (double& x : v) x /= norm;
  }
  return v;
}

}  // namespace spectra::fakes
