#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <thread>

#include "common/crypto.h"
#include "config/model_schema.h"
#include "config/service.h"
#include "store/memory_store.h"

namespace spectra::config {
namespace {

std::vector<store::Entry> all(store::Store& st, const std::string& prefix) {
  auto l = st.list(prefix, true);
  EXPECT_TRUE(l.ok());
  return l.ok() ? *l : std::vector<store::Entry>{};
}

SecretBox test_box() { return SecretBox::from_key(std::string(32, 'k')); }

ApplyRequest req(std::uint64_t base, const std::string& json, std::string author = "test") {
  ApplyRequest r;
  r.base = base;
  r.sections = bj::parse(json).as_object();
  r.author = std::move(author);
  return r;
}

const char* kAi = R"({"ai": {"enabled": true, "providers": [{"name": "oa", "kind": "openai", "api_key": "sk-live-PLAINTEXT"}],
                     "routes": [{"alias": "gpt", "target": "oa/gpt-4o"}]}})";

TEST(ConfigService, ApplyCreatesNumberedRevisions) {
  store::MemoryStore st;
  ConfigService svc(st, test_box());
  ASSERT_TRUE(svc.open().ok());
  EXPECT_EQ(svc.head(), 0u);
  Errors errs;
  auto r = svc.apply(req(0, kAi, "alice"), &errs);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->meta.number, 1u);
  EXPECT_EQ(r->meta.author, "alice");
  EXPECT_EQ(r->meta.changed, std::vector<std::string>{"ai"});
  // A reopened service sees the same head and content.
  ConfigService again(st, test_box());
  ASSERT_TRUE(again.open().ok());
  EXPECT_EQ(again.head(), 1u);
  auto cfg = again.config_at(1);
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->at("ai").at("providers").at(0).at("api_key").as_string(), "sk-live-PLAINTEXT");
}

TEST(ConfigService, StaleBaseIsConflict) {
  store::MemoryStore st;
  ConfigService svc(st, test_box());
  ASSERT_TRUE(svc.open().ok());
  Errors errs;
  ASSERT_TRUE(svc.apply(req(0, kAi), &errs).ok());
  auto stale = svc.apply(req(0, R"({"ips": {"enabled": true}})"), &errs);
  EXPECT_EQ(stale.status().code(), Code::kConflict);
  EXPECT_EQ(svc.head(), 1u);
}

TEST(ConfigService, TwoServicesOnOneStoreRaceForTheSameRevision) {
  // Two appliances sharing one store (the SSM case): both on base 0.
  store::MemoryStore st;
  ConfigService a(st, test_box()), b(st, test_box());
  ASSERT_TRUE(a.open().ok());
  ASSERT_TRUE(b.open().ok());
  Errors errs;
  ASSERT_TRUE(a.apply(req(0, kAi), &errs).ok());
  auto lost = b.apply(req(0, R"({"ips": {"enabled": true}})"), &errs);
  EXPECT_EQ(lost.status().code(), Code::kConflict);
}

TEST(ConfigService, ConcurrentWritersOneWins) {
  store::MemoryStore st;
  ConfigService svc(st, test_box());
  ASSERT_TRUE(svc.open().ok());
  std::atomic<int> ok{0}, conflicts{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; ++i) {
    ts.emplace_back([&, i] {
      Errors e;
      auto r = svc.apply(req(0, R"({"ips": {"queue_num": )" + std::to_string(i + 1) + "}}"), &e);
      if (r.ok()) ++ok;
      else if (r.status().code() == Code::kConflict) ++conflicts;
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(conflicts.load(), 7);
}

TEST(ConfigService, ValidationErrorsChangeNothing) {
  store::MemoryStore st;
  ConfigService svc(st, test_box());
  ASSERT_TRUE(svc.open().ok());
  Errors errs;
  auto r = svc.apply(req(0, R"({"network": {"egress_interface": "a/b"}, "nosuch": {}})"), &errs);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  ASSERT_EQ(errs.size(), 2u);
  EXPECT_EQ(svc.head(), 0u);
  EXPECT_TRUE(all(st, "/spectra").empty());
}

TEST(ConfigService, SecretsSealedAtRestMaskedOnReadKeptWithMask) {
  store::MemoryStore st;
  ConfigService svc(st, test_box());
  ASSERT_TRUE(svc.open().ok());
  Errors errs;
  ASSERT_TRUE(svc.apply(req(0, kAi), &errs).ok());
  for (const auto& e : all(st, "/spectra")) {
    EXPECT_EQ(e.value.find("PLAINTEXT"), std::string::npos) << e.key;
  }
  std::uint64_t rev = 0;
  auto masked = svc.masked_head(&rev);
  ASSERT_TRUE(masked.ok());
  EXPECT_EQ(masked->at("ai").at("providers").at(0).at("api_key").as_string(), "***");
  // Sending the mask back keeps the stored secret; a new provider with a mask is refused.
  bj::value ai = masked->at("ai");
  ai.at("routes").at(0).as_object()["alias"] = "gpt-renamed";
  ApplyRequest keep;
  keep.base = 1;
  keep.sections["ai"] = ai;
  auto r = svc.apply(keep, &errs);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(svc.config_at(2)->at("ai").at("providers").at(0).at("api_key").as_string(), "sk-live-PLAINTEXT");
  for (const auto& d : r->diff) EXPECT_EQ(bj::serialize(d).find("PLAINTEXT"), std::string::npos);
  ai.at("providers").as_array().push_back(bj::parse(R"({"name": "oa2", "kind": "openai", "api_key": "***"})"));
  keep.base = 2;
  keep.sections["ai"] = ai;
  errs.clear();
  EXPECT_FALSE(svc.apply(keep, &errs).ok());
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].path, "/ai/providers/1/api_key");
}

TEST(ConfigService, SecretChangeShowsInDiffWithoutTheValue) {
  store::MemoryStore st;
  ConfigService svc(st, test_box());
  ASSERT_TRUE(svc.open().ok());
  Errors errs;
  ASSERT_TRUE(svc.apply(req(0, kAi), &errs).ok());
  std::string changed = kAi;
  changed.replace(changed.find("sk-live-PLAINTEXT"), 17, "sk-live-ROTATED00");
  auto r = svc.apply(req(1, changed), &errs);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->diff.size(), 1u);
  EXPECT_EQ(r->diff[0].at("path").as_string(), "/ai/providers/0/api_key");
  EXPECT_EQ(r->diff[0].at("from").as_string(), "***");
  EXPECT_EQ(r->diff[0].at("to").as_string(), "***");
}

