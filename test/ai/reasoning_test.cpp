// The reasoning rules for Claude (ai/reasoning.h): which models think
// adaptively, what reasoning_effort / thinking / output_config ask for, the
// output limit that goes with it.
#include "ai/reasoning.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace spectra::ai::reasoning {
namespace {

bj::object obj(std::string_view s) { return bj::parse(s).as_object(); }

TEST(ReasoningTest, ClaudeFromVersion46ThinksAdaptively) {
  for (const char* id : {"claude-opus-4-6", "claude-sonnet-4-6", "claude-opus-4-7", "claude-opus-4-8-20261001",
                         "claude-sonnet-5", "anthropic.claude-opus-4-6-v1:0", "us.anthropic.claude-opus-4-7-v1:0",
                         "claude-mythos-preview"}) {
    EXPECT_TRUE(thinks_adaptively(id)) << id;
  }
  for (const char* id : {"claude-3-7-sonnet-20250219", "claude-3-opus-20240229", "claude-sonnet-4-20250514",
                         "claude-opus-4-1-20250805", "claude-sonnet-4-5", "claude-haiku-4-5-20251001",
                         "anthropic.claude-3-7-sonnet-20250219-v1:0", "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                         "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc", "gpt-4o"}) {
    EXPECT_FALSE(thinks_adaptively(id)) << id;
  }
}

TEST(ReasoningTest, ReasoningEffortIsABudgetOrAnEffortByModel) {
  auto old = thinking(obj(R"({"reasoning_effort":"medium"})"), "claude-sonnet-4-5");
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->budget, 2048);
  EXPECT_FALSE(old->adaptive);
  EXPECT_EQ(old->object(), bj::parse(R"({"type":"enabled","budget_tokens":2048})"));
  EXPECT_TRUE(old->effort.empty());

  auto newer = thinking(obj(R"({"reasoning_effort":"minimal"})"), "claude-opus-4-7");
  ASSERT_TRUE(newer.ok());
  EXPECT_TRUE(newer->adaptive);
  EXPECT_EQ(newer->budget, 0);
  EXPECT_EQ(newer->effort, "low");
  EXPECT_EQ(newer->object(), bj::parse(R"({"type":"adaptive"})"));

  auto top = thinking(obj(R"({"reasoning_effort":"xhigh"})"), "claude-opus-4-7");
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->effort, "max");
  auto top_budget = thinking(obj(R"({"reasoning_effort":"xhigh"})"), "claude-3-7-sonnet-20250219");
  ASSERT_TRUE(top_budget.ok());
  EXPECT_EQ(top_budget->budget, 8192);

  auto none = thinking(obj(R"({"reasoning_effort":"none"})"), "claude-opus-4-7");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->on());
  EXPECT_FALSE(thinking(obj(R"({"reasoning_effort":"extreme"})"), "claude-opus-4-7").ok());
}

TEST(ReasoningTest, AThinkingObjectIsTakenAsSent) {
  // A client's own choice wins over the model rule, either way.
  auto budget = thinking(obj(R"({"thinking":{"type":"enabled","budget_tokens":5000}})"), "claude-opus-4-7");
  ASSERT_TRUE(budget.ok());
  EXPECT_EQ(budget->budget, 5000);
  auto adaptive = thinking(obj(R"({"thinking":{"type":"adaptive","display":"omitted"},"reasoning_effort":"high"})"),
                           "claude-sonnet-4-5");
  ASSERT_TRUE(adaptive.ok());
  EXPECT_TRUE(adaptive->adaptive);
  EXPECT_EQ(adaptive->effort, "high") << "reasoning_effort sets the effort of adaptive thinking";
  EXPECT_EQ(adaptive->object(), bj::parse(R"({"type":"adaptive","display":"omitted"})"));
  auto with_effort = thinking(obj(R"({"thinking":{"type":"adaptive"},"output_config":{"effort":"max"},
      "reasoning_effort":"low"})"), "claude-opus-4-7");
  ASSERT_TRUE(with_effort.ok());
  EXPECT_EQ(with_effort->effort, "max") << "output_config.effort wins";
  auto off = thinking(obj(R"({"thinking":{"type":"disabled"},"reasoning_effort":"high"})"), "claude-opus-4-7");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->on());
  auto effort_only = thinking(obj(R"({"output_config":{"effort":"low"}})"), "claude-opus-4-7");
  ASSERT_TRUE(effort_only.ok());
  EXPECT_FALSE(effort_only->on());
  EXPECT_EQ(effort_only->effort, "low");

  struct Bad {
    const char* request;
    const char* param;
  };
  for (const Bad& b : {Bad{R"({"thinking":{"type":"adaptive","budget_tokens":2048}})", "thinking.budget_tokens"},
                       Bad{R"({"thinking":{"type":"adaptive","display":"full"}})", "thinking.display"},
                       Bad{R"({"thinking":{"type":"enabled","budget_tokens":512}})", "thinking:"},
                       Bad{R"({"thinking":{"type":"sometimes"}})", "thinking:"},
                       Bad{R"({"output_config":{"effort":"extreme"}})", "output_config.effort"},
                       Bad{R"({"output_config":"high"})", "output_config:"}}) {
    auto r = thinking(obj(b.request), "claude-opus-4-7");
    ASSERT_FALSE(r.ok()) << b.request;
    EXPECT_EQ(r.status().message().rfind(b.param, 0), 0u) << r.status().message();
  }
}

