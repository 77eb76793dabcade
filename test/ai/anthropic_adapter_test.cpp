// AnthropicAdapter::build_chat: every OpenAI -> Anthropic request rule, with
// golden request bodies for the whole shape.
#include "ai/anthropic_adapter.h"

#include "anthropic_test_util.h"

namespace spectra::ai::testing {
namespace {

std::string dump(const bj::value& v) { return bj::serialize(v); }

TEST(AnthropicRequest, GoldenFullRequest) {
  AnthropicAdapter a;
  auto r = a.build_chat(obj(read_testdata("anthropic_request_full.openai.json")), target(), true);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  bj::value got = bj::parse(r->body);
  bj::value want = bj::parse(read_testdata("anthropic_request_full.anthropic.json"));
  EXPECT_EQ(got, want) << "got:  " << dump(got) << "\nwant: " << dump(want);
}

TEST(AnthropicRequest, MinimalRequestUrlHeadersAndDefaultMaxTokens) {
  AnthropicAdapter a;
  auto r = a.build_chat(obj(R"({"model":"x","messages":[{"role":"user","content":"Hi"}]})"),
                        target(), false);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->url, "http://127.0.0.1:9999/v1/messages");
  using H = std::pair<std::string, std::string>;
  EXPECT_EQ(r->headers, (std::vector<H>{{"anthropic-version", "2023-06-01"},
                                        {"content-type", "application/json"}}));
  // Golden body, byte for byte: key order is stable.
  EXPECT_EQ(r->body, R"({"model":"claude-3-5-sonnet-20241022","max_tokens":4096,)"
                     R"("messages":[{"role":"user","content":"Hi"}]})");
}

// Thinking: Anthropic's own object taken as is (disabled: none); an
// assistant's thinking_blocks go first in its turn only with thinking on
// (without it they are left out); a malformed block is refused by name.
TEST(AnthropicRequest, ThinkingObjectAndThinkingBlocks) {
  AnthropicAdapter a;
  const std::string history = R"("messages":[{"role":"user","content":"q"},
      {"role":"assistant","content":"a","thinking_blocks":[{"type":"thinking","thinking":"t","signature":"s"},
                                                         {"type":"redacted_thinking","data":"d"}]},
      {"role":"user","content":"q2"}])";
  auto on = a.build_chat(obj(R"({"model":"x","max_tokens":3000,"thinking":{"type":"enabled","budget_tokens":2000},)" + history + "}"),
                         target(), false);
  ASSERT_TRUE(on.ok()) << on.status().to_string();
  auto body = bj::parse(on->body).as_object();
  EXPECT_EQ(body.at("thinking"), bj::parse(R"({"type":"enabled","budget_tokens":2000})"));
  EXPECT_EQ(body.at("max_tokens"), 3000);
  EXPECT_EQ(body.at("messages").at(1).at("content"),
            bj::parse(R"([{"type":"thinking","thinking":"t","signature":"s"},{"type":"redacted_thinking","data":"d"},
                          {"type":"text","text":"a"}])"));
  auto off = a.build_chat(obj(R"({"model":"x","thinking":{"type":"disabled"},)" + history + "}"), target(), false);
  ASSERT_TRUE(off.ok()) << off.status().to_string();
  body = bj::parse(off->body).as_object();
  EXPECT_FALSE(body.contains("thinking"));
  EXPECT_EQ(body.at("messages").at(1).at("content"), "a");
  auto bad = a.build_chat(obj(R"({"model":"x","reasoning_effort":"low","messages":[{"role":"user","content":"q"},
      {"role":"assistant","content":"a","thinking_blocks":[{"type":"thinking","thinking":"t"}]},
      {"role":"user","content":"q2"}]})"), target(), false);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("messages[1].thinking_blocks[0]"), std::string::npos) << bad.status().message();
}

