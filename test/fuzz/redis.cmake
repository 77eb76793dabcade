# Fuzzer for the Redis cache backend's reply handling (src/ai/resp_codec).
spectra_fuzzer(redis_reply_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/redis_reply_fuzz.cpp DEPS spectra_ai_resp)
