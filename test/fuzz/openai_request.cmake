# Fuzzer for the AI gateway's OpenAI request parser, its cache keys, and the
# whole<->stream conversion of completions.
spectra_fuzzer(openai_request_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/openai_request_fuzz.cpp
  DEPS spectra_ai_request)
