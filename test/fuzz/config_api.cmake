# Fuzzer for the config API's request handling: HTTP framing, body parsing
# with limits, If-Match, and schema validation/normalisation of every section.
spectra_fuzzer(config_api_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/config_api_fuzz.cpp
  DEPS spectra_api_parse spectra_config)
