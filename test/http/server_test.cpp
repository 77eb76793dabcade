// The shared HTTP server against raw sockets: limits, timeouts, keep-alive,
// streaming and drain. Real loopback sockets, short timeouts.
#include "http/server.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "http/client.h"
#include "http/router.h"
#include "raw_tcp.h"

namespace spectra::http {
namespace {

using namespace std::chrono_literals;

// Larger than any socket send buffer: the write cannot complete at once.
std::string big_body(std::size_t n) {
  std::string b(n, '\0');
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  return b;
}

std::string this_thread_name() {
  return std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add(Verb::get, "/hello", [](Exchange& ex, const Params&) -> asio::awaitable<void> {
      co_await ex.respond(text_response(HttpStatus::ok, "hello"));
    });
    router_.add(Verb::get, "/tagged", [](Exchange& ex, const Params&) -> asio::awaitable<void> {
      ex.add_header("x-added", "first");
      ex.add_header("x-added", "second");  // the later one wins
      ex.add_header("x-other", "kept");
      co_await ex.respond(text_response(HttpStatus::ok, "tagged"));
    });
    router_.add(Verb::post, "/echo", [](Exchange& ex, const Params&) -> asio::awaitable<void> {
      Response r = text_response(HttpStatus::ok, ex.request().body());
      co_await ex.respond(std::move(r));
    });
    router_.add(Verb::get, "/slow", [](Exchange& ex, const Params&) -> asio::awaitable<void> {
      asio::steady_timer t(co_await asio::this_coro::executor, 300ms);
      co_await t.async_wait(asio::use_awaitable);
      co_await ex.respond(text_response(HttpStatus::ok, "slow done"));
    });
    router_.add(Verb::get, "/stream", [](Exchange& ex, const Params&) -> asio::awaitable<void> {
      bhttp::response<bhttp::empty_body> head{HttpStatus::ok, 11};
      head.set(bhttp::field::content_type, "text/event-stream");
      ex.add_header("x-added", "stream");
      if (!co_await ex.begin_stream(std::move(head))) co_return;
      for (int i = 0; i < 3; ++i) {
        std::string ev = "data: " + std::to_string(i) + "\n\n";
        if (!co_await ex.write(ev)) co_return;
      }
      co_await ex.finish();
    });
    router_.add(Verb::get, "/big", [](Exchange& ex, const Params&) -> asio::awaitable<void> {
      Response r = text_response(HttpStatus::ok, big_body(8 << 20));
      co_await ex.respond(std::move(r));
    });
    router_.add(Verb::get, "/bigstream", [](Exchange& ex, const Params&) -> asio::awaitable<void> {
      bhttp::response<bhttp::empty_body> head{HttpStatus::ok, 11};
      if (!co_await ex.begin_stream(std::move(head), /*send_now=*/false)) co_return;
      std::string chunk = big_body(4 << 20);
      if (!co_await ex.write(chunk)) co_return;
      co_await ex.finish("tail");
    });
    // Which I/O thread served the request; /burn also keeps it busy for 2 ms.
    router_.add(Verb::get, "/thread", [](Exchange& ex, const Params&) -> asio::awaitable<void> {
      co_await ex.respond(text_response(HttpStatus::ok, this_thread_name()));
    });
    router_.add(Verb::get, "/burn", [](Exchange& ex, const Params&) -> asio::awaitable<void> {
      const auto until = std::chrono::steady_clock::now() + 2ms;
      while (std::chrono::steady_clock::now() < until) {
      }
      co_await ex.respond(text_response(HttpStatus::ok, this_thread_name()));
    });
    // A handler that blocks its I/O thread (what a handler must never do).
    router_.add(Verb::get, "/block", [](Exchange& ex, const Params&) -> asio::awaitable<void> {
      std::this_thread::sleep_for(300ms);
      co_await ex.respond(text_response(HttpStatus::ok, "blocked"));
    });
    router_.add(Verb::get, "/throws", [](Exchange&, const Params&) -> asio::awaitable<void> {
      throw std::runtime_error("boom");
      co_return;
    });
    ServerOptions o;
    o.body_limit = 1024;
    o.header_limit = 2048;
    o.header_timeout = 300ms;
    o.body_timeout = 300ms;
    o.idle_timeout = 500ms;
    server_ = std::make_unique<Server>(pool_, o, [this](Exchange& ex) { return router_.dispatch(ex); }, &metrics_);
    ASSERT_TRUE(server_->start().ok());
    pool_.start();
  }
  void TearDown() override {
    server_->stop(1s);
    pool_.stop();
    pool_.join();
  }

