// A local model's capacity (max_concurrency) holds for every call to it,
// not only chat's: /v1/completions, /v1/embeddings and the Responses API
// relayed to vLLM take a slot too, and the route's overflow policy decides
// what happens when none is free (reject, queue, spill). A spill goes only
// where the call could go anyway: embeddings to their own model, never a
// Responses call continuing another (its state is where it was made).
#include <boost/json/serialize.hpp>

#include <functional>
#include <thread>

#include "dialect_test_fixture.h"

namespace spectra::ai {
namespace {

using namespace std::chrono_literals;

class CapacityTest : public DialectTest {
 protected:
  void SetUp() override {
    DialectTest::SetUp();
    // "small": one slot on local's endpoint; its routes, one per policy.
    extra_providers_ = R"(, {"name": "small", "kind": "vllm", "endpoints": [")" + local_.base_url() +
                       R"("], "max_concurrency": 1})";
    extra_routes_ = R"(
      {"alias": "small-reject", "target": "small/llama-3"},
      {"alias": "small-spill", "target": "small/llama-3", "overflow": {"policy": "spill", "spill_to": "spare/llama-3"}},
      {"alias": "small-queue", "target": "small/llama-3", "overflow": {"policy": "queue", "max_wait_ms": 5000}},
      {"alias": "vec-spill", "target": "small/bge-small", "overflow": {"policy": "spill", "spill_to": "spare/bge-small"}},
      {"alias": "vec-elsewhere", "target": "small/bge-small", "overflow": {"policy": "spill", "spill_to": "spare/e5-large"}}, )";
    gw_->configure(config(R"({"exact_enabled": false})"));
  }
  http::ClientResponse complete(const std::string& model, const std::string& prompt, bool stream = false) {
    bj::object body{{"model", model}, {"prompt", prompt}, {"max_tokens", 16}};
    if (stream) body["stream"] = true;
    return post_openai("/v1/completions", bj::serialize(body));
  }
  http::ClientResponse embed(const std::string& model, const std::string& input) {
    return post_openai("/v1/embeddings", bj::serialize(bj::object{{"model", model}, {"input", input}}));
  }
  http::ClientResponse respond(const std::string& model, const std::string& input, const std::string& previous = "") {
    bj::object body{{"model", model}, {"input", input}};
    if (!previous.empty()) body["previous_response_id"] = previous;
    return post_openai("/v1/responses", bj::serialize(body));
  }
  // Runs `then` while a slow completion holds small's only slot (for `hold`).
  void while_held(const std::function<void()>& then, std::chrono::milliseconds hold = 600ms) {
    local_.set_faults({.latency = hold});
    const auto before = local_.request_count();
    std::thread busy([&] {
      auto r = complete("small-reject", "occupy the only slot");
      EXPECT_EQ(r.status, 200u) << r.body;
    });
    const bool taken = test::eventually([&] { return local_.request_count() > before; }, 5s);
    if (taken) then();
    busy.join();
    local_.set_faults({});
    ASSERT_TRUE(taken) << "the slot was never taken";
  }
  // The "small" provider's row of the upstreams' status (one endpoint).
  bj::object small_status() {
    for (const auto& row : gw_->upstream_status()) {
      if (row.at("provider") == "small") return row.as_object();
    }
    return {};
  }
  bool metric_is(const std::string& series, int value) {
    return metrics_.render().find(series + " " + std::to_string(value) + "\n") != std::string::npos;
  }
  static void expect_refused(const http::ClientResponse& r, const std::string& what) {
    EXPECT_EQ(r.status, 429u) << what << ": " << r.body;
    EXPECT_NE(r.body.find("capacity_exhausted"), std::string::npos) << what << ": " << r.body;
    EXPECT_FALSE(r.header("retry-after").empty()) << what;
  }
};

// With the reject policy every API is refused while the slot is held, and
// nothing of the refused calls reaches the model; each is served once the
// slot is free.
TEST_F(CapacityTest, EveryCallToALocalModelHoldsItsCapacity) {
  std::uint64_t asked_while_held = 0;
  while_held([&] {
    const auto before = local_.request_count();
    expect_refused(complete("small-reject", "whole"), "completions");
    expect_refused(complete("small-reject", "streamed", true), "streamed completions");
    expect_refused(embed("small/bge-small", "a chunk"), "embeddings");
    expect_refused(respond("small/llama-3", "hello"), "responses");
    expect_refused(post_openai("/v1/chat/completions",
                               R"({"model": "small-reject", "messages": [{"role": "user", "content": "hi"}]})"),
                   "chat");
    asked_while_held = local_.request_count() - before;
    const bj::object row = small_status();
    EXPECT_EQ(row.at("max_concurrency"), 1) << bj::serialize(row);
    EXPECT_EQ(row.at("in_flight"), 1) << bj::serialize(row);
    EXPECT_EQ(row.at("queued"), 0) << bj::serialize(row);
    EXPECT_TRUE(metric_is(R"(spectra_ai_model_requests_in_flight{provider="small"})", 1)) << metrics_.render();
  });
  EXPECT_EQ(asked_while_held, 0u);
  EXPECT_EQ(local_.max_in_flight(), 1);
  EXPECT_EQ(spare_.request_count(), 0u) << "no policy said spill";
  EXPECT_EQ(complete("small-reject", "whole").status, 200u);
  EXPECT_EQ(complete("small-reject", "streamed", true).status, 200u);
  EXPECT_EQ(embed("small/bge-small", "a chunk").status, 200u);
  EXPECT_EQ(respond("small/llama-3", "hello").status, 200u);
  int refused = 0;
  for (const auto& r : audit_records(10)) {
    if (r.at("status").as_int64() == 429) {
      ++refused;
      EXPECT_EQ(r.at("egress").as_string(), "none") << bj::serialize(r);
    }
  }
  EXPECT_EQ(refused, 5);
  EXPECT_EQ(small_status().at("in_flight"), 0);
  EXPECT_TRUE(metric_is(R"(spectra_ai_model_requests_in_flight{provider="small"})", 0)) << metrics_.render();
  EXPECT_TRUE(metric_is(R"(spectra_ai_overflow_total{provider="small",outcome="refused"})", 5)) << metrics_.render();
  EXPECT_FALSE(small_status().empty());
  for (const auto& row : gw_->upstream_status()) {
    EXPECT_EQ(row.as_object().contains("in_flight"), row.at("provider") == "small") << "only limited providers have slots";
  }
}

