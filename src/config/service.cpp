#include "config/service.h"

#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "common/crypto.h"
#include "common/json_util.h"
#include "common/time_util.h"
#include "config/diff.h"
#include "config/model_schema.h"

namespace spectra::config {
namespace {

// Splits on UTF-8 boundaries so every chunk is valid UTF-8 on its own.
std::vector<std::string> split_utf8(const std::string& s, std::size_t max) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t end = std::min(s.size(), i + max);
    while (end < s.size() && end > i && (static_cast<unsigned char>(s[end]) & 0xc0) == 0x80) --end;
    out.push_back(s.substr(i, end - i));
    i = end;
  }
  if (out.empty()) out.emplace_back();
  return out;
}

}  // namespace

bj::object RevisionMeta::to_json() const {
  bj::array ch;
  for (const auto& c : changed) ch.push_back(bj::value(c));
  return {{"revision", number}, {"base", base},       {"author", author},
          {"at", at},           {"message", message}, {"changed", std::move(ch)}};
}

ConfigService::ConfigService(store::Store& store, SecretBox box, std::string root)
    : store_(store), box_(std::move(box)), root_(std::move(root)) {}

std::string ConfigService::revision_key(std::uint64_t n) const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%010llu", static_cast<unsigned long long>(n));
  return root_ + "/config/revisions/" + buf;
}

Status ConfigService::open() {
  auto keys = store_.list(root_ + "/config/revisions", false);
  if (!keys.ok()) return keys.status();
  std::uint64_t head = 0;
  if (!keys->empty()) {
    const std::string& last = keys->back().key;
    head = std::stoull(last.substr(last.rfind('/') + 1));
  }
  bj::object cfg = default_config();
  std::map<std::string, BlobRef> blobs;
  if (head > 0) {
    auto rec = load_record(head);
    if (!rec.ok()) return rec.status();
    auto c = load_config(*rec);
    if (!c.ok()) return c.status();
    cfg = std::move(*c);
    blobs = rec->sections;
  }
  std::lock_guard lock(mu_);
  head_ = head;
  head_config_ = std::move(cfg);
  head_blobs_ = std::move(blobs);
  return {};
}

std::uint64_t ConfigService::head() const {
  std::lock_guard lock(mu_);
  return head_;
}

Result<ConfigService::Record> ConfigService::load_record(std::uint64_t n) {
  auto e = store_.get(revision_key(n));
  if (!e.ok()) {
    if (e.status().code() == Code::kNotFound) return not_found("no revision " + std::to_string(n));
    return e.status();
  }
  auto v = json::parse(e->value);
  if (!v.ok() || !v->is_object()) return internal_error("revision record " + std::to_string(n) + " is corrupt");
  try {
    const auto& o = v->get_object();
    Record r;
    r.meta.number = o.at("revision").to_number<std::uint64_t>();
    r.meta.base = o.at("base").to_number<std::uint64_t>();
    r.meta.author = o.at("author").as_string();
    r.meta.at = o.at("at").as_string();
    r.meta.message = o.at("message").as_string();
    for (const auto& c : o.at("changed").as_array()) r.meta.changed.emplace_back(c.as_string());
    for (const auto& kv : o.at("sections").as_object()) {
      r.sections[kv.key()] = {std::string(kv.value().at("sha").as_string()),
                              kv.value().at("chunks").to_number<std::size_t>()};
    }
    return r;
  } catch (const std::exception& ex) {
    return internal_error("revision record " + std::to_string(n) + " is corrupt: " + ex.what());
  }
}

Result<std::string> ConfigService::load_blob(const BlobRef& ref) {
  std::string data;
  for (std::size_t i = 0; i < ref.chunks; ++i) {
    auto e = store_.get(root_ + "/config/blobs/" + ref.sha + "/" + std::to_string(i));
    if (!e.ok()) return internal_error("blob " + ref.sha + " chunk " + std::to_string(i) + ": " + e.status().message());
    data += e->value;
  }
  if (crypto::sha256_hex(data) != ref.sha) return internal_error("blob " + ref.sha + " fails its checksum");
  return data;
}