// The Messages API relayed as it is (/v1/messages on the gateway): the
// provider's URL for a path and the headers it requires; no body.
TEST(AnthropicRequest, NativeRequestForTheMessagesRoutes) {
  AnthropicAdapter a;
  ModelTarget t = target();
  t.base_url.clear();
  auto r = a.native_request(t, "/messages/count_tokens");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->url, "https://api.anthropic.com/v1/messages/count_tokens");
  using H = std::pair<std::string, std::string>;
  EXPECT_EQ(r->headers, (std::vector<H>{{"anthropic-version", "2023-06-01"}, {"content-type", "application/json"}}));
  EXPECT_TRUE(r->body.empty());
  // A kind without a native API the gateway relays says so.
  struct NoNative : ProviderAdapter {
    Result<UpstreamRequest> build_chat(const bj::object&, const ModelTarget&, bool) const override { return UpstreamRequest{}; }
    Result<bj::object> parse_chat(unsigned, std::string_view, const ModelTarget&, Usage*, UpstreamError*) const override {
      return bj::object{};
    }
    std::unique_ptr<StreamTranslator> stream_translator(const ModelTarget&, std::string, std::int64_t) const override {
      return nullptr;
    }
    UpstreamError parse_error(unsigned, std::string_view) const override { return {}; }
  };
  EXPECT_EQ(NoNative().native_request(t, "/messages").status().code(), Code::kNotFound);
}

TEST(AnthropicRequest, BaseUrlTrailingSlashAndDefault) {
  AnthropicAdapter a;
  ModelTarget t = target();
  t.base_url = "http://h:1/";
  auto r = a.build_chat(obj(R"({"messages":[{"role":"user","content":"Hi"}]})"), t, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->url, "http://h:1/v1/messages");
  t.base_url = "";
  r = a.build_chat(obj(R"({"messages":[{"role":"user","content":"Hi"}]})"), t, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->url, "https://api.anthropic.com/v1/messages");
  t.model = "";
  EXPECT_FALSE(
      a.build_chat(obj(R"({"messages":[{"role":"user","content":"Hi"}]})"), t, false).ok());
}

TEST(AnthropicRequest, StreamFlagFollowsTheArgumentNotTheRequest) {
  auto body =
      anthropic_body(R"({"stream":true,"messages":[{"role":"user","content":"Hi"}]})", false);
  EXPECT_FALSE(body.contains("stream"));
  body = anthropic_body(R"({"messages":[{"role":"user","content":"Hi"}]})", true);
  EXPECT_EQ(body.at("stream"), true);
}

TEST(AnthropicRequest, SingleSystemMessageIsAString) {
  auto body = anthropic_body(
      R"({"messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"Hi"}]})");
  EXPECT_EQ(body.at("system"), "Be terse.");
}

TEST(AnthropicRequest, SystemAndDeveloperAnywhereBecomeBlocksInOrder) {
  auto body = anthropic_body(R"({"messages":[
    {"role":"developer","content":"A"},{"role":"user","content":"Hi"},
    {"role":"system","content":[{"type":"text","text":"B","cache_control":{"type":"ephemeral"}}]},
    {"role":"user","content":"again"}]})");
  EXPECT_EQ(body.at("system"), bj::parse(R"([{"type":"text","text":"A"},
    {"type":"text","text":"B","cache_control":{"type":"ephemeral"}}])"));
  // The system message between two user messages leaves them adjacent: merged.
  EXPECT_EQ(body.at("messages"), bj::parse(R"([{"role":"user","content":[
    {"type":"text","text":"Hi"},{"type":"text","text":"again"}]}])"));
}

TEST(AnthropicRequest, SystemMessageWithImageIsRefused) {
  EXPECT_NE(build_error(R"({"messages":[{"role":"system","content":[{"type":"image_url",
    "image_url":{"url":"https://x/y.png"}}]},{"role":"user","content":"Hi"}]})"),
            "");
}

TEST(AnthropicRequest, ConsecutiveSameRoleMessagesAreMerged) {
  auto body = anthropic_body(R"({"messages":[
    {"role":"user","content":"a"},{"role":"user","content":[{"type":"text","text":"b"}]},
    {"role":"assistant","content":"c"},{"role":"assistant","content":"d"},
    {"role":"user","content":"e"}]})");
  EXPECT_EQ(body.at("messages"), bj::parse(R"([
    {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
    {"role":"assistant","content":[{"type":"text","text":"c"},{"type":"text","text":"d"}]},
    {"role":"user","content":"e"}])"));
}

