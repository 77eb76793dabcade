#include "config/schema.h"

#include <arpa/inet.h>

#include <boost/json/serialize.hpp>

#include <cctype>
#include <cmath>
#include <set>

#include "common/json_util.h"
#include "common/time_util.h"

namespace spectra::config {
namespace {

const char* type_name(Type t) {
  switch (t) {
    case Type::kObject: return "object";
    case Type::kArray: return "array";
    case Type::kString: return "string";
    case Type::kInteger: return "integer";
    case Type::kNumber: return "number";
    case Type::kBoolean: return "boolean";
  }
  return "?";
}

const char* kind_name(const bj::value& v) {
  switch (v.kind()) {
    case bj::kind::object: return "an object";
    case bj::kind::array: return "an array";
    case bj::kind::string: return "a string";
    case bj::kind::bool_: return "a boolean";
    case bj::kind::null: return "null";
    case bj::kind::double_: return "a number";
    default: return "an integer";
  }
}

bj::value type_default(const Node& n) {
  switch (n.type) {
    case Type::kObject: return bj::object();
    case Type::kArray: return bj::array();
    case Type::kString: return "";
    case Type::kBoolean: return false;
    case Type::kInteger: return n.minimum ? static_cast<std::int64_t>(*n.minimum) : 0;
    case Type::kNumber: return n.minimum ? *n.minimum : 0.0;
  }
  return nullptr;
}

bool parse_ipv4(std::string_view s) {
  in_addr a{};
  std::string z(s);
  return inet_pton(AF_INET, z.c_str(), &a) == 1;
}

bool parse_ipv6(std::string_view s) {
  in6_addr a{};
  std::string z(s);
  return inet_pton(AF_INET6, z.c_str(), &a) == 1;
}

bool parse_uint(std::string_view s, unsigned long max, unsigned long* out) {
  if (s.empty() || s.size() > 6) return false;
  unsigned long v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + static_cast<unsigned long>(c - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

bool cidr(std::string_view s, bool v4_only, std::string* why) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) {
    *why = "must be a CIDR block such as 10.0.0.0/16";
    return false;
  }
  std::string_view addr = s.substr(0, slash);
  bool v4 = parse_ipv4(addr);
  bool v6 = !v4 && !v4_only && parse_ipv6(addr);
  unsigned long bits = 0;
  if ((!v4 && !v6) || !parse_uint(s.substr(slash + 1), v4 ? 32 : 128, &bits)) {
    *why = v4_only ? "must be an IPv4 CIDR block such as 10.0.0.0/16"
                   : "must be a CIDR block such as 10.0.0.0/16 or fd00::/8";
    return false;
  }
  return true;
}

bool hostname(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t label = 0;
  char prev = '.';
  for (char c : s) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-') {
      if (label == 0 && c == '-') return false;
      if (++label > 63) return false;
    } else {
      return false;
    }
    prev = c;
  }
  return prev != '-' && prev != '.';
}

}  // namespace

