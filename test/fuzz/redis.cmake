# Fuzzer for the Redis cache backend's reply handling (src/ai/resp_codec).
spectra_fuzzer(redis_reply_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/redis_reply_fuzz.cpp DEPS spectra_ai_resp)
# Fuzzer for the records of the fleet's shared semantic index (src/ai/semantic_record).
spectra_fuzzer(semantic_record_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/semantic_record_fuzz.cpp DEPS spectra_ai_resp)
# Fuzzer for the cached answers' header (src/ai/cached_answer), as read back from a shared cache.
spectra_fuzzer(cached_answer_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/cached_answer_fuzz.cpp DEPS spectra_ai_adapter)
