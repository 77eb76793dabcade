// SIGKILL while four clients write config in a loop: after a restart every
// revision acknowledged with a 2xx is present and intact, and no partial
// revision exists.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "daemon_process.h"

namespace spectra::testing {
namespace {

namespace bj = boost::json;
using http::Verb;

TEST(CrashTest, AcknowledgedRevisionsSurviveSigkill) {
  std::string dir;
  std::map<std::int64_t, std::int64_t> acked;  // revision -> queue_num written
  std::mutex mu;
  {
    DaemonProcess d;
    ASSERT_TRUE(d.start()) << d.log();
    dir = d.dir() + "-keep";
    std::atomic<bool> stop{false};
    std::atomic<int> writes{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
      writers.emplace_back([&, w] {
        http::Client c(d.endpoint(), std::chrono::seconds(5));
        for (int i = 0; i < 2000 && !stop.load(); ++i) {
          auto cur = c.send(Verb::get, "/api/v1/config/ips", "", d.auth());
          if (!cur.ok()) return;  // the daemon is gone
          auto head = bj::parse(cur->body).at("revision").as_int64();
          std::int64_t value = 1 + w * 10000 + i;  // unique per write
          auto r = c.send(Verb::put, "/api/v1/config/ips",
                          R"({"value":{"queue_num":)" + std::to_string(value) + "}}", d.auth(std::to_string(head)));
          if (!r.ok()) return;
          if (r->status == 200) {
            auto rev = bj::parse(r->body).at("revision").as_int64();
            std::lock_guard lock(mu);
            acked[rev] = value;
            ++writes;
          } else if (r->status != 409) {
            ADD_FAILURE() << "unexpected " << r->status << " " << r->body;
            return;
          }
        }
      });
    }
    // Kill once a fair number of writes went through (bounded wait).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (writes.load() < 40 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    d.kill(SIGKILL);
    stop = true;
    for (auto& t : writers) t.join();
    ASSERT_GE(writes.load(), 40);
    std::filesystem::remove_all(dir);
    std::filesystem::copy(d.dir(), dir, std::filesystem::copy_options::recursive);
  }
  DaemonProcess again(dir);
  ASSERT_TRUE(again.start()) << again.log();
  http::Client c(again.endpoint());
  auto head = bj::parse(c.send(Verb::get, "/api/v1/config", "", again.auth())->body).at("revision").as_int64();
  ASSERT_GE(head, acked.rbegin()->first);
  // Every acknowledged revision holds exactly what was written.
  for (const auto& [rev, value] : acked) {
    auto r = c.send(Verb::get, "/api/v1/revisions/" + std::to_string(rev), "", again.auth());
    ASSERT_EQ(r->status, 200u) << "revision " << rev << ": " << r->body;
    EXPECT_EQ(bj::parse(r->body).at("config").at("ips").at("queue_num").as_int64(), value) << rev;
  }
  // No partial revision: every revision up to the head is complete and readable.
  for (std::int64_t rev = 1; rev <= head; ++rev) {
    auto r = c.send(Verb::get, "/api/v1/revisions/" + std::to_string(rev), "", again.auth());
    ASSERT_EQ(r->status, 200u) << rev;
    auto j = bj::parse(r->body);
    EXPECT_EQ(j.at("revision").at("revision").as_int64(), rev);
    EXPECT_TRUE(j.at("config").as_object().contains("network"));
  }
  auto beyond = c.send(Verb::get, "/api/v1/revisions/" + std::to_string(head + 1), "", again.auth());
  EXPECT_EQ(beyond->status, 404u);
  // And the restarted store accepts new writes on top.
  auto w = c.send(Verb::put, "/api/v1/config/ips", R"({"value":{"queue_num":7}})", again.auth(std::to_string(head)));
  EXPECT_EQ(w->status, 200u) << w->body;
  again.kill(SIGTERM);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spectra::testing
