#include "cli/document.h"

#include "cli/yaml_json.h"
#include "common/json_util.h"

namespace spectra::cli {
namespace {

constexpr json::ParseLimits kDocLimits{16u << 20, 64};

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

DocFormat format_for_path(std::string_view path) {
  if (ends_with(path, ".json") || ends_with(path, ".JSON")) return DocFormat::kJson;
  if (ends_with(path, ".yaml") || ends_with(path, ".yml") || ends_with(path, ".YAML") ||
      ends_with(path, ".YML")) {
    return DocFormat::kYaml;
  }
  return DocFormat::kAuto;
}

Result<bj::value> parse_document(std::string_view text, DocFormat format) {
  if (format == DocFormat::kJson) return json::parse(text, kDocLimits);
  if (format == DocFormat::kAuto) {
    auto first = text.find_first_not_of(" \t\r\n");
    if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) {
      if (auto j = json::parse(text, kDocLimits); j.ok()) return j;
    }
  }
  return yaml_to_json(text);
}

Result<ApplyDocument> to_apply_document(bj::value doc) {
  if (!doc.is_object()) {
    return invalid_argument(
        "the document must be a mapping of section names to values, or "
        "{\"config\": {...}}");
  }
  bj::object& top = doc.get_object();
  ApplyDocument out;
  if (bj::value* cfg = top.if_contains("config")) {
    std::string others;
    for (const auto& kv : top) {
      if (kv.key() == "config" || kv.key() == "revision" || kv.key() == "message") continue;
      others += (others.empty() ? "" : ", ") + std::string(kv.key());
    }
    if (!others.empty()) {
      return invalid_argument("the document has a top-level \"config\" key next to other keys (" +
                              others +
                              "); use either {section: value, ...} or {\"config\": {...}}");
    }
    if (!cfg->is_object()) return invalid_argument("\"config\" must be a mapping of sections");
    if (bj::value* m = top.if_contains("message")) {
      if (!m->is_string()) return invalid_argument("\"message\" must be a string");
      out.message = std::string(m->get_string());
    }
    out.sections = std::move(cfg->get_object());
  } else {
    out.sections = std::move(top);
  }
  if (out.sections.empty())
    return invalid_argument("the document names no sections; nothing to apply");
  return out;
}

}  // namespace spectra::cli
