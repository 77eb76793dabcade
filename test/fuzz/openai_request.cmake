# Fuzzer for the AI gateway's OpenAI request parser, its cache keys, the
# whole<->stream conversion of completions, and the Messages API translation.
spectra_fuzzer(openai_request_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/openai_request_fuzz.cpp
  DEPS spectra_ai_request spectra_ai_openai)
