#pragma once
// all-MiniLM-L6-v2 (sentence-transformers): BERT uncased WordPiece, a 6-layer
// 384-wide encoder, mean pooling, L2 normalisation, at most 256 tokens.
#include <cstddef>
#include <memory>
#include <string>

#include "common/result.h"
#include "embed/embedder.h"

namespace spectra::embed {

// The folder scripts/install-model fills, relative to the build folder's parent
// (the repository root): build/models/all-minilm-l6-v2.
inline constexpr const char* kMinilmRelativeDir = "build/models/all-minilm-l6-v2";

struct MinilmOptions {
  // Texts of one embed() call are run through the encoder in passes of at most
  // this many tokens (one text is never split), bounding scratch memory to
  // about 15 KiB a token: 8192 tokens is about 125 MiB.
  std::size_t max_tokens_per_pass = 8192;
};

// Loads vocab.txt, config.json and model.safetensors from `model_dir`.
// A missing file is not_found naming the file and the install script. Sets
// OpenBLAS to one thread (process-wide): the gateway parallelises over
// requests on its own worker pool, and BLAS threads would compete with it.
Result<std::unique_ptr<Embedder>> load_minilm(const std::string& model_dir,
                                              const MinilmOptions& options = {});

}  // namespace spectra::embed