const Field* Node::field(std::string_view name) const {
  for (const auto& f : fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

Builder& Builder::add(std::string name, NodePtr node, bool req, std::optional<bj::value> def) {
  n_->fields.push_back({std::move(name), std::move(node), req, std::move(def)});
  return *this;
}

Builder str() { return Builder(Type::kString); }
Builder integer(double lo, double hi) { return std::move(Builder(Type::kInteger).range(lo, hi)); }
Builder number(double lo, double hi) { return std::move(Builder(Type::kNumber).range(lo, hi)); }
Builder boolean() { return Builder(Type::kBoolean); }
Builder array(NodePtr items) {
  Builder b(Type::kArray);
  b.items(std::move(items));
  return b;
}
Builder object() { return Builder(Type::kObject); }

const char* format_name(Format f) {
  switch (f) {
    case Format::kNone: return "";
    case Format::kIpv4: return "ipv4";
    case Format::kIpv4Cidr: return "ipv4-cidr";
    case Format::kIpAddress: return "ip";
    case Format::kCidr: return "cidr";
    case Format::kHostname: return "hostname";
    case Format::kDomain: return "domain";
    case Format::kUrl: return "url";
    case Format::kName: return "name";
    case Format::kInterface: return "interface";
    case Format::kArn: return "arn";
    case Format::kPortRange: return "port-range";
    case Format::kParamPath: return "parameter-path";
    case Format::kDateTime: return "date-time";
  }
  return "";
}

bool matches_format(Format f, std::string_view s, std::string* why) {
  switch (f) {
    case Format::kNone: return true;
    case Format::kIpv4:
      if (parse_ipv4(s)) return true;
      *why = "must be an IPv4 address such as 10.0.1.5";
      return false;
    case Format::kIpAddress:
      if (parse_ipv4(s) || parse_ipv6(s)) return true;
      *why = "must be an IPv4 or IPv6 address";
      return false;
    case Format::kIpv4Cidr: return cidr(s, true, why);
    case Format::kCidr: return cidr(s, false, why);
    case Format::kHostname:
      if (hostname(s) || parse_ipv4(s)) return true;
      *why = "must be a host name or IPv4 address";
      return false;
    case Format::kDomain: {
      std::string_view d = s;
      if (d.rfind("*.", 0) == 0) d.remove_prefix(2);
      else if (d.rfind(".", 0) == 0) d.remove_prefix(1);
      if (hostname(d) && d.find('.') != std::string_view::npos) return true;
      *why = "must be a domain such as example.com, *.example.com or .example.com";
      return false;
    }
    case Format::kUrl: {
      std::string_view rest;
      if (s.rfind("http://", 0) == 0) rest = s.substr(7);
      else if (s.rfind("https://", 0) == 0) rest = s.substr(8);
      else {
        *why = "must be an http:// or https:// URL";
        return false;
      }
      std::string_view host = rest.substr(0, rest.find_first_of("/?#"));
      if (!host.empty() && host.front() == '[') {
        auto close = host.find(']');
        if (close != std::string_view::npos && parse_ipv6(host.substr(1, close - 1))) return true;
      } else {
        auto colon = host.rfind(':');
        unsigned long port = 0;
        std::string_view name = host.substr(0, colon);
        bool port_ok = colon == std::string_view::npos ||
                       (parse_uint(host.substr(colon + 1), 65535, &port) && port > 0);
        if (port_ok && (hostname(name) || parse_ipv4(name))) return true;
      }
      *why = "must be a URL with a valid host, such as https://api.example.com/v1";
      return false;
    }
    case Format::kName: {
      bool ok = !s.empty() && s.size() <= 63 && std::islower(static_cast<unsigned char>(s[0])) != 0;
      for (char c : s) {
        ok = ok && (std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
                    c == '-' || c == '_');
      }
      if (ok) return true;
      *why = "must be a name of 1-63 characters: lower-case letters, digits, '-' and '_', "
             "starting with a letter";
      return false;
    }
    case Format::kInterface: {
      bool ok = !s.empty() && s.size() < 16 && s != "." && s != "..";
      for (char c : s) ok = ok && c > ' ' && c != '/' && c != ':' && c < 127;
      if (ok) return true;
      *why = "must be a Linux interface name (1-15 characters, no '/', ':' or spaces)";
      return false;
    }
    case Format::kArn: {
      int colons = 0;
      for (char c : s) colons += c == ':';
      if (s.rfind("arn:", 0) == 0 && colons >= 5) return true;
      *why = "must be an ARN such as arn:aws:acm:us-east-1:123456789012:certificate/abc";
      return false;
    }
    case Format::kPortRange: {
      auto dash = s.find('-');
      unsigned long lo = 0, hi = 0;
      bool ok = dash == std::string_view::npos
                    ? parse_uint(s, 65535, &lo) && lo > 0
                    : parse_uint(s.substr(0, dash), 65535, &lo) &&
                          parse_uint(s.substr(dash + 1), 65535, &hi) && lo > 0 && lo <= hi;
      if (ok) return true;
      *why = "must be a port (1-65535) or a range such as 1000-2000";
      return false;
    }
    case Format::kParamPath: {
      bool ok = s.size() >= 2 && s.front() == '/' && s.back() == '/' && s.size() < 900;
      for (char c : s) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' || c == '.');
      if (ok && s.find("//") == std::string_view::npos) return true;
      *why = "must be a parameter path such as /cloudspectra/prod/";
      return false;
    }
    case Format::kDateTime: {
      if (parse_rfc3339(s)) return true;
      *why = "must be an RFC 3339 date-time such as 2026-12-31T23:59:59Z";
      return false;
    }
  }
  return true;
}

void validate_and_normalize(const Node& node, bj::value& v, const std::string& path,
                            Errors& errors) {
  auto fail = [&](std::string reason) { errors.push_back({path.empty() ? "/" : path, std::move(reason)}); };
  switch (node.type) {
    case Type::kString: {
      if (!v.is_string()) return fail(std::string("expected a string, got ") + kind_name(v));
      std::string_view s = v.get_string();
      if (s.size() > node.max_length) {
        return fail("longer than " + std::to_string(node.max_length) + " characters");
      }
      for (char c : s) {
        if (static_cast<unsigned char>(c) < 0x20) return fail("contains a control character");
      }
      if (!node.enum_values.empty()) {
        bool found = false;
        for (const auto& e : node.enum_values) found = found || e == s;
        if (!found) {
          std::string allowed;
          for (const auto& e : node.enum_values) allowed += (allowed.empty() ? "" : ", ") + e;
          return fail("must be one of: " + allowed);
        }
      }
      std::string why;
      if (!s.empty() && !node.secret && !matches_format(node.format, s, &why)) return fail(why);
      return;
    }
    case Type::kInteger: {
      double d = 0;
      if (v.is_int64()) d = static_cast<double>(v.get_int64());
      else if (v.is_uint64()) d = static_cast<double>(v.get_uint64());
      else return fail(std::string("expected an integer, got ") + kind_name(v));
      if ((node.minimum && d < *node.minimum) || (node.maximum && d > *node.maximum)) {
        return fail("must be between " + std::to_string(static_cast<long long>(*node.minimum)) +
                    " and " + std::to_string(static_cast<long long>(*node.maximum)));
      }
      if (v.is_uint64()) v = static_cast<std::int64_t>(v.get_uint64());
      return;
    }
    case Type::kNumber: {
      double d = 0;
      if (v.is_double()) d = v.get_double();
      else if (v.is_int64()) d = static_cast<double>(v.get_int64());
      else if (v.is_uint64()) d = static_cast<double>(v.get_uint64());
      else return fail(std::string("expected a number, got ") + kind_name(v));
      if (!std::isfinite(d)) return fail("must be a finite number");
      if ((node.minimum && d < *node.minimum) || (node.maximum && d > *node.maximum)) {
        return fail("must be between " + bj::serialize(bj::value(*node.minimum)) + " and " +
                    bj::serialize(bj::value(*node.maximum)));
      }
      v = d;
      return;
    }
    case Type::kBoolean:
      if (!v.is_bool()) fail(std::string("expected true or false, got ") + kind_name(v));
      return;
    case Type::kArray: {
      if (!v.is_array()) return fail(std::string("expected an array, got ") + kind_name(v));
      auto& arr = v.get_array();
      if (arr.size() > node.max_items) {
        return fail("has " + std::to_string(arr.size()) + " items; at most " +
                    std::to_string(node.max_items) + " are allowed");
      }
      std::size_t before = errors.size();
      for (std::size_t i = 0; i < arr.size(); ++i) {
        validate_and_normalize(*node.items, arr[i], json::pointer_join(path, i), errors);
      }
      if (errors.size() != before) return;
      if (!node.unique_field.empty()) {
        std::set<std::string> seen;
        for (std::size_t i = 0; i < arr.size(); ++i) {
          const auto* f = arr[i].get_object().if_contains(node.unique_field);
          if (!f) continue;
          std::string key = bj::serialize(*f);
          if (!seen.insert(key).second) {
            errors.push_back({json::pointer_join(json::pointer_join(path, i), node.unique_field),
                              "duplicate " + node.unique_field + " " + key + "; it must be unique"});
          }
        }
      }
      for (const auto& c : node.checks) c(v, path, errors);
      return;
    }
    case Type::kObject: {
      if (!v.is_object()) return fail(std::string("expected an object, got ") + kind_name(v));
      auto& obj = v.get_object();
      std::size_t before = errors.size();
      for (const auto& kv : obj) {
        if (!node.field(kv.key())) {
          errors.push_back({json::pointer_join(path, kv.key()), "unknown field"});
        }
      }
      for (const auto& f : node.fields) {
        std::string fpath = json::pointer_join(path, f.name);
        auto* present = obj.if_contains(f.name);
        if (!present) {
          if (f.required) {
            errors.push_back({fpath, "is required"});
            continue;
          }
          present = &(obj[f.name] = f.default_value ? *f.default_value : type_default(*f.node));
        }
        validate_and_normalize(*f.node, *present, fpath, errors);
      }
      if (errors.size() != before) return;  // checks assume a well-typed value
      for (const auto& c : node.checks) c(v, path, errors);
      return;
    }
  }
}

void for_each_secret(const Node& node, bj::value& v, const std::string& path,
                     const std::function<void(bj::value&, const std::string&)>& fn) {
  switch (node.type) {
    case Type::kString:
      if (node.secret && v.is_string()) fn(v, path);
      return;
    case Type::kArray:
      if (!v.is_array()) return;
      for (std::size_t i = 0; i < v.get_array().size(); ++i) {
        for_each_secret(*node.items, v.get_array()[i], json::pointer_join(path, i), fn);
      }
      return;
    case Type::kObject:
      if (!v.is_object()) return;
      for (const auto& f : node.fields) {
        if (auto* c = v.get_object().if_contains(f.name)) {
          for_each_secret(*f.node, *c, json::pointer_join(path, f.name), fn);
        }
      }
      return;
    default:
      return;
  }
}

bj::value to_json_schema(const Node& node, bj::object& components) {
  bj::object s;
  s["type"] = type_name(node.type);
  if (!node.description.empty()) s["description"] = node.description;
  switch (node.type) {
    case Type::kString:
      s["maxLength"] = node.max_length;
      if (!node.enum_values.empty()) {
        bj::array e;
        for (const auto& v : node.enum_values) e.push_back(bj::value(v));
        s["enum"] = std::move(e);
      }
      if (node.format != Format::kNone) s["x-spectra-format"] = format_name(node.format);
      if (node.secret) s["x-spectra-secret"] = true;
      // Forbid control characters, as validate does.
      if (node.enum_values.empty()) s["pattern"] = "^[^\\x00-\\x1f]*$";
      break;
    case Type::kInteger:
    case Type::kNumber:
      if (node.minimum) s["minimum"] = *node.minimum;
      if (node.maximum) s["maximum"] = *node.maximum;
      break;
    case Type::kArray:
      s["items"] = to_json_schema(*node.items, components);
      s["maxItems"] = node.max_items;
      break;
    case Type::kObject: {
      bj::object props;
      bj::array req;
      for (const auto& f : node.fields) {
        props[f.name] = to_json_schema(*f.node, components);
        if (f.required) req.push_back(bj::value(f.name));
      }
      s["properties"] = std::move(props);
      if (!req.empty()) s["required"] = std::move(req);
      s["additionalProperties"] = false;
      break;
    }
    case Type::kBoolean:
      break;
  }
  if (node.ref.empty()) return s;
  components[node.ref] = std::move(s);
  return bj::object{{"$ref", "#/components/schemas/" + node.ref}};
}

}  // namespace spectra::config
