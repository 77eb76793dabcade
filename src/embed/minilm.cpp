#include "embed/minilm.h"

#include <cblas.h>

#include <algorithm>
#include <utility>

#include "common/file_util.h"
#include "embed/bert_encoder.h"
#include "embed/wordpiece_tokenizer.h"

namespace spectra::embed {
namespace {

// sentence_bert_config.json of all-MiniLM-L6-v2: max_seq_length 256.
constexpr std::size_t kMaxTokens = 256;

class MinilmEmbedder final : public Embedder {
 public:
  MinilmEmbedder(WordPieceTokenizer tokenizer, BertEncoder encoder, std::size_t max_tokens,
                 std::size_t max_tokens_per_pass)
      : tokenizer_(std::move(tokenizer)),
        encoder_(std::move(encoder)),
        max_tokens_(max_tokens),
        max_tokens_per_pass_(max_tokens_per_pass) {}

  Result<std::vector<std::vector<float>>> embed(
      const std::vector<std::string>& texts) const override {
    const int dims = dimensions();
    std::vector<std::vector<float>> result;
    result.reserve(texts.size());
    std::vector<std::vector<std::int32_t>> pass;
    std::vector<float> flat;
    std::size_t pass_tokens = 0;
    const auto run = [&]() -> Status {
      if (pass.empty()) return {};
      flat.resize(pass.size() * dims);
      if (Status s = encoder_.embed_tokens(pass, flat.data()); !s.ok()) return s;
      for (std::size_t i = 0; i < pass.size(); ++i) {
        result.emplace_back(flat.begin() + i * dims, flat.begin() + (i + 1) * dims);
      }
      pass.clear();
      pass_tokens = 0;
      return {};
    };
    for (const std::string& text : texts) {
      auto ids = tokenizer_.encode(text, max_tokens_);
      if (pass_tokens + ids.size() > max_tokens_per_pass_) {
        if (Status s = run(); !s.ok()) return s;
      }
      pass_tokens += ids.size();
      pass.push_back(std::move(ids));
    }
    if (Status s = run(); !s.ok()) return s;
    return result;
  }

  int dimensions() const override { return encoder_.config().hidden; }

  std::optional<std::int64_t> token_count(std::string_view text) const override {
    const auto n = static_cast<std::int64_t>(tokenizer_.encode(text, max_tokens_).size());
    return n >= 2 ? n - 2 : 0;  // without [CLS] and [SEP]
  }

 private:
  WordPieceTokenizer tokenizer_;
  BertEncoder encoder_;
  std::size_t max_tokens_;
  std::size_t max_tokens_per_pass_;
};

Result<std::string> model_file_path(const std::string& dir, const char* name) {
  const std::string path = dir + "/" + name;
  if (!fs::exists(path)) {
    return not_found("model file " + path +
                     " is missing; run scripts/install-model to install all-MiniLM-L6-v2");
  }
  return path;
}

}  // namespace

Result<std::unique_ptr<Embedder>> load_minilm(const std::string& model_dir,
                                              const MinilmOptions& options) {
  auto vocab_path = model_file_path(model_dir, "vocab.txt");
  auto config_path = model_file_path(model_dir, "config.json");
  auto weights_path = model_file_path(model_dir, "model.safetensors");
  for (const auto* p : {&vocab_path, &config_path, &weights_path}) {
    if (!p->ok()) return p->status();
  }
  auto config_text = fs::read_file(*config_path);
  if (!config_text.ok()) return config_text.status();
  auto config = BertConfig::from_json(*config_text);
  if (!config.ok())
    return Status(config.status().code(), *config_path + ": " + config.status().message());
  auto tokenizer = WordPieceTokenizer::from_vocab_file(*vocab_path);
  if (!tokenizer.ok()) return tokenizer.status();
  if (tokenizer->vocab_size() > static_cast<std::size_t>(config->vocab_size)) {
    return invalid_argument("vocab.txt has " + std::to_string(tokenizer->vocab_size()) +
                            " entries but the model only " + std::to_string(config->vocab_size));
  }
  auto file = SafetensorsFile::open(*weights_path);
  if (!file.ok()) return file.status();
  auto weights = load_bert_weights(*file, *config);
  if (!weights.ok()) {
    return Status(weights.status().code(), *weights_path + ": " + weights.status().message());
  }
  openblas_set_num_threads(1);
  const std::size_t max_tokens =
      std::min(kMaxTokens, static_cast<std::size_t>(config->max_positions));
  return std::unique_ptr<Embedder>(std::make_unique<MinilmEmbedder>(
      std::move(*tokenizer), BertEncoder(*config, std::move(*weights)), max_tokens,
      options.max_tokens_per_pass));
}

}  // namespace spectra::embed