TEST(AnthropicRequest, EmptyTextIsDroppedAndEmptyMessagesVanish) {
  auto body = anthropic_body(R"({"messages":[
    {"role":"user","content":"a"},{"role":"assistant","content":""},
    {"role":"user","content":[{"type":"text","text":""},{"type":"text","text":"b"}]}]})");
  EXPECT_EQ(body.at("messages"), bj::parse(R"([
    {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}])"));
  EXPECT_NE(build_error(R"({"messages":[{"role":"user","content":""}]})").find("at least one"),
            std::string::npos);
  EXPECT_NE(build_error(R"({"messages":[]})"), "");
  EXPECT_NE(build_error(R"({"messages":[{"role":"user"}]})").find("messages[0].content"),
            std::string::npos);
  EXPECT_NE(build_error(R"({"model":"x"})").find("messages"), std::string::npos);
}

TEST(AnthropicRequest, ImageDataUrlsAndHttpUrls) {
  auto body = anthropic_body(R"({"messages":[{"role":"user","content":[
    {"type":"image_url","image_url":{"url":"data:image/JPG;base64,/9j/4AAQ"}},
    {"type":"image_url","image_url":{"url":"data:image/webp;charset=x;base64,UklGR"}},
    {"type":"image_url","image_url":"http://example.com/a.gif"},
    {"type":"image_url","image_url":{"url":"https://example.com/b.png"},"cache_control":{"type":"ephemeral"}}]}]})");
  EXPECT_EQ(body.at("messages").at(0).at("content"), bj::parse(R"([
    {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4AAQ"}},
    {"type":"image","source":{"type":"base64","media_type":"image/webp","data":"UklGR"}},
    {"type":"image","source":{"type":"url","url":"http://example.com/a.gif"}},
    {"type":"image","source":{"type":"url","url":"https://example.com/b.png"},"cache_control":{"type":"ephemeral"}}])"));
}

TEST(AnthropicRequest, BadImagesAreRefusedWithTheirPath) {
  auto msg = [](const std::string& url) {
    return build_error(R"({"messages":[{"role":"user","content":[{"type":"text","text":"x"},
      {"type":"image_url","image_url":{"url":")" +
                       url + R"("}}]}]})");
  };
  EXPECT_NE(msg("data:image/bmp;base64,Qk0=").find("image/bmp"), std::string::npos);
  EXPECT_NE(msg("data:image/png,rawbytes").find("messages[0].content[1].image_url.url"),
            std::string::npos);
  EXPECT_NE(msg("data:image/png;base64,"), "");
  EXPECT_NE(msg("ftp://example.com/a.png"), "");
  EXPECT_NE(build_error(R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})"), "");
}

TEST(AnthropicRequest, PdfFilesBecomeDocumentsOtherInputsAreRefused) {
  auto body = anthropic_body(R"({"messages":[{"role":"user","content":[
    {"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0="}},
    {"type":"text","text":"Summarise"}]}]})");
  EXPECT_EQ(body.at("messages").at(0).at("content").at(0), bj::parse(R"(
    {"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}})"));
  EXPECT_NE(build_error(R"({"messages":[{"role":"user","content":[
    {"type":"file","file":{"file_id":"file-1"}}]}]})")
                .find("file_id"),
            std::string::npos);
  EXPECT_NE(build_error(R"({"messages":[{"role":"user","content":[
    {"type":"file","file":{"file_data":"data:text/csv;base64,YQ=="}}]}]})"),
            "");
  EXPECT_NE(build_error(R"({"messages":[{"role":"user","content":[
    {"type":"input_audio","input_audio":{"data":"AAA","format":"wav"}}]}]})")
                .find("audio"),
            std::string::npos);
  EXPECT_NE(build_error(R"({"messages":[{"role":"user","content":[{"type":"video"}]}]})")
                .find("unsupported content part type 'video'"),
            std::string::npos);
  EXPECT_NE(build_error(R"({"messages":[{"role":"user","content":42}]})"), "");
}

