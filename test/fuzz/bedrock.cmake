# Fuzzer for the Bedrock adapter's parsers of upstream bytes: the
# ConverseStream translator (event-stream frames -> OpenAI chunks), parse_chat,
# parse_error, the Titan embedding parser, and converse_body on client JSON.
spectra_fuzzer(bedrock_stream_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/bedrock_stream_fuzz.cpp
  DEPS spectra_ai_bedrock)