// The spill policy: completions and Responses calls go to the spill
// target; embeddings only when it is their model (another model's vectors
// would not match the client's index); a Responses call continuing one the
// full model made is never spilled (its state is there).
TEST_F(CapacityTest, APassThroughCallSpillsOnlyWhereItCouldGo) {
  auto made_here = respond("small-spill", "start");
  ASSERT_EQ(made_here.status, 200u) << made_here.body;
  ASSERT_EQ(made_here.header("x-spectra-provider"), "small");
  const std::string id(bj::parse(made_here.body).at("id").as_string());
  while_held([&] {
    auto spilled = complete("small-spill", "spill me");
    ASSERT_EQ(spilled.status, 200u) << spilled.body;
    EXPECT_EQ(spilled.header("x-spectra-provider"), "spare");
    auto streamed = complete("small-spill", "spill me too", true);
    ASSERT_EQ(streamed.status, 200u) << streamed.body;
    EXPECT_EQ(streamed.header("x-spectra-provider"), "spare");
    auto vectors = embed("vec-spill", "a chunk");
    ASSERT_EQ(vectors.status, 200u) << vectors.body;
    EXPECT_EQ(vectors.header("x-spectra-provider"), "spare");
    expect_refused(embed("vec-elsewhere", "a chunk"), "embeddings spilled to another model");
    auto started = respond("small-spill", "hello");
    ASSERT_EQ(started.status, 200u) << started.body;
    EXPECT_EQ(started.header("x-spectra-provider"), "spare");
    expect_refused(respond("small-spill", "go on", id), "a continuation of small's");
  });
  EXPECT_EQ(spare_.request_count(), 4u);
  int spills = 0;
  for (const auto& r : audit_records(8)) {
    if (r.at("fallback").is_string()) {
      EXPECT_TRUE(r.at("fallback") == "spare/llama-3" || r.at("fallback") == "spare/bge-small") << bj::serialize(r);
      ++spills;
    }
  }
  EXPECT_EQ(spills, 4);
  EXPECT_TRUE(metric_is(R"(spectra_ai_overflow_total{provider="small",outcome="spilled"})", 4)) << metrics_.render();
  EXPECT_TRUE(metric_is(R"(spectra_ai_overflow_total{provider="small",outcome="refused"})", 2)) << metrics_.render();
}

// The queue policy: a completion waits for the slot and is answered by the
// local model, never two at once.
TEST_F(CapacityTest, AQueuedPassThroughCallWaitsForTheSlot) {
  while_held([&] {
    std::thread waiting([&] {
      auto queued = complete("small-queue", "wait for it");
      EXPECT_EQ(queued.status, 200u) << queued.body;
      EXPECT_EQ(queued.header("x-spectra-provider"), "small");
    });
    EXPECT_TRUE(test::eventually([&] { return small_status().at("queued") == 1; }, 5s)) << bj::serialize(small_status());
    EXPECT_TRUE(metric_is(R"(spectra_ai_model_requests_queued{provider="small"})", 1)) << metrics_.render();
    waiting.join();
  }, /*hold=*/1500ms);
  EXPECT_TRUE(metric_is(R"(spectra_ai_model_requests_queued{provider="small"})", 0)) << metrics_.render();
  EXPECT_TRUE(metric_is(R"(spectra_ai_overflow_total{provider="small",outcome="queued"})", 1)) << metrics_.render();
  EXPECT_EQ(local_.max_in_flight(), 1);
  EXPECT_EQ(spare_.request_count(), 0u);
}

// The slot is free again by the time the client has its answer: a client
// asking again at once is never refused (whole, streamed, embeddings).
TEST_F(CapacityTest, AClientAskingAgainAtOnceFindsThePassThroughSlotFree) {
  for (int i = 0; i < 90; ++i) {
    const std::string text = "again " + std::to_string(i);
    auto r = i % 3 == 2 ? embed("small/bge-small", text) : complete("small-reject", text, i % 3 == 1);
    ASSERT_EQ(r.status, 200u) << "request " << i << ": " << r.body;
  }
  EXPECT_EQ(local_.max_in_flight(), 1);
}

}  // namespace
}  // namespace spectra::ai
