# Fuzzers for src/wire: the AWS event-stream decoder and the SSE parser.
spectra_fuzzer(eventstream_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/eventstream_fuzz.cpp
  DEPS spectra_wire)
spectra_fuzzer(sse_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/sse_fuzz.cpp DEPS spectra_wire)