  // Sends raw bytes; returns everything read until the server closes or `wait` passes.
  std::string raw(const std::string& bytes, std::chrono::milliseconds wait = 2s, bool half_close = false) {
    return spectra::testing::raw_tcp_exchange(server_->port(), bytes, {.wait = wait, .half_close = half_close});
  }

  IoPool pool_{2};
  metrics::Registry metrics_;
  Router router_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  Client c({"127.0.0.1", server_->port(), ""});
  for (int i = 0; i < 20; ++i) {
    auto r = c.send(Verb::get, "/hello");
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->status, 200u);
    EXPECT_EQ(r->body, "hello");
    EXPECT_FALSE(r->header("x-request-id").empty());
  }
  EXPECT_EQ(metrics_.counter("spectra_http_connections_accepted_total", "", {{"server", "http"}}).value(), 1u);
}

// Clients reuse their warmest connections first, so the load can sit on
// one I/O thread while the other idles. Between requests the server moves
// idle connections to the less loaded thread until the two share it.
TEST_F(ServerTest, IdleConnectionsMoveToEvenOutTheThreadsLoad) {
  // Four connections that landed on the same thread (accept deals them out in turn).
  std::vector<std::unique_ptr<Client>> clients;
  std::string home;
  for (int i = 0; i < 8 && clients.size() < 4; ++i) {
    auto c = std::make_unique<Client>(Endpoint{"127.0.0.1", server_->port(), ""});
    auto r = c->send(Verb::get, "/thread");
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    if (home.empty()) home = r->body;
    if (r->body == home) clients.push_back(std::move(c));
  }
  ASSERT_EQ(clients.size(), 4u);
  auto& accepted = metrics_.counter("spectra_http_connections_accepted_total", "", {{"server", "http"}});
  auto& moved = metrics_.counter("spectra_http_connections_moved_total", "", {{"server", "http"}});
  const auto accepted_before = accepted.value();

  // Each keeps the server busy 2 ms a request, back to back: one thread
  // alone is saturated. Bounded: 3 s or 1,000 requests per connection.
  std::atomic<int> failures{0};
  std::vector<std::string> last(clients.size());
  std::vector<std::thread> load;
  const auto stop_at = std::chrono::steady_clock::now() + 3s;
  for (std::size_t k = 0; k < clients.size(); ++k) {
    load.emplace_back([&, k] {
      for (int i = 0; i < 1000 && std::chrono::steady_clock::now() < stop_at; ++i) {
        auto r = clients[k]->send(Verb::get, "/burn");
        if (!r.ok() || r->status != 200) {
          ++failures;
          return;
        }
        last[k] = r->body;
      }
    });
  }
  for (auto& t : load) t.join();

  EXPECT_EQ(failures.load(), 0);
  // The same connections throughout: moved, never closed and reopened.
  EXPECT_EQ(accepted.value(), accepted_before);
  EXPECT_GE(moved.value(), 1u);
  EXPECT_LE(moved.value(), 30u) << "connections went back and forth";
  std::set<std::string> serving(last.begin(), last.end());
  EXPECT_EQ(serving.size(), 2u) << "at the end both threads serve the four connections";
}

// One connection carrying all of a thread's load stays where it is: moving
// it would only move the imbalance (and back again).
TEST_F(ServerTest, TheOnlyBusyConnectionIsNotMoved) {
  Client c({"127.0.0.1", server_->port(), ""});
  std::set<std::string> threads;
  const auto stop_at = std::chrono::steady_clock::now() + 1500ms;
  for (int i = 0; i < 600 && std::chrono::steady_clock::now() < stop_at; ++i) {
    auto r = c.send(Verb::get, "/burn");
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    threads.insert(r->body);
  }
  EXPECT_EQ(threads.size(), 1u);
  EXPECT_EQ(metrics_.counter("spectra_http_connections_moved_total", "", {{"server", "http"}}).value(), 0u);
}

// A thread that cannot get to its timers for 50 ms or more is counted as
// stalled: here a handler that blocks its thread for 300 ms.
TEST_F(ServerTest, AThreadBlockedByItsHandlerCountsAStall) {
  auto stalls = [this] {
    std::uint64_t n = 0;
    for (const auto& l : pool_.loads()) n += l.stalls.load();
    return n;
  };
  const std::uint64_t before = stalls();
  Client c({"127.0.0.1", server_->port(), ""});
  auto r = c.send(Verb::get, "/block");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->body, "blocked");
  // The blocked thread counts it when it next samples (at most one window later).
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (stalls() == before && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_GT(stalls(), before);
}