TEST(AnthropicRequest, ToolCallArgumentsBecomeInputObjects) {
  auto body = anthropic_body(R"({"messages":[{"role":"user","content":"q"},
    {"role":"assistant","content":null,"tool_calls":[
      {"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":[1,2,{\"b\":null}]}"}},
      {"id":"c2","type":"function","function":{"name":"g","arguments":""}},
      {"id":"c3","function":{"name":"h","arguments":{"k":"v"}}}]},
    {"role":"tool","tool_call_id":"c1","content":"r1"},
    {"role":"tool","tool_call_id":"c2","content":""},
    {"role":"tool","tool_call_id":"c3","content":[{"type":"text","text":"r3a"},{"type":"text","text":"r3b"}]}]})");
  EXPECT_EQ(body.at("messages"), bj::parse(R"([
    {"role":"user","content":"q"},
    {"role":"assistant","content":[
      {"type":"tool_use","id":"c1","name":"f","input":{"a":[1,2,{"b":null}]}},
      {"type":"tool_use","id":"c2","name":"g","input":{}},
      {"type":"tool_use","id":"c3","name":"h","input":{"k":"v"}}]},
    {"role":"user","content":[
      {"type":"tool_result","tool_use_id":"c1","content":"r1"},
      {"type":"tool_result","tool_use_id":"c2"},
      {"type":"tool_result","tool_use_id":"c3","content":[{"type":"text","text":"r3a"},{"type":"text","text":"r3b"}]}]}])"));
}

TEST(AnthropicRequest, InvalidToolCallArgumentsGiveAClearError) {
  auto call = [](const std::string& args) {
    return build_error(R"({"messages":[{"role":"user","content":"q"},{"role":"assistant",
      "tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":)" +
                       args + R"(}}]}]})");
  };
  std::string e = call(R"("{\"a\":")");
  EXPECT_NE(e.find("messages[1].tool_calls[0].function.arguments"), std::string::npos) << e;
  EXPECT_NE(e.find("not valid JSON"), std::string::npos) << e;
  EXPECT_NE(call(R"("[1,2]")").find("JSON object"), std::string::npos);
  EXPECT_NE(call("42"), "");
  EXPECT_NE(build_error(R"({"messages":[{"role":"assistant","tool_calls":[{"type":"function",
    "function":{"name":"f","arguments":"{}"}}]}]})")
                .find(".id"),
            std::string::npos);
  EXPECT_NE(build_error(R"({"messages":[{"role":"assistant","tool_calls":[{"id":"c",
    "type":"custom","custom":{}}]}]})"),
            "");
  EXPECT_NE(build_error(R"({"messages":[{"role":"tool","content":"x"}]})").find("tool_call_id"),
            std::string::npos);
}

TEST(AnthropicRequest, ToolResultsComeFirstInTheirUserTurn) {
  // A user message that lands before a tool result in the same merged turn.
  auto body = anthropic_body(R"({"messages":[{"role":"user","content":"q"},
    {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
    {"role":"user","content":"note"},{"role":"tool","tool_call_id":"c1","content":"r"}]})");
  EXPECT_EQ(body.at("messages").at(2).at("content"), bj::parse(R"([
    {"type":"tool_result","tool_use_id":"c1","content":"r"},{"type":"text","text":"note"}])"));
}

