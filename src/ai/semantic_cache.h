#pragma once
// The semantic cache: a prompt whose last user turn means the same as one
// answered before is answered from cache -- but only inside a partition
// keyed by tenant, resolved model, system prompt, tools, sampling
// parameters and every earlier turn. So a different model, system prompt or
// conversation can never be answered from another's cache entry: those
// false hits are impossible by construction, not filtered afterwards.
//
// Embeddings come from the built-in model (in-process, so prompts never
// leave the account), batched on a worker thread off the I/O threads, or
// from a configured provider's embeddings model (ai.cache.embedder).
// Nearest neighbours: hnswlib (inner product on unit vectors) per partition.
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ai/chat_request.h"
#include "common/result.h"
#include "embed/embedder.h"

namespace spectra::ai {

namespace bj = boost::json;


// Collects embed requests from any thread and runs them in batches.
class EmbedBatcher {
 public:
  explicit EmbedBatcher(std::shared_ptr<const embed::Embedder> embedder, std::size_t max_batch = 32);
  ~EmbedBatcher();
  EmbedBatcher(const EmbedBatcher&) = delete;
  EmbedBatcher& operator=(const EmbedBatcher&) = delete;

  // `texts` must stay alive until the co_await completes.
  boost::asio::awaitable<Result<std::vector<std::vector<float>>>> embed(const std::vector<std::string>& texts);
  int dimensions() const { return embedder_->dimensions(); }
  std::optional<std::int64_t> token_count(std::string_view text) const { return embedder_->token_count(text); }
  std::uint64_t batches() const;

  struct Job;

 private:
  void run();
  std::shared_ptr<const embed::Embedder> embedder_;
  std::size_t max_batch_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;  // guarded by mu_
  bool stop_ = false;                       // guarded by mu_
  std::uint64_t batches_ = 0;               // guarded by mu_
  std::thread worker_;
};

class SemanticIndex {
 public:
  // Each partition takes the dimensions of its first vector; vectors of
  // another length are neither added to it nor compared with it.
  explicit SemanticIndex(std::size_t max_per_partition = 100'000);
  ~SemanticIndex();
  // The closest entry in `partition`, if any: (label, cosine similarity).
  std::optional<std::pair<std::string, float>> nearest(const std::string& partition,
                                                       const std::vector<float>& v) const;
  void add(const std::string& partition, const std::vector<float>& v, const std::string& label);
  std::size_t partitions() const;

 private:
  struct Partition;
  std::size_t max_per_partition_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Partition>> parts_;  // guarded by mu_
};

}  // namespace spectra::ai
