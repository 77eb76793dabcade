#include "common/json_util.h"

#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace spectra::json {

Result<bj::value> parse(std::string_view text, const ParseLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Status(Code::kResourceExhausted,
                  "JSON document of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                      std::to_string(limits.max_bytes));
  }
  bj::parse_options opts;
  opts.max_depth = limits.max_depth;
  bj::parser p(bj::storage_ptr(), opts);
  boost::system::error_code ec;
  std::size_t n = p.write(text.data(), text.size(), ec);
  if (ec) {
    std::string why = ec.message();
    if (ec == bj::error::too_deep) {
      why = "nesting deeper than " + std::to_string(limits.max_depth) + " levels";
    }
    return invalid_argument("invalid JSON at byte " + std::to_string(n) + ": " + why);
  }
  return p.release();
}

std::string pointer_escape(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out.push_back(c);
  }
  return out;
}

std::string pointer_join(std::string_view base, std::string_view token) {
  std::string out(base);
  out.push_back('/');
  out += pointer_escape(token);
  return out;
}

std::string pointer_join(std::string_view base, std::size_t index) {
  return std::string(base) + "/" + std::to_string(index);
}

namespace {

void canonical_into(const bj::value& v, std::string& out) {
  switch (v.kind()) {
    case bj::kind::object: {
      const auto& o = v.get_object();
      std::vector<const bj::key_value_pair*> items;
      items.reserve(o.size());
      for (const auto& kv : o) items.push_back(&kv);
      std::sort(items.begin(), items.end(),
                [](auto* a, auto* b) { return a->key() < b->key(); });
      out.push_back('{');
      bool first = true;
      for (auto* kv : items) {
        if (!first) out.push_back(',');
        first = false;
        out += bj::serialize(bj::value(kv->key()));
        out.push_back(':');
        canonical_into(kv->value(), out);
      }
      out.push_back('}');
      break;
    }
    case bj::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        canonical_into(e, out);
      }
      out.push_back(']');
      break;
    }
    default:
      out += bj::serialize(v);
  }
}

void pretty_into(const bj::value& v, std::string& out, int indent) {
  auto pad = [&](int n) { out.append(static_cast<std::size_t>(n) * 2, ' '); };
  switch (v.kind()) {
    case bj::kind::object: {
      const auto& o = v.get_object();
      if (o.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      std::size_t i = 0;
      for (const auto& kv : o) {
        pad(indent + 1);
        out += bj::serialize(bj::value(kv.key()));
        out += ": ";
        pretty_into(kv.value(), out, indent + 1);
        if (++i < o.size()) out.push_back(',');
        out.push_back('\n');
      }
      pad(indent);
      out.push_back('}');
      return;
    }
    case bj::kind::array: {
      const auto& a = v.get_array();
      if (a.empty()) {
        out += "[]";
        return;
      }
      out += "[\n";
      for (std::size_t i = 0; i < a.size(); ++i) {
        pad(indent + 1);
        pretty_into(a[i], out, indent + 1);
        if (i + 1 < a.size()) out.push_back(',');
        out.push_back('\n');
      }
      pad(indent);
      out.push_back(']');
      return;
    }
    default:
      out += bj::serialize(v);
  }
}

}  // namespace

std::int64_t to_int(const bj::value& v, std::int64_t fallback) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) {
    return v.get_uint64() > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<std::int64_t>(v.get_uint64());
  }
  if (v.is_double()) {
    double d = v.get_double();
    if (std::isfinite(d) && d > -9.2e18 && d < 9.2e18) return static_cast<std::int64_t>(d);
  }
  return fallback;
}

std::string canonical(const bj::value& v) {
  std::string out;
  canonical_into(v, out);
  return out;
}

std::string pretty(const bj::value& v) {
  std::string out;
  pretty_into(v, out, 0);
  out.push_back('\n');
  return out;
}

}  // namespace spectra::json