TEST(AnthropicRequest, ToolsAndToolChoice) {
  const std::string tools = R"("tools":[{"type":"function","function":{"name":"f",
    "description":"d","parameters":{"type":"object","properties":{"x":{"type":"integer"}}},
    "strict":true}}],)";
  const std::string msgs = R"("messages":[{"role":"user","content":"q"}])";
  auto choice = [&](const std::string& c) {
    auto b = anthropic_body("{" + tools + R"("tool_choice":)" + c + "," + msgs + "}");
    return b.contains("tool_choice") ? bj::value(b.at("tool_choice")) : bj::value(nullptr);
  };
  EXPECT_EQ(choice(R"("auto")"), bj::parse(R"({"type":"auto"})"));
  EXPECT_EQ(choice(R"("none")"), bj::parse(R"({"type":"none"})"));
  EXPECT_EQ(choice(R"("required")"), bj::parse(R"({"type":"any"})"));
  EXPECT_EQ(choice(R"({"type":"function","function":{"name":"f"}})"),
            bj::parse(R"({"type":"tool","name":"f"})"));
  auto b = anthropic_body("{" + tools + msgs + "}");
  EXPECT_EQ(b.at("tools"), bj::parse(R"([{"name":"f","description":"d",
    "input_schema":{"type":"object","properties":{"x":{"type":"integer"}}}}])"));
  EXPECT_FALSE(b.contains("tool_choice"));
  b = anthropic_body("{" + tools + R"("parallel_tool_calls":false,)" + msgs + "}");
  EXPECT_EQ(b.at("tool_choice"), bj::parse(R"({"type":"auto","disable_parallel_tool_use":true})"));
  b = anthropic_body("{" + tools + R"("tool_choice":"none","parallel_tool_calls":false,)" + msgs +
                     "}");
  EXPECT_EQ(b.at("tool_choice"), bj::parse(R"({"type":"none"})"));
  b = anthropic_body("{" + tools + R"("parallel_tool_calls":true,)" + msgs + "}");
  EXPECT_FALSE(b.contains("tool_choice"));

  // Without tools: auto/none are dropped, forcing a tool is an error.
  b = anthropic_body(R"({"tool_choice":"auto","tools":[],)" + msgs + "}");
  EXPECT_FALSE(b.contains("tool_choice"));
  EXPECT_FALSE(b.contains("tools"));
  EXPECT_NE(build_error(R"({"tool_choice":"required",)" + msgs + "}").find("requires tools"),
            std::string::npos);
  EXPECT_NE(build_error("{" + tools + R"("tool_choice":"sometimes",)" + msgs + "}"), "");
  EXPECT_NE(build_error("{" + tools + R"("tool_choice":{"type":"function"},)" + msgs + "}"), "");
  EXPECT_NE(
      build_error(R"({"tools":[{"type":"code_interpreter"}],)" + msgs + "}").find("tools[0].type"),
      std::string::npos);
  EXPECT_NE(
      build_error(R"({"tools":[{"type":"function","function":{"name":"f","parameters":"x"}}],)" +
                  msgs + "}"),
      "");
}

