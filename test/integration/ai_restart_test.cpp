// The AI gateway's state across a restart of the real daemon: usage and
// what each key spent in its budget period are persisted at shutdown and
// restored at start, so a spent budget stays spent; who made each stored
// Responses answer is journaled as it happens, so even after a crash the
// answer stays readable by its key (and only by it) and conversations go
// on; so are the answers the gateway keeps itself (made in translation).
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>

#include "ai/budget_period.h"
#include "daemon_process.h"
#include "fake_openai.h"

namespace spectra::testing {
namespace {

namespace bj = boost::json;
using http::Verb;

std::string month_now() {
  return ai::budget_period_at(ai::BudgetPeriod::kMonthly, std::chrono::system_clock::now()).id;
}

// A call to the daemon's AI port with a virtual key.
http::ClientResponse ai_call(const DaemonProcess& p, Verb verb, const std::string& path, const std::string& body,
                             const char* key) {
  auto r = http::Client({"127.0.0.1", p.ai_port(), ""})
               .send(verb, path, body, {{"Authorization", std::string("Bearer ") + key}, {"Content-Type", "application/json"}});
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : http::ClientResponse{};
}

TEST(AiRestart, MeteringAndPeriodSpendSurviveARestart) {
  fakes::FakeOpenAi upstream("upstream");
  ASSERT_TRUE(upstream.start().ok());
  const std::string month = month_now();
  DaemonProcess d;
  ASSERT_TRUE(d.start()) << d.log();
  const std::string ai = R"({"value": {"enabled": true,
      "providers": [{"name": "remote", "kind": "openai", "base_url": ")" + upstream.base_url() + R"("}],
      "routes": [{"alias": "gpt", "target": "remote/gpt-4o"}],
      "virtual_keys": [{"name": "team", "key": "sk-team-0123456789", "budget_usd": 0.00001, "budget_period": "monthly"}],
      "cache": {"exact_enabled": false},
      "prices": [{"model": "remote/gpt-4o", "input_per_mtok_usd": 2.5, "output_per_mtok_usd": 10}]}})";
  auto put = http::Client(d.endpoint()).send(Verb::put, "/api/v1/config/ai", ai, d.auth("0"));
  ASSERT_TRUE(put.ok());
  ASSERT_EQ(put->status, 200u) << put->body;
  const std::string chat = R"({"model": "gpt", "messages": [{"role": "user", "content": "spend the budget"}]})";
  const std::vector<std::pair<std::string, std::string>> key = {{"Authorization", "Bearer sk-team-0123456789"},
                                                                {"Content-Type", "application/json"}};
  auto send_chat = [&](const DaemonProcess& p) {
    auto r = http::Client({"127.0.0.1", p.ai_port(), ""}).send(Verb::post, "/v1/chat/completions", chat, key);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? r->status : 0u;
  };
  ASSERT_EQ(send_chat(d), 200u);
  ASSERT_EQ(send_chat(d), 429u);  // the month's budget is spent
  ASSERT_EQ(d.kill(SIGTERM), 0);

  DaemonProcess again(d.dir());
  ASSERT_TRUE(again.start()) << again.log();
  auto usage = http::Client(again.endpoint()).send(Verb::get, "/api/v1/ai/usage", "", again.auth());
  ASSERT_TRUE(usage.ok());
  ASSERT_EQ(usage->status, 200u) << usage->body;
  const auto rows = bj::parse(usage->body).at("usage").as_array();
  ASSERT_EQ(rows.size(), 1u) << usage->body;
  EXPECT_EQ(rows[0].at("requests").as_int64(), 1);
  EXPECT_GT(rows[0].at("cost_usd").to_number<double>(), 0.00001);
  if (month_now() != month) GTEST_SKIP() << "a new month began during the test";
  EXPECT_EQ(send_chat(again), 429u);  // still spent after the restart
  EXPECT_EQ(upstream.request_count(), 1u);
}

