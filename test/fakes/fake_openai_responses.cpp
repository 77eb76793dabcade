// The fake's OpenAI Responses API (POST /v1/responses): the response object
// whole, or the typed event stream OpenAI sends (`event: <type>` lines,
// sequence_number from 0, no [DONE]): response.created, response.in_progress,
// output_item.added, content_part.added, output_text.delta per word,
// output_text.done, content_part.done, output_item.done, response.completed
// (function_call_arguments.delta/.done for a tool call).
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <sstream>

#include "fake_openai.h"

namespace spectra::fakes {

namespace asio = boost::asio;
namespace bj = boost::json;
using http::HttpStatus;

namespace {

std::string str_field(const bj::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The text of an input message's content: a string, or input_text parts.
std::string input_text(const bj::value& content) {
  if (content.is_string()) return std::string(content.get_string());
  std::string out;
  if (!content.is_array()) return out;
  for (const auto& p : content.get_array()) {
    if (!p.is_object()) continue;
    std::string t = str_field(p.get_object(), "text");
    if (!t.empty()) out += (out.empty() ? "" : " ") + t;
  }
  return out;
}

// What the fake reads of a request's input: usage counts the words of the
// instructions and of every input text; the reply answers the last user
// text, or the last tool output after one.
struct InputSummary {
  std::int64_t tokens = 0;
  std::string last_user, tool_output;
  bool last_is_tool = false;
};

InputSummary summarize(const bj::object& req) {
  InputSummary in;
  in.tokens = fake_word_count(str_field(req, "instructions"));
  const bj::value* input = req.if_contains("input");
  if (input && input->is_string()) {
    in.last_user = std::string(input->get_string());
    in.tokens += fake_word_count(in.last_user);
  } else if (input && input->is_array()) {
    for (const auto& item : input->get_array()) {
      if (!item.is_object()) continue;
      const auto& o = item.get_object();
      const std::string type = str_field(o, "type");
      if (type == "function_call_output") {
        in.tool_output = str_field(o, "output");
        in.tokens += fake_word_count(in.tool_output);
        in.last_is_tool = true;
      } else if (type.empty() || type == "message") {
        const std::string text = o.contains("content") ? input_text(o.at("content")) : "";
        in.tokens += fake_word_count(text);
        if (str_field(o, "role") == "user") in.last_user = text;
        in.last_is_tool = false;
      }
    }
  }
  return in;
}

http::Response error_json(unsigned status, const std::string& type, const std::string& msg) {
  bj::object err{{"error", bj::object{{"message", msg}, {"type", type}, {"param", nullptr}, {"code", nullptr}}}};
  return http::json_response(static_cast<HttpStatus>(status), err);
}

}  // namespace

asio::awaitable<void> FakeOpenAi::responses(http::Exchange& ex) {
  FakeOpenAiFaults f;
  {
    std::lock_guard lock(mu_);
    f = faults_;
  }
  if (co_await injected_failure(ex, f)) co_return;
  boost::system::error_code ec;
  bj::value parsed = bj::parse(ex.request().body(), ec);
  if (ec || !parsed.is_object() || !parsed.get_object().contains("input")) {
    http::Response r = error_json(400, "invalid_request_error", "Missing required parameter: 'input'.");
    co_await ex.respond(std::move(r));
    co_return;
  }
  const auto& req = parsed.get_object();
  const std::string model = str_field(req, "model");
  const std::string instructions = str_field(req, "instructions");
  const InputSummary in = summarize(req);
  const std::int64_t input_tokens = in.tokens;
  const std::string& last_user = in.last_user;
  const bool last_is_tool = in.last_is_tool;
  const bj::value& input = req.at("input");
  const auto* tools = req.if_contains("tools");
  const bool has_tools = tools && tools->is_array() && !tools->get_array().empty();
  const bool tool_call = has_tools && !last_is_tool && last_user.find("weather") != std::string::npos;
  const std::string reply = last_is_tool ? name_ + " says: the tool returned " + in.tool_output : name_ + " says: " + last_user;
  const std::string tool_name = tool_call ? str_field(tools->get_array()[0].get_object(), "name") : "";
  const std::string args = R"({"location":"Paris"})";
  const std::int64_t output_tokens = tool_call ? fake_word_count(args) : fake_word_count(reply);
  const std::string n = std::to_string(requests_.load());
  const std::string id = "resp_" + n, item_id = (tool_call ? "fc_" : "msg_") + n;

  bj::object text_part{{"type", "output_text"}, {"text", reply}, {"annotations", bj::array()}};
  bj::object item = tool_call ? bj::object{{"type", "function_call"}, {"id", item_id}, {"call_id", "call_" + n},
                                           {"name", tool_name}, {"arguments", args}, {"status", "completed"}}
                              : bj::object{{"type", "message"}, {"id", item_id}, {"status", "completed"},
                                           {"role", "assistant"}, {"content", bj::array{text_part}}};
  auto response = [&](const char* status, bj::array output, bj::value usage) {
    return bj::object{{"id", id},
                      {"object", "response"},
                      {"created_at", 1700000000},
                      {"status", status},
                      {"error", nullptr},
                      {"incomplete_details", nullptr},
                      {"instructions", instructions.empty() ? bj::value(nullptr) : bj::value(instructions)},
                      {"max_output_tokens", nullptr},
                      {"model", model},
                      {"output", std::move(output)},
                      {"parallel_tool_calls", true},
                      {"previous_response_id", req.contains("previous_response_id") ? req.at("previous_response_id") : nullptr},
                      {"temperature", 1.0},
                      {"tool_choice", "auto"},
                      {"tools", has_tools ? *tools : bj::value(bj::array())},
                      {"top_p", 1.0},
                      {"usage", std::move(usage)}};
  };
  const bj::object usage{{"input_tokens", input_tokens},
                         {"input_tokens_details", bj::object{{"cached_tokens", 0}}},
                         {"output_tokens", output_tokens},
                         {"output_tokens_details", bj::object{{"reasoning_tokens", 0}}},
                         {"total_tokens", input_tokens + output_tokens}};
  const auto* store = req.if_contains("store");
  if (!(store && store->is_bool() && !store->get_bool())) {  // stored unless store: false, as OpenAI does
    bj::array items;
    if (input.is_string()) {
      items.push_back(bj::object{{"id", "msg_in_" + n}, {"type", "message"}, {"role", "user"},
                                 {"content", bj::array{bj::object{{"type", "input_text"}, {"text", input}}}}});
    } else if (input.is_array()) {
      items = input.get_array();
    }
    std::lock_guard lock(mu_);
    stored_[id] = {response("completed", bj::array{item}, usage), std::move(items)};
  }
  const auto* s = req.if_contains("stream");
  if (!(s && s->is_bool() && s->get_bool())) {
    http::Response r = http::json_response(HttpStatus::ok, response("completed", bj::array{item}, usage));
    co_await ex.respond(std::move(r));
    co_return;
  }

  int seq = 0;
  auto event = [&seq](const char* type, bj::object data) {
    data["type"] = type;
    data["sequence_number"] = seq++;
    return std::string("event: ") + type + "\ndata: " + bj::serialize(data) + "\n\n";
  };
  http::bhttp::response<http::bhttp::empty_body> head{HttpStatus::ok, 11};
  head.set(http::bhttp::field::content_type, "text/event-stream; charset=utf-8");
  if (!co_await ex.begin_stream(std::move(head))) co_return;
  bj::object in_progress_item = item;
  in_progress_item["status"] = "in_progress";
  if (tool_call) {
    in_progress_item["arguments"] = "";
  } else {
    in_progress_item["content"] = bj::array();
  }
  std::string opening = event("response.created", {{"response", response("in_progress", {}, nullptr)}}) +
                        event("response.in_progress", {{"response", response("in_progress", {}, nullptr)}}) +
                        event("response.output_item.added", {{"output_index", 0}, {"item", in_progress_item}});
  std::vector<std::string> deltas;
  if (tool_call) {
    for (std::size_t i = 0; i < args.size(); i += 6) {
      deltas.push_back(event("response.function_call_arguments.delta",
                             {{"item_id", item_id}, {"output_index", 0}, {"delta", args.substr(i, 6)}}));
    }
  } else {
    bj::object empty_part{{"type", "output_text"}, {"text", ""}, {"annotations", bj::array()}};
    opening += event("response.content_part.added",
                     {{"item_id", item_id}, {"output_index", 0}, {"content_index", 0}, {"part", empty_part}});
    std::istringstream words(reply);
    std::string w;
    bool first = true;
    while (words >> w) {
      deltas.push_back(event("response.output_text.delta", {{"item_id", item_id},
                                                             {"output_index", 0},
                                                             {"content_index", 0},
                                                             {"delta", (first ? "" : " ") + w},
                                                             {"logprobs", bj::array()}}));
      first = false;
    }
  }
  if (!co_await ex.write(opening)) co_return;
  for (std::size_t i = 0; i < deltas.size(); ++i) {
    if (f.error_after_chunks >= 0 && static_cast<int>(i) == f.error_after_chunks) {
      std::string ev = event("error", {{"code", "server_error"}, {"message", "injected mid-stream failure"}, {"param", nullptr}});
      (void)co_await ex.write(ev);
      co_await ex.finish();
      co_return;
    }
    if (f.drop_after_chunks >= 0 && static_cast<int>(i) == f.drop_after_chunks) {
      throw std::runtime_error("injected connection drop");  // the server closes a half-sent stream
    }
    if (f.chunk_interval.count() > 0) {
      asio::steady_timer t(co_await asio::this_coro::executor, f.chunk_interval);
      co_await t.async_wait(asio::use_awaitable);
    }
    if (!co_await ex.write(deltas[i])) co_return;
  }
  std::string closing;
  if (tool_call) {
    closing += event("response.function_call_arguments.done", {{"item_id", item_id}, {"output_index", 0}, {"arguments", args}});
  } else {
    closing += event("response.output_text.done", {{"item_id", item_id},
                                                   {"output_index", 0},
                                                   {"content_index", 0},
                                                   {"text", reply},
                                                   {"logprobs", bj::array()}});
    closing += event("response.content_part.done",
                     {{"item_id", item_id}, {"output_index", 0}, {"content_index", 0}, {"part", text_part}});
  }
  closing += event("response.output_item.done", {{"output_index", 0}, {"item", item}});
  closing += event("response.completed", {{"response", response("completed", bj::array{item}, usage)}});
  if (co_await ex.write(closing)) co_await ex.finish();
}

// GET/DELETE /v1/responses/{id}, GET .../input_items, POST .../cancel.
asio::awaitable<void> FakeOpenAi::stored_response(http::Exchange& ex) {
  std::string_view rest(ex.request().target());
  rest.remove_prefix(std::string_view("/v1/responses/").size());
  rest = rest.substr(0, rest.find('?'));
  const auto slash = rest.find('/');
  const std::string id(rest.substr(0, slash));
  const std::string_view sub = slash == std::string_view::npos ? "" : rest.substr(slash);
  std::unique_lock lock(mu_);
  auto it = stored_.find(id);
  if (it == stored_.end()) {
    lock.unlock();
    http::Response r = error_json(404, "invalid_request_error", "Response with id '" + id + "' not found.");
    co_await ex.respond(std::move(r));
    co_return;
  }
  http::Response r;
  const auto method = ex.request().method();
  if (sub.empty() && method == http::Verb::get) {
    r = http::json_response(HttpStatus::ok, it->second.first);
  } else if (sub.empty() && method == http::Verb::delete_) {
    stored_.erase(it);
    r = http::json_response(HttpStatus::ok, bj::object{{"id", id}, {"object", "response"}, {"deleted", true}});
  } else if (sub == "/input_items" && method == http::Verb::get) {
    const bj::array& items = it->second.second;
    r = http::json_response(HttpStatus::ok, bj::object{{"object", "list"},
                                                       {"data", items},
                                                       {"first_id", items.empty() ? bj::value(nullptr) : items.front().at("id")},
                                                       {"last_id", items.empty() ? bj::value(nullptr) : items.back().at("id")},
                                                       {"has_more", false}});
  } else if (sub == "/cancel" && method == http::Verb::post) {
    r = error_json(400, "invalid_request_error", "Only responses created with background=true can be cancelled.");
  } else {
    r = error_json(404, "invalid_request_error", "Unknown request URL: " + std::string(ex.request().target()));
  }
  lock.unlock();
  co_await ex.respond(std::move(r));
}

// POST /v1/responses/input_tokens (a count, no usage: OpenAI does not bill
// it) and /v1/responses/compact (the user messages and one compaction item,
// with usage).
asio::awaitable<void> FakeOpenAi::response_tools(http::Exchange& ex) {
  boost::system::error_code ec;
  bj::value parsed = bj::parse(ex.request().body(), ec);
  if (ec || !parsed.is_object()) {
    http::Response r = error_json(400, "invalid_request_error", "We could not parse the JSON body of your request.");
    co_await ex.respond(std::move(r));
    co_return;
  }
  const auto& req = parsed.get_object();
  const InputSummary in = summarize(req);
  if (ex.request().target() == "/v1/responses/input_tokens") {
    http::Response r = http::json_response(HttpStatus::ok, bj::object{{"object", "response.input_tokens"}, {"input_tokens", in.tokens}});
    co_await ex.respond(std::move(r));
    co_return;
  }
  const std::string n = std::to_string(requests_.load());
  // The user messages as output message items, then the compaction item.
  bj::array output;
  auto user_message = [&](const std::string& text) {
    output.push_back(bj::object{{"type", "message"},
                                {"id", "msg_cmp_" + n + "_" + std::to_string(output.size())},
                                {"status", "completed"},
                                {"role", "user"},
                                {"content", bj::array{bj::object{{"type", "input_text"}, {"text", text}}}}});
  };
  if (const auto* input = req.if_contains("input"); input && input->is_array()) {
    for (const auto& item : input->get_array()) {
      if (item.is_object() && str_field(item.get_object(), "role") == "user") {
        user_message(item.get_object().contains("content") ? input_text(item.at("content")) : "");
      }
    }
  } else if (!in.last_user.empty()) {
    user_message(in.last_user);
  }
  output.push_back(bj::object{{"type", "compaction"}, {"id", "cmp_item_" + n}, {"encrypted_content", "fake-compaction-" + n}});
  const std::int64_t out_tokens = 1;
  bj::object res{{"id", "cmp_" + n},
                 {"object", "response.compaction"},
                 {"created_at", 1700000000},
                 {"output", std::move(output)},
                 {"usage", bj::object{{"input_tokens", in.tokens},
                                      {"input_tokens_details", bj::object{{"cached_tokens", 0}}},
                                      {"output_tokens", out_tokens},
                                      {"output_tokens_details", bj::object{{"reasoning_tokens", 0}}},
                                      {"total_tokens", in.tokens + out_tokens}}}};
  http::Response r = http::json_response(HttpStatus::ok, res);
  co_await ex.respond(std::move(r));
}

}  // namespace spectra::fakes
