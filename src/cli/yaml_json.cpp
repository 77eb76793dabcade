#include "cli/yaml_json.h"

#include <yaml-cpp/yaml.h>

#include <cassert>
#include <charconv>
#include <cstdint>
#include <limits>

namespace spectra::cli {
namespace {

constexpr std::string_view kCoreTagPrefix = "tag:yaml.org,2002:";

bool is_digits(std::string_view s, bool (*accept)(char)) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!accept(c)) return false;
  }
  return true;
}
bool is_dec(char c) { return c >= '0' && c <= '9'; }
bool is_oct(char c) { return c >= '0' && c <= '7'; }
bool is_hex(char c) { return is_dec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

Status out_of_range(std::string_view s) {
  return invalid_argument("number " + std::string(s) + " does not fit in 64 bits");
}

// `digits` are already validated for `base`.
Result<bj::value> parse_int(std::string_view s, std::string_view digits, int base, bool negative) {
  std::uint64_t mag = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), mag, base);
  if (ec != std::errc() || p != digits.data() + digits.size()) return out_of_range(s);
  constexpr auto kMaxPos = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (negative) {
    if (mag > kMaxPos + 1) return out_of_range(s);
    if (mag == kMaxPos + 1) return bj::value(std::numeric_limits<std::int64_t>::min());
    return bj::value(-static_cast<std::int64_t>(mag));
  }
  if (mag <= kMaxPos) return bj::value(static_cast<std::int64_t>(mag));
  return bj::value(mag);
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool is_core_float(std::string_view s) {
  std::size_t i = 0;
  auto digits = [&] {
    std::size_t start = i;
    while (i < s.size() && is_dec(s[i])) ++i;
    return i - start;
  };
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  } else {
    if (digits() == 0) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

bool is_inf_or_nan(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  return s == ".inf" || s == ".Inf" || s == ".INF" || s == ".nan" || s == ".NaN" || s == ".NAN";
}

struct Converter {
  const YamlLimits& limits;
  std::size_t nodes = 0;

  static Status at(const YAML::Node& n, const std::string& why) {
    const YAML::Mark m = n.Mark();
    if (m.is_null()) return invalid_argument(why);
    return invalid_argument("line " + std::to_string(m.line + 1) + ", column " +
                            std::to_string(m.column + 1) + ": " + why);
  }

  Result<bj::value> scalar(const YAML::Node& n) {
    const std::string& tag = n.Tag();
    const std::string& text = n.Scalar();
    if (tag == "!") return bj::value(bj::string(text));  // quoted or block scalar
    if (tag == "?" || tag.empty()) {
      auto v = resolve_plain_scalar(text);
      if (!v.ok()) return at(n, v.status().message());
      return v;
    }
    if (tag.rfind(kCoreTagPrefix, 0) != 0) return at(n, "unsupported YAML tag " + tag);
    std::string_view kind = std::string_view(tag).substr(kCoreTagPrefix.size());
    if (kind == "str") return bj::value(bj::string(text));
    auto v = resolve_plain_scalar(text);
    bool fits = v.ok() && ((kind == "int" && (v->is_int64() || v->is_uint64())) ||
                           (kind == "float" && v->is_number()) ||
                           (kind == "bool" && v->is_bool()) || (kind == "null" && v->is_null()));
    if (!fits) return at(n, "'" + text + "' is not a valid !!" + std::string(kind));
    if (kind == "float") return bj::value(v->to_number<double>());
    return v;
  }

  Result<bj::value> convert(const YAML::Node& n, std::size_t depth) {
    if (++nodes > limits.max_nodes) {
      return at(n, "document expands to more than " + std::to_string(limits.max_nodes) +
                       " nodes (alias expansion?)");
    }
    if (depth > limits.max_depth) {
      return at(n, "nesting deeper than " + std::to_string(limits.max_depth) + " levels");
    }
    switch (n.Type()) {
      case YAML::NodeType::Null:
        if (n.Tag() == std::string(kCoreTagPrefix) + "str") return bj::value(bj::string());
        return bj::value(nullptr);
      case YAML::NodeType::Scalar:
        return scalar(n);
      case YAML::NodeType::Sequence: {
        bj::array arr;
        arr.reserve(n.size());
        for (const auto& item : n) {
          auto v = convert(item, depth + 1);
          if (!v.ok()) return v;
          arr.push_back(std::move(v).value());
        }
        return bj::value(std::move(arr));
      }
      case YAML::NodeType::Map: {
        bj::object obj;
        for (const auto& kv : n) {
          if (!kv.first.IsScalar()) return at(kv.first, "mapping keys must be plain strings");
          const std::string& key = kv.first.Scalar();
          if (obj.contains(key)) return at(kv.first, "duplicate key '" + key + "'");
          auto v = convert(kv.second, depth + 1);
          if (!v.ok()) return v;
          obj.emplace(key, std::move(v).value());
        }
        return bj::value(std::move(obj));
      }
      case YAML::NodeType::Undefined:
        break;
    }
    return at(n, "undefined YAML node");
  }
};

// YAML 1.1 readers (PyYAML, older tools) type these as booleans; we do not,
// but quoting them keeps our output unambiguous for every reader.
bool is_yaml11_bool(std::string_view s) {
  for (std::string_view w : {"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On",
                             "ON", "off", "Off", "OFF"}) {
    if (s == w) return true;
  }
  return false;
}

bool needs_quotes(const std::string& s) {
  if (is_yaml11_bool(s)) return true;
  auto v = resolve_plain_scalar(s);
  return !v.ok() || !v->is_string();
}

void emit(YAML::Emitter& e, const bj::value& v) {
  switch (v.kind()) {
    case bj::kind::null:
      e << YAML::Null;
      return;
    case bj::kind::bool_:
      e << v.get_bool();
      return;
    case bj::kind::int64:
      e << v.get_int64();
      return;
    case bj::kind::uint64:
      e << v.get_uint64();
      return;
    case bj::kind::double_:
      e << format_double(v.get_double());
      return;
    case bj::kind::string: {
      std::string s(v.get_string());
      if (needs_quotes(s)) e << YAML::DoubleQuoted;
      e << s;
      return;
    }
    case bj::kind::array:
      if (v.get_array().empty()) e << YAML::Flow;
      e << YAML::BeginSeq;
      for (const auto& item : v.get_array()) emit(e, item);
      e << YAML::EndSeq;
      return;
    case bj::kind::object:
      if (v.get_object().empty()) e << YAML::Flow;
      e << YAML::BeginMap;
      for (const auto& kv : v.get_object()) {
        std::string key(kv.key());
        e << YAML::Key;
        if (needs_quotes(key)) e << YAML::DoubleQuoted;
        e << key << YAML::Value;
        emit(e, kv.value());
      }
      e << YAML::EndMap;
      return;
  }
}

}  // namespace

