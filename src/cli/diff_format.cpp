#include "cli/diff_format.h"

#include <boost/json/serialize.hpp>

#include "cli/yaml_json.h"

namespace spectra::cli {
namespace {

void compact_into(const bj::value& v, std::string& out) {
  switch (v.kind()) {
    case bj::kind::double_:
      out += format_double(v.get_double());
      return;
    case bj::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) out += ", ";
        first = false;
        compact_into(item, out);
      }
      out.push_back(']');
      return;
    }
    case bj::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out += ", ";
        first = false;
        out += bj::serialize(bj::value(kv.key()));
        out += ": ";
        compact_into(kv.value(), out);
      }
      out.push_back('}');
      return;
    }
    default:
      out += bj::serialize(v);
  }
}

const bj::value* field(const bj::object& o, std::string_view key) { return o.if_contains(key); }

}  // namespace

std::string compact_value(const bj::value& v) {
  std::string out;
  compact_into(v, out);
  return out;
}

std::string format_diff(const bj::array& diff) {
  std::string out;
  for (const auto& entry : diff) {
    const bj::object* o = entry.if_object();
    const bj::value* op = o ? field(*o, "op") : nullptr;
    const bj::value* path = o ? field(*o, "path") : nullptr;
    if (!op || !op->is_string() || !path || !path->is_string()) {
      out += "? " + compact_value(entry) + "\n";
      continue;
    }
    std::string p(path->get_string());
    if (p.empty()) p = "/";
    const bj::value* from = field(*o, "from");
    const bj::value* to = field(*o, "to");
    if (!to) to = field(*o, "value");
    if (*op == "replace" && from && to) {
      out += "~ " + p + ": " + compact_value(*from) + " -> " + compact_value(*to) + "\n";
    } else if (*op == "add" && to) {
      out += "+ " + p + ": " + compact_value(*to) + "\n";
    } else if (*op == "remove") {
      out += "- " + p + "\n";
    } else {
      out += "? " + compact_value(entry) + "\n";
    }
  }
  return out;
}

}  // namespace spectra::cli