TEST(ConfigService, DiffRollbackAndHistory) {
  store::MemoryStore st;
  ConfigService svc(st, test_box());
  ASSERT_TRUE(svc.open().ok());
  Errors errs;
  ASSERT_TRUE(svc.apply(req(0, R"({"ips": {"enabled": true}})"), &errs).ok());
  ASSERT_TRUE(svc.apply(req(1, R"({"ips": {"enabled": true, "mode": "ips"}})"), &errs).ok());
  auto d = svc.diff(1, 2);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ((*d)[0].at("path").as_string(), "/ips/mode");
  auto rb = svc.rollback(1, 2, "bob", "");
  ASSERT_TRUE(rb.ok());
  EXPECT_EQ(rb->meta.number, 3u);
  EXPECT_EQ(rb->meta.message, "rollback to revision 1");
  EXPECT_EQ(*svc.config_at(3), *svc.config_at(1));
  auto hist = svc.list(10, 0);
  ASSERT_TRUE(hist.ok());
  ASSERT_EQ(hist->size(), 3u);
  EXPECT_EQ((*hist)[0].number, 3u);
  EXPECT_EQ(svc.list(10, 3)->size(), 2u);
  // A no-op write makes no revision.
  auto same = svc.apply(req(3, R"({"ips": {"enabled": true}})"), &errs);
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->changed);
  EXPECT_EQ(svc.head(), 3u);
}

TEST(ConfigService, LargeSectionsAreChunkedWithinTheValueLimit) {
  store::MemoryStore st(2048);  // small values force many chunks
  ConfigService svc(st, test_box());
  ASSERT_TRUE(svc.open().ok());
  std::string rules = R"({"network": {"firewall": {"rules": [)";
  for (int i = 0; i < 200; ++i) {
    if (i) rules += ",";
    rules += R"({"name": "r)" + std::to_string(i) + R"(", "action": "deny", "source_cidrs": ["10.)" + std::to_string(i) + R"(.0.0/16"], "protocol": "tcp", "ports": ["443"]})";
  }
  rules += "]}}}";
  Errors errs;
  ASSERT_TRUE(svc.apply(req(0, rules), &errs).ok());
  ConfigService again(st, test_box());
  ASSERT_TRUE(again.open().ok());
  EXPECT_EQ(again.config_at(1)->at("network").at("firewall").at("rules").as_array().size(), 200u);
  for (const auto& e : all(st, "/spectra")) EXPECT_LE(e.value.size(), 2048u);
}

TEST(ConfigService, FailedWriteLeavesNoPartialRevision) {
  // Fail each store write in turn: after every failure the store still opens
  // at the previous head with the previous content.
  for (int fail_at = 0; fail_at < 8; ++fail_at) {
    store::MemoryStore st(2048);
    ConfigService svc(st, test_box());
    ASSERT_TRUE(svc.open().ok());
    Errors errs;
    ASSERT_TRUE(svc.apply(req(0, R"({"ips": {"enabled": true}})"), &errs).ok());
    st.fail_put_after(fail_at);
    auto r = svc.apply(req(1, kAi), &errs);
    ConfigService reopened(st, test_box());
    ASSERT_TRUE(reopened.open().ok());
    if (r.ok()) {
      EXPECT_EQ(reopened.head(), 2u);
    } else {
      EXPECT_EQ(reopened.head(), 1u) << "fail_at=" << fail_at;
      EXPECT_EQ(*reopened.config_at(1), *svc.config_at(1));
    }
  }
}

TEST(ConfigService, TamperedBlobIsDetected) {
  store::MemoryStore st;
  ConfigService svc(st, test_box());
  ASSERT_TRUE(svc.open().ok());
  Errors errs;
  ASSERT_TRUE(svc.apply(req(0, R"({"ips": {"enabled": true}})"), &errs).ok());
  for (const auto& e : all(st, "/spectra/config/blobs")) {
    if (e.value.find("\"enabled\":true") != std::string::npos) {
      std::string v = e.value;
      v.replace(v.find("true"), 4, "fals");
      ASSERT_TRUE(st.put(e.key, v, store::Precondition::none()).ok());
    }
  }
  ConfigService again(st, test_box());
  EXPECT_EQ(again.open().code(), Code::kInternal);
}

}  // namespace
}  // namespace spectra::config
