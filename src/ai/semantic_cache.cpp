#include "ai/semantic_cache.h"

#include <hnswlib/hnswlib.h>

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/crypto.h"
#include "common/json_util.h"

namespace spectra::ai {

namespace asio = boost::asio;

// ---- batching --------------------------------------------------------------

struct EmbedBatcher::Job {
  const std::vector<std::string>* texts = nullptr;
  std::shared_ptr<asio::steady_timer> timer;
  Result<std::vector<std::vector<float>>> out = Status(Code::kInternal, "not run");
  bool done = false;  // guarded by the batcher's mu_
};

EmbedBatcher::EmbedBatcher(std::shared_ptr<const embed::Embedder> embedder, std::size_t max_batch)
    : embedder_(std::move(embedder)), max_batch_(max_batch), worker_([this] { run(); }) {}

EmbedBatcher::~EmbedBatcher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

std::uint64_t EmbedBatcher::batches() const {
  std::lock_guard lock(mu_);
  return batches_;
}

asio::awaitable<Result<std::vector<std::vector<float>>>> EmbedBatcher::embed(const std::vector<std::string>& texts) {
  auto job = std::make_shared<Job>();
  job->texts = &texts;
  job->timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor,
                                                    asio::steady_timer::time_point::max());
  {
    std::lock_guard lock(mu_);
    queue_.push_back(job);
  }
  cv_.notify_one();
  boost::system::error_code ec;
  co_await job->timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  std::lock_guard lock(mu_);
  if (!job->done) co_return Status(Code::kUnavailable, "embedding was not completed");
  co_return std::move(job->out);
}

void EmbedBatcher::run() {
  for (;;) {
    std::vector<std::shared_ptr<Job>> jobs;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_ && queue_.empty()) return;
      std::size_t n = 0;
      while (!queue_.empty() && (jobs.empty() || n + queue_.front()->texts->size() <= max_batch_)) {
        n += queue_.front()->texts->size();
        jobs.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      ++batches_;
    }
    std::vector<std::string> all;
    for (const auto& j : jobs) all.insert(all.end(), j->texts->begin(), j->texts->end());
    auto result = embedder_->embed(all);
    std::size_t at = 0;
    {
      std::lock_guard lock(mu_);
      for (const auto& j : jobs) {
        if (result.ok()) {
          std::vector<std::vector<float>> mine(result->begin() + static_cast<std::ptrdiff_t>(at),
                                               result->begin() + static_cast<std::ptrdiff_t>(at + j->texts->size()));
          j->out = std::move(mine);
        } else {
          j->out = result.status();
        }
        at += j->texts->size();
        j->done = true;
      }
    }
    for (const auto& j : jobs) asio::post(j->timer->get_executor(), [t = j->timer] { t->cancel(); });
  }
}

// ---- index -----------------------------------------------------------------

struct SemanticIndex::Partition {
  explicit Partition(std::size_t dims) : dims(dims), space(dims) {}
  const std::size_t dims;  // of its first vector: one embedder per partition
  std::mutex mu;
  hnswlib::InnerProductSpace space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index;  // guarded by mu
  std::vector<std::string> labels;                         // guarded by mu
};

SemanticIndex::SemanticIndex(std::size_t max_per_partition) : max_per_partition_(max_per_partition) {}

SemanticIndex::~SemanticIndex() = default;

std::optional<std::pair<std::string, float>> SemanticIndex::nearest(const std::string& partition,
                                                                     const std::vector<float>& v) const {
  std::shared_ptr<Partition> p;
  {
    std::lock_guard lock(mu_);
    auto it = parts_.find(partition);
    if (it == parts_.end()) return std::nullopt;
    p = it->second;
  }
  std::lock_guard lock(p->mu);
  // A vector of another length is another embedding space: never comparable.
  if (!p->index || p->labels.empty() || v.size() != p->dims) return std::nullopt;
  auto found = p->index->searchKnn(v.data(), 1);
  if (found.empty()) return std::nullopt;
  auto [dist, label] = found.top();
  return std::make_pair(p->labels[label], 1.0f - dist);
}

void SemanticIndex::add(const std::string& partition, const std::vector<float>& v, const std::string& label) {
  if (v.empty()) return;
  std::shared_ptr<Partition> p;
  {
    std::lock_guard lock(mu_);
    auto& slot = parts_[partition];
    if (!slot) slot = std::make_shared<Partition>(v.size());
    p = slot;
  }
  std::lock_guard lock(p->mu);
  if (v.size() != p->dims) return;
  if (p->labels.size() >= max_per_partition_) return;  // full: newer prompts are not indexed
  if (!p->index) p->index = std::make_unique<hnswlib::HierarchicalNSW<float>>(&p->space, 64, 16, 100);
  if (p->labels.size() == p->index->max_elements_) p->index->resizeIndex(p->index->max_elements_ * 2);
  p->index->addPoint(v.data(), p->labels.size());
  p->labels.push_back(label);
}

std::size_t SemanticIndex::partitions() const {
  std::lock_guard lock(mu_);
  return parts_.size();
}

}  // namespace spectra::ai
