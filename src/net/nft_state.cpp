#include "net/nft_state.h"

#include <boost/json/value.hpp>
#include <set>

#include "common/json_util.h"

namespace spectra::net {
namespace {

namespace bj = boost::json;

std::string str_of(const bj::object& o, const char* key) {
  const bj::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::uint64_t u64_of(const bj::object& o, const char* key) {
  const bj::value* v = o.if_contains(key);
  if (!v) return 0;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
  return 0;
}

// "<id> #<hash>" -> id and hash; anything else is an unmanaged rule.
void split_comment(const std::string& c, std::string* id, std::string* hash) {
  auto pos = c.rfind(" #");
  if (pos == std::string::npos) {
    *id = c;
    hash->clear();
    return;
  }
  *id = c.substr(0, pos);
  *hash = c.substr(pos + 2);
}

void diff_rules(const ChainSpec& want, const ActualChain& have, std::vector<std::string>* out) {
  std::map<std::string, std::string> want_by_id, have_by_id;
  for (const auto& r : want.rules) want_by_id[r.id] = r.hash();
  std::size_t unmanaged = 0;
  std::vector<std::string> have_order;
  for (const auto& c : have.rule_comments) {
    std::string id, hash;
    split_comment(c, &id, &hash);
    if (hash.empty() || have_by_id.count(id)) {
      ++unmanaged;
      continue;
    }
    have_by_id[id] = hash;
    have_order.push_back(id);
  }
  const std::string p = want.name + ": ";
  bool changed = false;
  for (const auto& r : want.rules) {
    auto it = have_by_id.find(r.id);
    if (it == have_by_id.end())
      out->push_back(p + "+ rule " + r.id), changed = true;
    else if (it->second != r.hash())
      out->push_back(p + "~ rule " + r.id), changed = true;
  }
  for (const auto& id : have_order) {
    if (!want_by_id.count(id)) out->push_back(p + "- rule " + id), changed = true;
  }
  if (unmanaged)
    out->push_back(p + "- " + std::to_string(unmanaged) + " rule(s) not written by the gateway");
  if (!changed && !unmanaged) {
    std::vector<std::string> want_order;
    for (const auto& r : want.rules) want_order.push_back(r.id);
    if (want_order != have_order) out->push_back(p + "~ rules reordered");
  }
}

std::string hook_desc(const BaseHook& h) {
  return h.type + " hook " + h.hook + " priority " + std::to_string(h.priority) + " policy " +
         h.policy;
}

}  // namespace

const ActualChain* ActualTable::chain(const std::string& n) const {
  for (const auto& c : chains) {
    if (c.name == n) return &c;
  }
  return nullptr;
}

ExistingObjects ActualTable::objects() const {
  ExistingObjects o;
  o.exists = exists;
  for (const auto& c : chains) {
    o.chains.insert(c.name);
    if (c.base) o.base_chains[c.name] = *c.base;
  }
  for (const auto& [name, v] : counters) o.counters.insert(name);
  return o;
}

std::size_t ActualTable::rule_count() const {
  std::size_t n = 0;
  for (const auto& c : chains) n += c.rule_comments.size();
  return n;
}

Result<ActualTable> parse_table_json(std::string_view text, const std::string& family,
                                     const std::string& name) {
  json::ParseLimits limits;
  limits.max_bytes = std::size_t{1} << 30;
  auto parsed = json::parse(text, limits);
  if (!parsed.ok()) return parsed.status();
  const bj::value* items =
      parsed->is_object() ? parsed->get_object().if_contains("nftables") : nullptr;
  if (!items || !items->is_array()) return invalid_argument("nft JSON: no \"nftables\" array");
  ActualTable t;
  t.family = family;
  t.name = name;
  std::map<std::string, std::size_t> chain_index;
  for (const bj::value& item : items->get_array()) {
    if (!item.is_object()) continue;
    const bj::object& o = item.get_object();
    auto in_table = [&](const bj::object& x) {
      return str_of(x, "family") == family && str_of(x, "table") == name;
    };
    if (const bj::value* v = o.if_contains("table"); v && v->is_object()) {
      const bj::object& x = v->get_object();
      if (str_of(x, "family") == family && str_of(x, "name") == name) t.exists = true;
    } else if (const bj::value* v = o.if_contains("counter"); v && v->is_object()) {
      const bj::object& x = v->get_object();
      if (!in_table(x)) continue;
      t.exists = true;
      t.counters[str_of(x, "name")] = {u64_of(x, "packets"), u64_of(x, "bytes")};
    } else if (const bj::value* v = o.if_contains("chain"); v && v->is_object()) {
      const bj::object& x = v->get_object();
      if (!in_table(x)) continue;
      ActualChain c;
      c.name = str_of(x, "name");
      if (x.contains("hook")) {
        BaseHook h;
        h.type = str_of(x, "type");
        h.hook = str_of(x, "hook");
        const bj::value* prio = x.if_contains("prio");
        h.priority = prio && prio->is_int64() ? static_cast<int>(prio->get_int64()) : 0;
        h.policy = str_of(x, "policy");
        c.base = h;
      }
      chain_index[c.name] = t.chains.size();
      t.chains.push_back(std::move(c));
    } else if (const bj::value* v = o.if_contains("rule"); v && v->is_object()) {
      const bj::object& x = v->get_object();
      if (!in_table(x)) continue;
      auto it = chain_index.find(str_of(x, "chain"));
      if (it == chain_index.end()) continue;
      t.chains[it->second].rule_comments.push_back(str_of(x, "comment"));
    }
  }
  return t;
}

Result<ActualTable> read_table(NftRunner& runner, const std::string& family,
                               const std::string& name) {
  auto out = runner.list_json("list table " + family + " " + name);
  if (!out.ok()) {
    if (out.status().code() == Code::kNotFound) {
      ActualTable t;
      t.family = family;
      t.name = name;
      return t;
    }
    return out.status();
  }
  return parse_table_json(*out, family, name);
}

Result<std::map<std::string, CounterValue>> read_counters(NftRunner& runner,
                                                          const std::string& family,
                                                          const std::string& name) {
  auto out = runner.list_json("list counters table " + family + " " + name);
  if (!out.ok()) {
    if (out.status().code() == Code::kNotFound) return std::map<std::string, CounterValue>{};
    return out.status();
  }
  auto t = parse_table_json(*out, family, name);
  if (!t.ok()) return t.status();
  return std::move(t->counters);
}

ActualTable as_actual(const TableSpec& want) {
  ActualTable t;
  t.exists = want.present;
  t.family = want.family;
  t.name = want.name;
  if (!want.present) return t;
  for (const auto& c : want.chains) {
    ActualChain ac{c.name, c.base, {}};
    for (const auto& r : c.rules) ac.rule_comments.push_back(r.comment());
    t.chains.push_back(std::move(ac));
  }
  for (const auto& c : want.counters) t.counters[c] = {};
  return t;
}

std::vector<std::string> diff_table(const TableSpec& want, const ActualTable& have) {
  std::vector<std::string> out;
  const std::string q = "table " + want.qualified();
  if (!want.present) {
    if (have.exists) out.push_back("- " + q);
    return out;
  }
  if (!have.exists) {
    out.push_back("+ " + q + " (" + std::to_string(want.chains.size()) + " chains, " +
                  std::to_string(want.counters.size()) + " counters)");
  }
  std::set<std::string> want_counters(want.counters.begin(), want.counters.end());
  for (const auto& c : want.counters) {
    if (have.exists && !have.counters.count(c)) out.push_back("+ counter " + c);
  }
  for (const auto& [c, v] : have.counters) {
    if (!want_counters.count(c)) out.push_back("- counter " + c);
  }
  for (const auto& wc : want.chains) {
    const ActualChain* hc = have.chain(wc.name);
    if (!hc) {
      if (have.exists) out.push_back("+ chain " + wc.name);
      for (const auto& r : wc.rules) out.push_back(wc.name + ": + rule " + r.id);
      continue;
    }
    if (wc.base != hc->base) {
      out.push_back("~ chain " + wc.name + ": " + (hc->base ? hook_desc(*hc->base) : "regular") +
                    " -> " + (wc.base ? hook_desc(*wc.base) : "regular"));
    }
    diff_rules(wc, *hc, &out);
  }
  for (const auto& hc : have.chains) {
    if (!want.chain(hc.name)) out.push_back("- chain " + hc.name);
  }
  return out;
}

}  // namespace spectra::net