TEST(AiRestart, StoredResponsesKeepTheirOwnersAcrossACrash) {
  fakes::FakeOpenAi upstream("upstream");
  ASSERT_TRUE(upstream.start().ok());
  DaemonProcess d;
  ASSERT_TRUE(d.start()) << d.log();
  const std::string ai = R"({"value": {"enabled": true,
      "providers": [{"name": "remote", "kind": "openai", "base_url": ")" + upstream.base_url() + R"("}],
      "routes": [{"alias": "gpt", "target": "remote/gpt-4o"}],
      "virtual_keys": [{"name": "a", "key": "sk-team-a-0123456789"}, {"name": "b", "key": "sk-team-b-0123456789"}]}})";
  auto put = http::Client(d.endpoint()).send(Verb::put, "/api/v1/config/ai", ai, d.auth("0"));
  ASSERT_TRUE(put.ok());
  ASSERT_EQ(put->status, 200u) << put->body;
  auto made = ai_call(d, Verb::post, "/v1/responses", R"({"model": "gpt", "input": "remember this"})", "sk-team-a-0123456789");
  ASSERT_EQ(made.status, 200u) << made.body;
  const std::string id(bj::parse(made.body).at("id").as_string());
  d.kill(SIGKILL);  // no shutdown: only what was journaled as it happened

  DaemonProcess again(d.dir());
  ASSERT_TRUE(again.start()) << again.log();
  auto read = ai_call(again, Verb::get, "/v1/responses/" + id, "", "sk-team-a-0123456789");
  EXPECT_EQ(read.status, 200u) << read.body;
  EXPECT_EQ(bj::parse(read.body).at("id").as_string(), id);
  EXPECT_EQ(ai_call(again, Verb::get, "/v1/responses/" + id, "", "sk-team-b-0123456789").status, 404u);
  auto next = ai_call(again, Verb::post, "/v1/responses",
                   R"({"model": "gpt", "input": "and then", "previous_response_id": ")" + id + R"("})", "sk-team-a-0123456789");
  EXPECT_EQ(next.status, 200u) << next.body;
  const auto before = upstream.request_count();
  auto stolen = ai_call(again, Verb::post, "/v1/responses",
                     R"({"model": "gpt", "input": "x", "previous_response_id": ")" + id + R"("})", "sk-team-b-0123456789");
  EXPECT_EQ(stolen.status, 404u) << stolen.body;
  EXPECT_EQ(upstream.request_count(), before);
}

// A Responses answer made in translation is kept by the gateway itself
// (here: a local-only key's call, which the route's in-account fallback
// answers through chat), journaled as it is made: after a crash it is
// still read by its key only, and its conversation goes on.
TEST(AiRestart, KeptTranslatedAnswersSurviveACrash) {
  fakes::FakeOpenAi local("local");
  ASSERT_TRUE(local.start().ok());
  DaemonProcess d;
  ASSERT_TRUE(d.start()) << d.log();
  const std::string ai = R"({"value": {"enabled": true,
      "providers": [{"name": "remote", "kind": "openai", "base_url": "http://127.0.0.1:1/v1"},
                    {"name": "local", "kind": "vllm", "endpoints": [")" + local.base_url() + R"("]}],
      "routes": [{"alias": "gpt", "target": "remote/gpt-4o", "fallbacks": ["local/llama-3"]}],
      "virtual_keys": [{"name": "a", "key": "sk-team-a-0123456789", "local_only": true},
                       {"name": "b", "key": "sk-team-b-0123456789", "local_only": true}]}})";
  auto put = http::Client(d.endpoint()).send(Verb::put, "/api/v1/config/ai", ai, d.auth("0"));
  ASSERT_TRUE(put.ok());
  ASSERT_EQ(put->status, 200u) << put->body;
  auto made = ai_call(d, Verb::post, "/v1/responses", R"({"model": "gpt", "input": "remember this"})", "sk-team-a-0123456789");
  ASSERT_EQ(made.status, 200u) << made.body;
  EXPECT_EQ(made.header("x-spectra-provider"), "local");
  const std::string id(bj::parse(made.body).at("id").as_string());
  d.kill(SIGKILL);  // no shutdown: only what was journaled as it happened

  DaemonProcess again(d.dir());
  ASSERT_TRUE(again.start()) << again.log();
  auto read = ai_call(again, Verb::get, "/v1/responses/" + id, "", "sk-team-a-0123456789");
  ASSERT_EQ(read.status, 200u) << read.body;
  EXPECT_EQ(bj::parse(read.body), bj::parse(made.body));
  EXPECT_EQ(ai_call(again, Verb::get, "/v1/responses/" + id, "", "sk-team-b-0123456789").status, 404u);
  auto next = ai_call(again, Verb::post, "/v1/responses",
                   R"({"model": "gpt", "input": "and then", "previous_response_id": ")" + id + R"("})", "sk-team-a-0123456789");
  ASSERT_EQ(next.status, 200u) << next.body;
  EXPECT_EQ(bj::parse(local.last_body()).at("messages"),
            bj::parse(R"([{"role":"user","content":"remember this"},{"role":"assistant","content":"local says: remember this"},
                          {"role":"user","content":"and then"}])"))
      << local.last_body();
  EXPECT_EQ(local.request_count(), 2u);
}

}  // namespace
}  // namespace spectra::testing
