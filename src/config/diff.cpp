#include "config/diff.h"

#include "common/json_util.h"

namespace spectra::config {
namespace bj = boost::json;
namespace {

void diff_into(const bj::value& a, const bj::value& b, const std::string& path, bj::array& out) {
  if (a.is_object() && b.is_object()) {
    const auto& ao = a.get_object();
    const auto& bo = b.get_object();
    for (const auto& kv : ao) {
      std::string p = json::pointer_join(path, kv.key());
      if (const auto* bv = bo.if_contains(kv.key())) {
        diff_into(kv.value(), *bv, p, out);
      } else {
        out.push_back(bj::object{{"op", "remove"}, {"path", p}, {"from", kv.value()}});
      }
    }
    for (const auto& kv : bo) {
      if (!ao.contains(kv.key())) {
        out.push_back(bj::object{{"op", "add"}, {"path", json::pointer_join(path, kv.key())}, {"to", kv.value()}});
      }
    }
    return;
  }
  if (a.is_array() && b.is_array()) {
    const auto& aa = a.get_array();
    const auto& ba = b.get_array();
    std::size_t common = std::min(aa.size(), ba.size());
    for (std::size_t i = 0; i < common; ++i) diff_into(aa[i], ba[i], json::pointer_join(path, i), out);
    for (std::size_t i = common; i < aa.size(); ++i) {
      out.push_back(bj::object{{"op", "remove"}, {"path", json::pointer_join(path, i)}, {"from", aa[i]}});
    }
    for (std::size_t i = common; i < ba.size(); ++i) {
      out.push_back(bj::object{{"op", "add"}, {"path", json::pointer_join(path, i)}, {"to", ba[i]}});
    }
    return;
  }
  // Numbers compare by value across int/double representations.
  bool same = a == b;
  if (!same && a.is_number() && b.is_number()) same = a.to_number<double>() == b.to_number<double>();
  if (!same) out.push_back(bj::object{{"op", "replace"}, {"path", path.empty() ? "/" : path}, {"from", a}, {"to", b}});
}

}  // namespace

bj::array diff(const bj::value& from, const bj::value& to, const std::string& path) {
  bj::array out;
  diff_into(from, to, path, out);
  return out;
}

}  // namespace spectra::config