TEST(ReasoningTest, TheOutputLimitMakesRoomForTheThinking) {
  Thinking budget{.budget = 2048};
  Thinking adaptive{.adaptive = true};
  EXPECT_EQ(*max_tokens_with_thinking(obj("{}"), budget, 4096), 4096 + 2048);
  EXPECT_EQ(*max_tokens_with_thinking(obj("{}"), adaptive, 4096), 4096 + 12288);
  EXPECT_EQ(*max_tokens_with_thinking(obj(R"({"max_tokens":3000})"), budget, 4096), 3000);
  EXPECT_FALSE(max_tokens_with_thinking(obj(R"({"max_tokens":2048})"), budget, 4096).ok());
  EXPECT_EQ(*max_tokens_with_thinking(obj(R"({"max_completion_tokens":500})"), adaptive, 4096), 500)
      << "adaptive thinking has no budget to exceed";
}

// A Messages request's thinking for a model behind OpenAI's chat API: as
// reasoning_effort, only for models that take it.
TEST(ReasoningTest, ThinkingForModelsThatReasonAtAnEffort) {
  for (const char* yes : {"o1", "o1-2024-12-17", "o3", "o3-mini", "o3-pro", "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5.1",
                          "gpt-5-codex", "gpt-oss-120b", "openai/gpt-oss-20b"}) {
    EXPECT_TRUE(takes_reasoning_effort("openai", yes)) << yes;
  }
  for (const char* no : {"gpt-4o", "gpt-4.1-mini", "o1-mini", "o1-preview", "gpt-5-chat-latest", "claude-opus-4-7", ""}) {
    EXPECT_FALSE(takes_reasoning_effort("openai", no)) << no;
  }
  EXPECT_TRUE(takes_reasoning_effort("vllm", "Qwen/Qwen3-8B"));
  EXPECT_FALSE(takes_reasoning_effort("anthropic", "o3")) << "Claude's own providers take thinking itself";
  EXPECT_FALSE(takes_reasoning_effort("bedrock", "gpt-oss-120b"));

  EXPECT_EQ(reasoning_effort_for(obj(R"({"thinking":{"type":"enabled","budget_tokens":4000}})")), "low");
  EXPECT_EQ(reasoning_effort_for(obj(R"({"thinking":{"type":"enabled","budget_tokens":10000}})")), "medium");
  EXPECT_EQ(reasoning_effort_for(obj(R"({"thinking":{"type":"enabled","budget_tokens":31999}})")), "high");
  EXPECT_EQ(reasoning_effort_for(obj(R"({"thinking":{"type":"adaptive"},"output_config":{"effort":"low"}})")), "low");
  EXPECT_EQ(reasoning_effort_for(obj(R"({"thinking":{"type":"adaptive"},"output_config":{"effort":"max"}})")), "high");
  EXPECT_EQ(reasoning_effort_for(obj(R"({"thinking":{"type":"adaptive"}})")), "") << "the model's own default";
  EXPECT_EQ(reasoning_effort_for(obj(R"({"thinking":{"type":"disabled"}})")), "");
  EXPECT_EQ(reasoning_effort_for(obj(R"({"output_config":{"effort":"high"}})")), "") << "no thinking asked";
  EXPECT_EQ(reasoning_effort_for(obj(R"({"thinking":{"type":"enabled","budget_tokens":10}})")), "");
  EXPECT_EQ(reasoning_effort_for(obj("{}")), "");
}

TEST(ReasoningTest, ThinkingOnOrOffIsAChatTemplateSwitch) {
  EXPECT_EQ(wants_thinking(obj(R"({"thinking":{"type":"disabled"}})")), false);
  EXPECT_EQ(wants_thinking(obj(R"({"thinking":{"type":"enabled","budget_tokens":2048}})")), true);
  EXPECT_EQ(wants_thinking(obj(R"({"thinking":{"type":"adaptive"}})")), true);
  EXPECT_EQ(wants_thinking(obj(R"({"reasoning_effort":"none"})")), false);
  EXPECT_EQ(wants_thinking(obj(R"({"reasoning_effort":"minimal"})")), true);
  EXPECT_EQ(wants_thinking(obj(R"({"thinking":{"type":"disabled"},"reasoning_effort":"high"})")), false)
      << "thinking is the more specific ask";
  EXPECT_EQ(wants_thinking(obj("{}")), std::nullopt) << "the model's default";
  EXPECT_EQ(wants_thinking(obj(R"({"thinking":{"type":"sometimes"}})")), std::nullopt);
  EXPECT_EQ(wants_thinking(obj(R"({"reasoning_effort":null})")), std::nullopt);

  bj::object plain = obj(R"({"model":"m"})");
  EXPECT_TRUE(switch_template_thinking(plain, "enable_thinking", false));
  EXPECT_EQ(plain, obj(R"({"model":"m","chat_template_kwargs":{"enable_thinking":false}})"));
  bj::object others = obj(R"({"chat_template_kwargs":{"custom":1}})");
  EXPECT_TRUE(switch_template_thinking(others, "thinking", true));
  EXPECT_EQ(others, obj(R"({"chat_template_kwargs":{"custom":1,"thinking":true}})"));
  bj::object own = obj(R"({"chat_template_kwargs":{"enable_thinking":true}})");
  EXPECT_FALSE(switch_template_thinking(own, "enable_thinking", false)) << "the client's own setting stands";
  EXPECT_EQ(own, obj(R"({"chat_template_kwargs":{"enable_thinking":true}})"));
  bj::object odd = obj(R"({"chat_template_kwargs":"x"})");
  EXPECT_FALSE(switch_template_thinking(odd, "enable_thinking", false));
  EXPECT_EQ(odd, obj(R"({"chat_template_kwargs":"x"})"));
}

}  // namespace
}  // namespace spectra::ai::reasoning
