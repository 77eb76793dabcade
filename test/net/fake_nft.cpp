#include "fake_nft.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <sstream>

namespace spectra::net::testing {
namespace {

namespace bj = boost::json;

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> w;
  for (std::string s; in >> s;) w.push_back(s);
  return w;
}

}  // namespace

FakeNft::Chain* FakeNft::Table::chain(const std::string& n) {
  for (auto& c : chains) {
    if (c.name == n) return &c;
  }
  return nullptr;
}

Status FakeNft::run(const std::string& script, bool check_only) {
  if (check_only) {
    ++checks;
    if (fail_check) return invalid_argument("nft check failed: " + *fail_check);
  } else if (fail_commit) {
    return invalid_argument("nft apply failed: " + *fail_commit);
  }
  auto next = tables;  // the transaction works on a copy
  std::istringstream in(script);
  int lineno = 0;
  for (std::string line; std::getline(in, line);) {
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    auto w = words(line);
    auto err = [&](const std::string& why) {
      return invalid_argument("line " + std::to_string(lineno) + ": " + why + ": " + line);
    };
    if (w.size() < 4) return err("syntax error");
    std::string key = w[2] + " " + w[3];
    const std::string& verb = w[0];
    const std::string& what = w[1];
    if (what == "table") {
      if (verb == "add")
        next[key];
      else if (verb == "flush") {
        if (!next.count(key)) return err("No such file or directory");
        for (auto& c : next[key].chains) c.rules.clear();
      } else if (verb == "delete") {
        if (!next.erase(key)) return err("No such file or directory");
      } else {
        return err("syntax error");
      }
      continue;
    }
    if (!next.count(key)) return err("No such file or directory (table)");
    Table& t = next[key];
    if (w.size() < 5) return err("syntax error");
    const std::string& name = w[4];
    if (what == "counter") {
      if (verb == "add")
        t.counters.try_emplace(name);
      else if (verb == "delete" && !t.counters.erase(name))
        return err("No such file or directory");
    } else if (what == "chain") {
      if (verb == "delete") {
        Chain* c = t.chain(name);
        if (!c) return err("No such file or directory");
        if (!c->rules.empty()) return err("Device or resource busy");
        std::erase_if(t.chains, [&](const Chain& x) { return x.name == name; });
        continue;
      }
      Chain c{name};
      auto brace = line.find('{');
      if (brace != std::string::npos) {
        auto b = words(line.substr(brace + 1));  // type X hook Y priority P; policy Z; }
        c.base = true;
        c.type = b.at(1);
        c.hook = b.at(3);
        std::string prio = b.at(5);
        c.prio = std::stoi(prio.substr(0, prio.size() - 1));
        std::string pol = b.at(7);
        c.policy = pol.substr(0, pol.size() - 1);
      }
      if (Chain* have = t.chain(name)) {
        if (have->base != c.base || have->hook != c.hook || have->prio != c.prio)
          return err("File exists");
        have->policy = c.policy;
      } else {
        t.chains.push_back(std::move(c));
      }
    } else if (what == "rule") {
      Chain* c = t.chain(name);
      if (!c) return err("No such file or directory (chain)");
      auto cpos = line.rfind(" comment \"");
      std::string head = "add rule " + key + " " + name + " ";
      std::string text = line.substr(
          head.size(), cpos == std::string::npos ? std::string::npos : cpos - head.size());
      if (text.find("INVALID") != std::string::npos) return err("syntax error, unexpected string");
      std::string comment =
          cpos == std::string::npos ? "" : line.substr(cpos + 10, line.size() - cpos - 11);
      c->rules.emplace_back(text, comment);
    } else {
      return err("syntax error");
    }
  }
  if (!check_only) {
    tables = std::move(next);
    committed.push_back(script);
    ++gen;
  }
  return {};
}

Result<std::string> FakeNft::list_json(const std::string& command) {
  ++lists;
  auto w = words(command);
  bool counters_only = w.size() == 5 && w[1] == "counters";
  if (w.size() != (counters_only ? 5u : 4u))
    return invalid_argument("bad list command: " + command);
  std::string family = w[w.size() - 2], name = w.back();
  auto it = tables.find(family + " " + name);
  if (it == tables.end()) return not_found("Error: No such file or directory");
  bj::array items;
  items.push_back(
      bj::object{{"metainfo", bj::object{{"version", "1.0.6"}, {"json_schema_version", 1}}}});
  items.push_back(
      bj::object{{"table", bj::object{{"family", family}, {"name", name}, {"handle", 1}}}});
  for (const auto& [cn, v] : it->second.counters) {
    items.push_back(bj::object{{"counter", bj::object{{"family", family},
                                                      {"name", cn},
                                                      {"table", name},
                                                      {"packets", v.packets},
                                                      {"bytes", v.bytes}}}});
  }
  if (!counters_only) {
    for (const auto& c : it->second.chains) {
      bj::object o{{"family", family}, {"table", name}, {"name", c.name}};
      if (c.base) {
        o["type"] = c.type;
        o["hook"] = c.hook;
        o["prio"] = c.prio;
        o["policy"] = c.policy;
      }
      items.push_back(bj::object{{"chain", std::move(o)}});
    }
    for (const auto& c : it->second.chains) {
      for (const auto& [text, comment] : c.rules) {
        bj::object r{{"family", family}, {"table", name}, {"chain", c.name}, {"expr", bj::array()}};
        if (!comment.empty()) r["comment"] = comment;
        items.push_back(bj::object{{"rule", std::move(r)}});
      }
    }
  }
  return bj::serialize(bj::object{{"nftables", std::move(items)}});
}

void FakeNft::bump(const std::string& table, const std::string& counter, std::uint64_t packets,
                   std::uint64_t bytes) {
  auto& c = tables[table].counters[counter];
  c.packets += packets;
  c.bytes += bytes;
}

std::size_t FakeNft::rule_count(const std::string& table) const {
  auto it = tables.find(table);
  if (it == tables.end()) return 0;
  std::size_t n = 0;
  for (const auto& c : it->second.chains) n += c.rules.size();
  return n;
}

}  // namespace spectra::net::testing
