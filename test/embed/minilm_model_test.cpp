// Compares the native all-MiniLM-L6-v2 with the reference implementation
// (sentence-transformers + Hugging Face tokenizers), whose outputs are in
// testdata/minilm_reference.json (scripts/embed-reference-vectors.py).
//
// The model is a declared dependency installed by scripts/install-model: when
// it is missing every test here fails with that instruction; none is skipped.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "common/file_util.h"
#include "common/json_util.h"
#include "embed/minilm.h"
#include "embed/wordpiece_tokenizer.h"

namespace spectra::embed {
namespace {

using Vectors = std::vector<std::vector<float>>;

std::string model_dir() {
  if (const char* dir = std::getenv("SPECTRA_MINILM_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  return std::string(SPECTRA_SOURCE_DIR) + "/" + kMinilmRelativeDir;
}

struct Case {
  std::string text;
  std::vector<std::int32_t> ids;
  std::vector<float> embedding;
};

struct Reference {
  std::vector<Case> tokenizer_cases;
  std::vector<Case> embedding_cases;
};

std::vector<Case> parse_cases(const boost::json::array& arr) {
  std::vector<Case> out;
  for (const auto& v : arr) {
    const auto& o = v.as_object();
    Case c;
    c.text = std::string(o.at("text").as_string());
    for (const auto& id : o.at("ids").as_array()) c.ids.push_back(static_cast<int>(id.as_int64()));
    if (const auto* e = o.if_contains("embedding")) {
      for (const auto& x : e->as_array())
        c.embedding.push_back(static_cast<float>(x.to_number<double>()));
    }
    out.push_back(std::move(c));
  }
  return out;
}

Reference load_reference() {
  const std::string path =
      std::string(SPECTRA_SOURCE_DIR) + "/test/embed/testdata/minilm_reference.json";
  auto text = fs::read_file(path);
  EXPECT_TRUE(text.ok()) << path << ": " << text.status().to_string();
  if (!text.ok()) return {};
  auto doc = json::parse(*text, {.max_bytes = 4 << 20, .max_depth = 16});
  EXPECT_TRUE(doc.ok()) << path << ": " << doc.status().to_string();
  if (!doc.ok()) return {};
  const auto& root = doc->as_object();
  return {parse_cases(root.at("tokenizer_cases").as_array()),
          parse_cases(root.at("embedding_cases").as_array())};
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  return dot / std::sqrt(na * nb);
}

float max_abs_diff(const Vectors& a, const Vectors& b) {
  float worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    for (std::size_t j = 0; j < a[i].size(); ++j)
      worst = std::max(worst, std::abs(a[i][j] - b[i][j]));
  }
  return worst;
}

class MinilmModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    reference_ = new Reference(load_reference());
    auto loaded = load_minilm(model_dir());
    load_status_ = new Status(loaded.status());
    if (loaded.ok()) model_ = std::move(loaded).value().release();
  }
  static void TearDownTestSuite() {
    delete model_;
    delete load_status_;
    delete reference_;
    model_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(model_ != nullptr)
        << "all-MiniLM-L6-v2 could not be loaded from " << model_dir() << ": "
        << load_status_->to_string()
        << "\nThe model is a declared dependency: run scripts/install-model (or "
           "scripts/install-deps), or point SPECTRA_MINILM_DIR at a model folder.";
    ASSERT_EQ(reference_->embedding_cases.size(), 20u);
  }

  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const auto& c : reference_->embedding_cases) out.push_back(c.text);
    return out;
  }

  static inline const Embedder* model_ = nullptr;
  static inline Status* load_status_ = nullptr;
  static inline Reference* reference_ = nullptr;
};

TEST_F(MinilmModel, TokenizerIdsEqualReference) {
  auto tok = WordPieceTokenizer::from_vocab_file(model_dir() + "/vocab.txt");
  ASSERT_TRUE(tok.ok()) << tok.status().to_string();
  ASSERT_GE(reference_->tokenizer_cases.size(), 20u);
  for (const auto* cases : {&reference_->tokenizer_cases, &reference_->embedding_cases}) {
    for (const Case& c : *cases) {
      EXPECT_EQ(tok->encode(c.text, 256), c.ids) << "text: \"" << c.text << "\"";
    }
  }
}

TEST_F(MinilmModel, EmbeddingsMatchReference) {
  auto got = model_->embed(texts());
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  ASSERT_EQ(got->size(), reference_->embedding_cases.size());
  EXPECT_EQ(model_->dimensions(), 384);
  double worst = 1;
  for (std::size_t i = 0; i < got->size(); ++i) {
    const Case& c = reference_->embedding_cases[i];
    ASSERT_EQ((*got)[i].size(), 384u);
    const double cos = cosine((*got)[i], c.embedding);
    worst = std::min(worst, cos);
    EXPECT_GT(cos, 0.999) << "text: \"" << c.text << "\"";
    double norm = 0;
    for (float x : (*got)[i]) norm += static_cast<double>(x) * x;
    EXPECT_NEAR(norm, 1.0, 1e-4);
  }
  char gap[32];
  std::snprintf(gap, sizeof gap, "%.3g", 1.0 - worst);
  RecordProperty("one_minus_worst_cosine", gap);
  EXPECT_GT(worst, 0.99999) << "agreement is expected to be far tighter than the 0.999 bar";
}

TEST_F(MinilmModel, SingleTextCallsMatchOneBatch) {
  auto batch = model_->embed(texts());
  ASSERT_TRUE(batch.ok());
  Vectors singles;
  for (const std::string& t : texts()) {
    auto one = model_->embed({t});
    ASSERT_TRUE(one.ok());
    ASSERT_EQ(one->size(), 1u);
    singles.push_back((*one)[0]);
  }
  EXPECT_LT(max_abs_diff(*batch, singles), 1e-5f);
}

TEST_F(MinilmModel, SmallPassesMatchOneBatch) {
  auto batch = model_->embed(texts());
  ASSERT_TRUE(batch.ok());
  auto chunked_model = load_minilm(model_dir(), {.max_tokens_per_pass = 40});
  ASSERT_TRUE(chunked_model.ok());
  auto chunked = (*chunked_model)->embed(texts());
  ASSERT_TRUE(chunked.ok());
  EXPECT_LT(max_abs_diff(*batch, *chunked), 1e-5f);
}

TEST_F(MinilmModel, ConcurrentCallsAgree) {
  auto expected = model_->embed(texts());
  ASSERT_TRUE(expected.ok());
  constexpr int kThreads = 4;
  std::vector<Vectors> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto r = model_->embed(texts());
      if (r.ok()) results[t] = std::move(*r);
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(results[t].size(), expected->size()) << "thread " << t;
    EXPECT_LT(max_abs_diff(results[t], *expected), 1e-6f) << "thread " << t;
  }
}

TEST_F(MinilmModel, ParaphrasesAreCloserThanUnrelatedText) {
  auto v =
      model_->embed({"How do I reset my password?", "I forgot my password, how can I change it?",
                     "What is the capital of France?"});
  ASSERT_TRUE(v.ok());
  EXPECT_GT(cosine((*v)[0], (*v)[1]), cosine((*v)[0], (*v)[2]) + 0.3);
}

TEST_F(MinilmModel, EmptyBatchGivesNoVectors) {
  auto v = model_->embed({});
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->empty());
}

TEST(MinilmLoad, MissingModelIsNotFoundAndSaysHowToInstall) {
  auto m = load_minilm("/nonexistent/all-minilm-l6-v2");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kNotFound);
  EXPECT_NE(m.status().message().find("scripts/install-model"), std::string::npos);
}

}  // namespace
}  // namespace spectra::embed