// Answers are written at once when the socket takes them; what it does not
// take goes out asynchronously. A client that pauses after its first read
// forces that path: every byte must still arrive, in order.
TEST_F(ServerTest, AnswersLargerThanTheSocketBufferArriveWhole) {
  auto pause_once = [paused = false](const std::string&) mutable {
    if (!paused) std::this_thread::sleep_for(300ms);
    paused = true;
  };
  std::string resp = spectra::testing::raw_tcp_exchange(
      server_->port(), "GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {.wait = 5s, .on_read = pause_once});
  auto body_at = resp.find("\r\n\r\n");
  ASSERT_NE(body_at, std::string::npos);
  EXPECT_NE(resp.find("Content-Length: 8388608"), std::string::npos);
  EXPECT_TRUE(resp.substr(body_at + 4) == big_body(8 << 20)) << "got " << resp.size() - body_at - 4 << " body bytes";

  std::string streamed = spectra::testing::raw_tcp_exchange(
      server_->port(), "GET /bigstream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {.wait = 5s, .on_read = pause_once});
  auto at = streamed.find("\r\n\r\n400000\r\n");  // the 4 MiB chunk's size line, right after the header
  ASSERT_NE(at, std::string::npos) << streamed.substr(0, 300);
  const std::size_t data = at + 4 + 8;
  EXPECT_TRUE(streamed.compare(data, 4 << 20, big_body(4 << 20)) == 0);
  EXPECT_EQ(streamed.substr(data + (4 << 20)), "\r\n4\r\ntail\r\n0\r\n\r\n");
}

TEST_F(ServerTest, NotFoundAndMethodNotAllowed) {
  Client c({"127.0.0.1", server_->port(), ""});
  EXPECT_EQ(c.send(Verb::get, "/nope")->status, 404u);
  auto r = c.send(Verb::delete_, "/hello");
  EXPECT_EQ(r->status, 405u);
  EXPECT_EQ(r->header("allow"), "GET");
}

TEST_F(ServerTest, OversizeBodyIs413) {
  Client c({"127.0.0.1", server_->port(), ""});
  auto r = c.send(Verb::post, "/echo", std::string(4096, 'x'));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 413u);
  EXPECT_NE(r->body.find("body_too_large"), std::string::npos);
  // Declared length too large is refused before the body is read.
  std::string resp = raw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n");
  EXPECT_NE(resp.find("413"), std::string::npos);
}

TEST_F(ServerTest, OversizeHeaderIs431) {
  std::string resp = raw("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n");
  EXPECT_NE(resp.find("431"), std::string::npos);
}

TEST_F(ServerTest, MalformedRequestIs400) {
  std::string resp = raw("GARBAGE\r\n\r\n");
  EXPECT_NE(resp.find("400"), std::string::npos);
  resp = raw("GET /hello HTTP/1.1\r\nContent-Length: abc\r\n\r\n");
  EXPECT_NE(resp.find("400"), std::string::npos);
}

// Every error the HTTP layer answers by itself is rendered by the server's
// and the router's ErrorFormat, so each port answers in its API's shape
// (the AI port in OpenAI's).
Response tagged_error(HttpStatus status, std::string_view code, std::string_view message) {
  return text_response(status, "tagged " + std::string(code) + ": " + std::string(message));
}

TEST(ServerErrorFormat, EveryErrorOfTheLayerUsesTheConfiguredFormat) {
  IoPool pool{1};
  Router router(&tagged_error);
  router.add(Verb::post, "/echo", [](Exchange& ex, const Params&) -> asio::awaitable<void> {
    Response r = text_response(HttpStatus::ok, ex.request().body());
    co_await ex.respond(std::move(r));
  });
  router.add(Verb::get, "/silent", [](Exchange&, const Params&) -> asio::awaitable<void> { co_return; });
  ServerOptions o;
  o.body_limit = 1024;
  o.header_limit = 2048;
  o.error_format = &tagged_error;
  Server server(pool, o, [&router](Exchange& ex) { return router.dispatch(ex); }, nullptr);
  ASSERT_TRUE(server.start().ok());
  pool.start();
  auto raw = [&](const std::string& bytes) {
    return spectra::testing::raw_tcp_exchange(server.port(), bytes, {.wait = 2s});
  };
  struct Case {
    std::string request, status, body;
  };
  const Case cases[] = {
      {"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "404", "tagged not_found: no such resource: /nope"},
      {"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "405", "tagged method_not_allowed: method GET is not allowed on /echo"},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n", "413", "tagged body_too_large: request body exceeds 1024 bytes"},
      {"GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n", "431",
       "tagged header_too_large: request header exceeds 2048 bytes"},
      {"GARBAGE\r\n\r\n", "400", "tagged bad_request: malformed HTTP request"},
      {"GET /silent HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "500", "tagged internal: the request could not be completed"},
  };
  for (const Case& c : cases) {
    std::string resp = raw(c.request);
    EXPECT_EQ(resp.substr(0, 12), "HTTP/1.1 " + c.status) << resp;
    EXPECT_NE(resp.find("\r\n\r\n" + c.body), std::string::npos) << resp;
  }
  server.stop(1s);
  pool.stop();
  pool.join();
}

// A client that never finishes its header or body is disconnected at the
// phase deadline (300 ms here), not held open by trickled bytes.
TEST_F(ServerTest, SlowHeaderIsDisconnectedAtTheDeadline) {
  auto start = std::chrono::steady_clock::now();
  std::string resp = raw("GET /hello HTTP/1.1\r\nHost: x\r\n", 3s);  // never finishes the header
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(resp.empty());
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2s);
}

TEST_F(ServerTest, SlowBodyIsDisconnectedAtTheDeadline) {
  auto start = std::chrono::steady_clock::now();
  std::string resp = raw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc", 3s);
  EXPECT_TRUE(resp.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(ServerTest, IdleConnectionIsClosed) {
  auto start = std::chrono::steady_clock::now();
  std::string resp = raw("", 3s);
  EXPECT_TRUE(resp.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(ServerTest, HandlerExceptionIs500AndServerLives) {
  Client c({"127.0.0.1", server_->port(), ""});
  EXPECT_EQ(c.send(Verb::get, "/throws")->status, 500u);
  EXPECT_EQ(c.send(Verb::get, "/hello")->status, 200u);
}

// Headers a handler adds before it knows how it will answer go out with the
// answer, whole or streamed.
TEST_F(ServerTest, AddedHeadersGoOutWithTheAnswer) {
  std::string resp = raw("GET /tagged HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(resp.find("x-added: second\r\n"), std::string::npos) << resp;
  EXPECT_EQ(resp.find("x-added: first"), std::string::npos) << resp;
  EXPECT_NE(resp.find("x-other: kept\r\n"), std::string::npos) << resp;
  EXPECT_NE(resp.find("\r\n\r\ntagged"), std::string::npos) << resp;
}

TEST_F(ServerTest, ChunkedStream) {
  std::string resp = raw("GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(resp.find("x-added: stream\r\n"), std::string::npos) << resp;
  EXPECT_NE(resp.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(resp.find("data: 0"), std::string::npos);
  EXPECT_NE(resp.find("data: 2"), std::string::npos);
  EXPECT_NE(resp.find("\r\n0\r\n\r\n"), std::string::npos);
}

TEST_F(ServerTest, ExpectContinue) {
  std::string resp = raw("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi");
  EXPECT_NE(resp.find("100 Continue"), std::string::npos);
  EXPECT_NE(resp.find("\r\n\r\nhi"), std::string::npos);
}

TEST_F(ServerTest, DrainFinishesInFlightAndRefusesNew) {
  std::string slow;
  std::thread t([&] { slow = raw("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n", 3s); });
  // Wait until the slow request is in flight.
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (server_->connections() == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  std::this_thread::sleep_for(50ms);  // the request bytes reach the handler
  server_->stop(2s);
  t.join();
  EXPECT_NE(slow.find("slow done"), std::string::npos);
  EXPECT_NE(slow.find("Connection: close"), std::string::npos);
  EXPECT_EQ(server_->connections(), 0u);
  Client c({"127.0.0.1", server_->port(), ""}, 500ms);
  EXPECT_FALSE(c.send(Verb::get, "/hello").ok());
}

TEST(ClientUrl, Parse) {
  auto e = parse_base_url("http://127.0.0.1:8080/");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, 8080);
  EXPECT_TRUE(parse_base_url("http://[::1]:9")->host == "::1");
  EXPECT_FALSE(parse_base_url("https://x").ok());
  EXPECT_FALSE(parse_base_url("http://x:99999").ok());
  EXPECT_FALSE(parse_base_url("localhost:80").ok());
}

}  // namespace
}  // namespace spectra::http
