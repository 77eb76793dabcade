# Fuzzers for the built-in embedder's parsers of untrusted bytes: the
# WordPiece tokenizer (prompt text) and the safetensors reader (model files).
spectra_fuzzer(embed_tokenizer_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/embed_tokenizer_fuzz.cpp
  DEPS spectra_embed)
spectra_fuzzer(safetensors_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/safetensors_fuzz.cpp
  DEPS spectra_embed)