Result<bj::value> resolve_plain_scalar(std::string_view s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return bj::value(nullptr);
  if (s == "true" || s == "True" || s == "TRUE") return bj::value(true);
  if (s == "false" || s == "False" || s == "FALSE") return bj::value(false);
  if (s.size() > 2 && s[0] == '0' && s[1] == 'o' && is_digits(s.substr(2), is_oct)) {
    return parse_int(s, s.substr(2), 8, false);
  }
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x' && is_digits(s.substr(2), is_hex)) {
    return parse_int(s, s.substr(2), 16, false);
  }
  bool sign = s[0] == '-' || s[0] == '+';
  if (is_digits(s.substr(sign ? 1 : 0), is_dec)) {
    return parse_int(s, s.substr(sign ? 1 : 0), 10, s[0] == '-');
  }
  if (is_core_float(s)) {
    std::string_view body = s[0] == '+' ? s.substr(1) : s;
    double d = 0;
    auto [p, ec] = std::from_chars(body.data(), body.data() + body.size(), d);
    if (ec != std::errc() || p != body.data() + body.size()) return out_of_range(s);
    return bj::value(d);
  }
  if (is_inf_or_nan(s)) {
    return invalid_argument(std::string(s) +
                            " cannot be represented in JSON; quote it for a string");
  }
  return bj::value(bj::string(s));
}

Result<bj::value> yaml_to_json(std::string_view text, const YamlLimits& limits) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) return invalid_argument("invalid YAML: " + e.msg);
    return invalid_argument("invalid YAML at line " + std::to_string(e.mark.line + 1) +
                            ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (docs.empty()) return invalid_argument("the YAML document is empty");
  if (docs.size() > 1) {
    return invalid_argument("expected one YAML document, found " + std::to_string(docs.size()));
  }
  Converter c{limits};
  try {
    return c.convert(docs.front(), 0);
  } catch (const YAML::Exception& e) {
    return invalid_argument("invalid YAML: " + e.msg);
  }
}

std::string json_to_yaml(const bj::value& v) {
  YAML::Emitter e;
  e.SetIndent(2);
  emit(e, v);
  assert(e.good() && "the emitter rejected a JSON value");
  std::string out = e.c_str();
  out.push_back('\n');
  return out;
}

std::string format_double(double d) {
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, d);
  assert(ec == std::errc());
  std::string s(buf, p);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // 'n': inf/nan, never in JSON
  return s;
}

}  // namespace spectra::cli
