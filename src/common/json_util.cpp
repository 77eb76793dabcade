#include "common/json_util.h"

#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
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

// The shortest text that reads back as `v` (to_chars), appended.
template <class T>
void append_number(std::string& out, T v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void canonical_value(const bj::value& v, std::string& out);

void canonical_members(const bj::object& o, std::initializer_list<std::string_view> skip, std::string& out) {
  // Small objects are the rule (messages, tool schemas): sort pointers on
  // the stack when they fit.
  constexpr std::size_t kInline = 16;
  const bj::key_value_pair* inline_items[kInline];
  std::vector<const bj::key_value_pair*> heap_items;
  const bj::key_value_pair** items = inline_items;
  if (o.size() > kInline) {
    heap_items.resize(o.size());
    items = heap_items.data();
  }
  std::size_t n = 0;
  for (const auto& kv : o) {
    bool skipped = false;
    for (std::string_view k : skip) skipped = skipped || kv.key() == k;
    if (!skipped) items[n++] = &kv;
  }
  std::sort(items, items + n, [](auto* a, auto* b) { return a->key() < b->key(); });
  out.push_back('{');
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out.push_back(',');
    append_string(out, items[i]->key());
    out.push_back(':');
    canonical_value(items[i]->value(), out);
  }
  out.push_back('}');
}

void canonical_value(const bj::value& v, std::string& out) {
  switch (v.kind()) {
    case bj::kind::object:
      canonical_members(v.get_object(), {}, out);
      break;
    case bj::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        canonical_value(e, out);
      }
      out.push_back(']');
      break;
    }
    case bj::kind::string:
      append_string(out, v.get_string());
      break;
    case bj::kind::int64:
      append_number(out, v.get_int64());
      break;
    case bj::kind::uint64:
      append_number(out, v.get_uint64());
      break;
    case bj::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      break;
    case bj::kind::null:
      out += "null";
      break;
    default:  // double: boost's own shortest round-trip formatting
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

std::string_view string_at(const bj::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

bool any_element_has(const bj::value* items, std::string_view key) {
  if (!items || !items->is_array()) return false;
  for (const bj::value& v : items->get_array()) {
    if (const bj::object* o = v.if_object(); o && o->contains(key)) return true;
  }
  return false;
}

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

void append_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the pending unescaped run
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    out.push_back('\\');
    switch (c) {
      case '"': out.push_back('"'); break;
      case '\\': out.push_back('\\'); break;
      case '\b': out.push_back('b'); break;
      case '\t': out.push_back('t'); break;
      case '\n': out.push_back('n'); break;
      case '\f': out.push_back('f'); break;
      case '\r': out.push_back('r'); break;
      default:
        out += "u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xf]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void canonical_into(const bj::object& o, std::initializer_list<std::string_view> skip, std::string& out) {
  canonical_members(o, skip, out);
}

std::string canonical(const bj::value& v) {
  std::string out;
  canonical_value(v, out);
  return out;
}

std::string pretty(const bj::value& v) {
  std::string out;
  pretty_into(v, out, 0);
  out.push_back('\n');
  return out;
}

void ObjectWriter::key(std::string_view k) {
  if (!first_) out_.push_back(',');
  first_ = false;
  append_string(out_, k);
  out_.push_back(':');
}

ObjectWriter& ObjectWriter::str(std::string_view k, std::string_view value) {
  key(k);
  append_string(out_, value);
  return *this;
}

ObjectWriter& ObjectWriter::num(std::string_view k, std::int64_t value) {
  key(k);
  append_number(out_, value);
  return *this;
}

ObjectWriter& ObjectWriter::num(std::string_view k, double value) {
  key(k);
  if (std::isfinite(value)) append_number(out_, value);
  else out_ += "null";
  return *this;
}

ObjectWriter& ObjectWriter::boolean(std::string_view k, bool value) {
  key(k);
  out_ += value ? "true" : "false";
  return *this;
}

ObjectWriter& ObjectWriter::raw(std::string_view k, std::string_view json) {
  key(k);
  out_ += json;
  return *this;
}

ObjectWriter& ObjectWriter::null(std::string_view k) {
  key(k);
  out_ += "null";
  return *this;
}

}  // namespace spectra::json
