# Fuzzer for the Anthropic adapter's parsers of upstream bytes: the SSE stream
# translator (whole and split), whole messages, and error bodies; JSON inputs
# also go through the request translator.
spectra_fuzzer(anthropic_stream_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/anthropic_stream_fuzz.cpp
  DEPS spectra_ai_anthropic)