TEST(AnthropicRequest, MaxTokens) {
  const std::string m = R"("messages":[{"role":"user","content":"q"}])";
  EXPECT_EQ(anthropic_body(R"({"max_tokens":100,)" + m + "}").at("max_tokens"), 100);
  EXPECT_EQ(anthropic_body(R"({"max_completion_tokens":200,)" + m + "}").at("max_tokens"), 200);
  EXPECT_EQ(anthropic_body(R"({"max_tokens":100,"max_completion_tokens":300,)" + m + "}")
                .at("max_tokens"),
            300);
  EXPECT_EQ(anthropic_body(R"({"max_tokens":null,)" + m + "}").at("max_tokens"), 4096);
  EXPECT_EQ(anthropic_body(R"({"max_tokens":64.0,)" + m + "}").at("max_tokens"), 64);
  for (const char* bad : {"0", "-1", "1.5", "\"10\"", "true", "1e300"}) {
    EXPECT_NE(
        build_error(std::string(R"({"max_tokens":)") + bad + "," + m + "}").find("max_tokens"),
        std::string::npos)
        << bad;
  }
  AnthropicOptions o;
  o.default_max_tokens = 1000;
  auto r = AnthropicAdapter(o).build_chat(obj("{" + m + "}"), target(), false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(bj::parse(r->body).at("max_tokens"), 1000);
}

TEST(AnthropicRequest, SamplingStopAndUser) {
  const std::string m = R"("messages":[{"role":"user","content":"q"}])";
  auto b = anthropic_body(
      R"({"temperature":1.7,"top_p":1,"top_k":5,"stop":["a","","b"],"user":"u1",)" + m + "}");
  EXPECT_EQ(b.at("temperature"), 1.0);  // clamped into Anthropic's range
  EXPECT_EQ(b.at("top_p"), 1);
  EXPECT_EQ(b.at("top_k"), 5);
  EXPECT_EQ(b.at("stop_sequences"), bj::parse(R"(["a","b"])"));
  EXPECT_EQ(b.at("metadata"), bj::parse(R"({"user_id":"u1"})"));
  b = anthropic_body(R"({"temperature":0,"stop":"x","user":"",)" + m + "}");
  EXPECT_EQ(b.at("temperature"), 0.0);
  EXPECT_EQ(b.at("stop_sequences"), bj::parse(R"(["x"])"));
  EXPECT_FALSE(b.contains("metadata"));
  b = anthropic_body(R"({"temperature":null,"stop":[],)" + m + "}");
  EXPECT_FALSE(b.contains("stop_sequences"));
  EXPECT_FALSE(b.contains("temperature"));
  EXPECT_NE(build_error(R"({"temperature":-0.1,)" + m + "}").find("temperature"),
            std::string::npos);
  EXPECT_NE(build_error(R"({"top_p":1.5,)" + m + "}").find("top_p"), std::string::npos);
  EXPECT_NE(build_error(R"({"stop":[1],)" + m + "}").find("stop"), std::string::npos);
  EXPECT_NE(build_error(R"({"user":7,)" + m + "}").find("user"), std::string::npos);
}

TEST(AnthropicRequest, ResponseFormatIsEmulatedWithASystemInstruction) {
  const std::string m =
      R"("messages":[{"role":"system","content":"S"},{"role":"user","content":"q"}])";
  auto b = anthropic_body(R"({"response_format":{"type":"json_object"},)" + m + "}");
  ASSERT_TRUE(b.at("system").is_array());
  EXPECT_EQ(b.at("system").at(0), bj::parse(R"({"type":"text","text":"S"})"));
  std::string instr(b.at("system").at(1).at("text").as_string());
  EXPECT_NE(instr.find("single valid JSON object"), std::string::npos);
  b = anthropic_body(R"({"response_format":{"type":"text"},)" + m + "}");
  EXPECT_EQ(b.at("system"), "S");
  // With no system prompt of its own, the instruction is the system string.
  b = anthropic_body(
      R"({"response_format":{"type":"json_object"},"messages":[{"role":"user","content":"q"}]})");
  EXPECT_TRUE(b.at("system").is_string());
  EXPECT_NE(build_error(R"({"response_format":{"type":"json_schema","json_schema":{"name":"n"}},)" +
                        m + "}")
                .find("response_format.json_schema.schema"),
            std::string::npos);
  EXPECT_NE(build_error(R"({"response_format":{"type":"yaml"},)" + m + "}"), "");
  EXPECT_NE(build_error(R"({"response_format":"json",)" + m + "}"), "");
}

TEST(AnthropicRequest, UnsupportedParametersAreInvalidRequests) {
  const std::string m = R"("messages":[{"role":"user","content":"q"}])";
  EXPECT_NE(build_error(R"({"n":2,)" + m + "}").find("n must be 1"), std::string::npos);
  EXPECT_NE(build_error(R"({"n":0,)" + m + "}"), "");
  EXPECT_NE(build_error(R"({"logprobs":true,)" + m + "}").find("logprobs"), std::string::npos);
  EXPECT_NE(build_error(R"({"top_logprobs":3,)" + m + "}").find("top_logprobs"), std::string::npos);
  EXPECT_NE(build_error(R"({"modalities":["text","audio"],)" + m + "}"), "");
  EXPECT_NE(build_error(R"({"audio":{"voice":"x"},)" + m + "}"), "");
  EXPECT_NE(build_error(R"({"functions":[{"name":"f"}],)" + m + "}").find("functions"),
            std::string::npos);
  EXPECT_NE(build_error(R"({"function_call":"auto",)" + m + "}"), "");
  EXPECT_NE(build_error(R"({"messages":[{"role":"function","name":"f","content":"x"}]})"), "");
  EXPECT_NE(
      build_error(
          R"({"messages":[{"role":"assistant","function_call":{"name":"f","arguments":"{}"}}]})"),
      "");
  EXPECT_NE(build_error(R"({"messages":[{"role":"robot","content":"x"}]})").find("unknown role"),
            std::string::npos);
  // Harmless values of the same parameters pass.
  EXPECT_EQ(build_error(R"({"n":1,"logprobs":false,"top_logprobs":null,"modalities":["text"],
    "seed":1,"frequency_penalty":0.5,"logit_bias":{"1":2},"store":false,)" +
                        m + "}"),
            "");
}

}  // namespace
}  // namespace spectra::ai::testing
