# Every dependency is a Debian package installed by scripts/install-deps.
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(SQLite3 REQUIRED)
# Boost 1.81 (Debian's libboost1.81-dev); 1.74 lacks Boost.JSON features we use.
find_package(Boost 1.81.0 REQUIRED COMPONENTS json url CONFIG)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
if(NOT SPECTRA_FUZZ)
  find_package(GTest REQUIRED)
  find_package(benchmark QUIET)
endif()