Result<ConfigService::BlobRef> ConfigService::save_blob(const std::string& data) {
  BlobRef ref{crypto::sha256_hex(data), 0};
  auto chunks = split_utf8(data, store_.max_value_bytes());
  ref.chunks = chunks.size();
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    auto r = store_.put(root_ + "/config/blobs/" + ref.sha + "/" + std::to_string(i), chunks[i]);
    if (!r.ok()) return r.status();
  }
  return ref;
}

Result<bj::object> ConfigService::load_config(const Record& rec) {
  bj::object cfg = default_config();
  for (const auto& [name, ref] : rec.sections) {
    if (!is_section(name)) continue;  // a section dropped from the schema
    auto data = load_blob(ref);
    if (!data.ok()) return data.status();
    auto v = json::parse(*data, {.max_bytes = 64 << 20, .max_depth = 64});
    if (!v.ok()) return internal_error("section " + name + " of revision " + std::to_string(rec.meta.number) + " is corrupt");
    // Re-normalise: fields added to the schema since this revision get defaults.
    Errors errs;
    validate_and_normalize(section_schema(name), *v, "/" + name, errs);
    if (Status s = open_secrets(section_schema(name), *v, box_); !s.ok()) return s;
    cfg[name] = std::move(*v);
  }
  return cfg;
}

Result<bj::object> ConfigService::config_at(std::uint64_t n) {
  {
    std::lock_guard lock(mu_);
    if (n == head_) return head_config_;
  }
  if (n == 0) return default_config();
  auto rec = load_record(n);
  if (!rec.ok()) return rec.status();
  return load_config(*rec);
}

bj::object ConfigService::mask(const bj::object& config) const {
  bj::value v = config;
  mask_secrets(config_schema(), v);
  return std::move(v.get_object());
}

Result<bj::object> ConfigService::masked_head(std::uint64_t* revision) {
  std::lock_guard lock(mu_);
  if (revision) *revision = head_;
  return mask(head_config_);
}

Result<RevisionMeta> ConfigService::meta(std::uint64_t n) {
  if (n == 0) return RevisionMeta{0, 0, "system", "", "defaults", {}};
  auto rec = load_record(n);
  if (!rec.ok()) return rec.status();
  return rec->meta;
}

Result<std::vector<RevisionMeta>> ConfigService::list(std::size_t limit, std::uint64_t before) {
  std::uint64_t top = head();
  if (before == 0 || before > top + 1) before = top + 1;
  std::vector<RevisionMeta> out;
  for (std::uint64_t n = before - 1; n >= 1 && out.size() < limit; --n) {
    auto m = meta(n);
    if (!m.ok()) return m.status();
    out.push_back(std::move(*m));
  }
  return out;
}

bj::array ConfigService::masked_diff(const bj::object& a, const bj::object& b) const {
  bj::value av = a, bv = b;
  fingerprint_secrets(config_schema(), av, box_);
  fingerprint_secrets(config_schema(), bv, box_);
  bj::array d = config::diff(av, bv);
  for (auto& e : d) {
    for (const char* side : {"from", "to"}) {
      auto* s = e.get_object().if_contains(side);
      if (s && s->is_string() && s->get_string().starts_with(std::string(kMask) + ":")) *s = kMask;
      // A whole object added or removed may carry secrets deeper inside.
      if (s && (s->is_object() || s->is_array())) {
        std::function<void(bj::value&)> scrub = [&](bj::value& x) {
          if (x.is_string() && x.get_string().starts_with(std::string(kMask) + ":")) x = kMask;
          else if (x.is_object()) for (auto& kv : x.get_object()) scrub(kv.value());
          else if (x.is_array()) for (auto& y : x.get_array()) scrub(y);
        };
        scrub(*s);
      }
    }
  }
  return d;
}

Result<bj::array> ConfigService::diff(std::uint64_t from, std::uint64_t to) {
  auto a = config_at(from);
  if (!a.ok()) return a.status();
  auto b = config_at(to);
  if (!b.ok()) return b.status();
  return masked_diff(*a, *b);
}

