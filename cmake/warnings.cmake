# Warnings and sanitizers applied to our own targets only (never to
# CMAKE_CXX_FLAGS, so user-supplied flags keep working).
add_library(spectra_build_flags INTERFACE)
target_compile_options(spectra_build_flags INTERFACE -Wall -Wextra -Wpedantic
  -Wno-missing-field-initializers)
if(SPECTRA_WERROR)
  target_compile_options(spectra_build_flags INTERFACE -Werror)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 reports false positives inside Boost.Asio/Beast coroutine frames.
  target_compile_options(spectra_build_flags INTERFACE -Wno-maybe-uninitialized
    -Wno-array-bounds -Wno-stringop-overflow -Wno-restrict -Wno-mismatched-new-delete)
endif()
if(SPECTRA_SANITIZE MATCHES "thread" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # Asio uses atomic_thread_fence, which TSan cannot model; GCC warns about it.
  target_compile_options(spectra_build_flags INTERFACE -Wno-tsan)
endif()
if(SPECTRA_SANITIZE)
  target_compile_options(spectra_build_flags INTERFACE -fsanitize=${SPECTRA_SANITIZE}
    -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(spectra_build_flags INTERFACE -fsanitize=${SPECTRA_SANITIZE})
endif()

# spectra_library(name SOURCES ... DEPS ...): one static library a module.
function(spectra_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE spectra_build_flags)
endfunction()

# spectra_test(name SOURCES ... DEPS ... [LABELS ...]): a GoogleTest binary.
function(spectra_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest_main GTest::gmock
    spectra_build_flags)
  target_compile_definitions(${name} PRIVATE
    SPECTRA_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    SPECTRA_BINARY_DIR="${CMAKE_BINARY_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${ARG_LABELS}")
endfunction()