Result<ApplyResult> ConfigService::apply(const ApplyRequest& req, Errors* errors) {
  bj::object current;
  {
    std::lock_guard lock(mu_);
    if (req.base != head_) {
      return conflict("base revision " + std::to_string(req.base) + " is stale; the head is " + std::to_string(head_));
    }
    current = head_config_;
  }
  Errors errs;
  bj::object next = current;
  for (const auto& kv : req.sections) {
    std::string name(kv.key());
    if (!is_section(name)) {
      errs.push_back({"/" + name, "unknown section"});
      continue;
    }
    bj::value incoming = kv.value();
    restore_masked(section_schema(name), incoming, current.at(name), "/" + name, errs);
    next[name] = std::move(incoming);
  }
  // Validate even when earlier steps found problems: the caller gets them all.
  for (auto it = next.begin(); it != next.end();) {
    it = is_section(it->key()) ? std::next(it) : next.erase(it);
  }
  bj::value whole = next;
  validate_and_normalize(config_schema(), whole, "", errs);
  next = std::move(whole.get_object());
  if (!errs.empty()) {
    if (errors) *errors = std::move(errs);
    return invalid_argument("the config is not valid");
  }
  return commit(req.base, std::move(next), req.author, req.message, req.dry_run);
}

Result<ApplyResult> ConfigService::rollback(std::uint64_t target, std::uint64_t base,
                                            const std::string& author, const std::string& message) {
  auto cfg = config_at(target);
  if (!cfg.ok()) return cfg.status();
  std::string msg = message.empty() ? "rollback to revision " + std::to_string(target) : message;
  return commit(base, std::move(*cfg), author, msg, false);
}

Result<ApplyResult> ConfigService::commit(std::uint64_t base, bj::object next,
                                          const std::string& author, const std::string& message,
                                          bool dry_run) {
  std::lock_guard lock(mu_);
  if (base != head_) {
    return conflict("base revision " + std::to_string(base) + " is stale; the head is " + std::to_string(head_));
  }
  ApplyResult result;
  result.diff = masked_diff(head_config_, next);
  result.changed = !result.diff.empty();
  std::vector<std::string> changed;
  for (const auto& name : section_names()) {
    if (head_config_.at(name) != next.at(name)) changed.push_back(name);
  }
  if (dry_run || !result.changed) {
    result.meta = RevisionMeta{head_, head_, author, "", message, changed};
    return result;
  }
  // Unchanged sections keep their blob (and its sealed secrets) as they are.
  std::map<std::string, BlobRef> blobs = head_blobs_;
  for (const auto& name : changed) {
    bj::value stored = next.at(name);
    seal_secrets(section_schema(name), stored, box_);
    auto ref = save_blob(json::canonical(stored));
    if (!ref.ok()) return ref.status();
    blobs[name] = *ref;
  }
  for (const auto& name : section_names()) {
    if (!blobs.count(name)) {
      auto ref = save_blob(json::canonical(next.at(name)));
      if (!ref.ok()) return ref.status();
      blobs[name] = *ref;
    }
  }
  RevisionMeta meta{head_ + 1, head_, author, rfc3339_utc(), message, changed};
  bj::object rec = meta.to_json();
  bj::object secs;
  for (const auto& [name, ref] : blobs) secs[name] = bj::object{{"sha", ref.sha}, {"chunks", ref.chunks}};
  rec["sections"] = std::move(secs);
  auto put = store_.put(revision_key(meta.number), bj::serialize(rec), store::Precondition::must_not_exist());
  if (!put.ok()) {
    if (put.status().code() == Code::kConflict) {
      return conflict("another writer committed revision " + std::to_string(meta.number) + " first");
    }
    return put.status();
  }
  head_ = meta.number;
  head_config_ = std::move(next);
  head_blobs_ = std::move(blobs);
  result.meta = std::move(meta);
  return result;
}

}  // namespace spectra::config
