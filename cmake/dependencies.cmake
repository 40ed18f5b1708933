# Every dependency comes from Debian 12's packages (scripts/install-deps.sh installs them).
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED CONFIG COMPONENTS headers)
find_package(SQLite3 REQUIRED)
find_package(ZLIB REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(fmt 9 REQUIRED)
# Howard Hinnant's date/tz, built by Debian with USE_OS_TZDB=1: it reads the system's tzdata
# (/usr/share/zoneinfo) and never downloads a database.
find_package(date CONFIG REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
if(CELLFLEET_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)
endif()

# jemalloc for the server: ingest allocates and frees thousands of small JSON nodes per request,
# and glibc's malloc spent a third of the server's samples on it (docs/decisions.md, "The
# allocator"). Measured on the ingest harness: about a quarter less CPU per reading. The
# sanitizer build keeps the system allocator, which ASan replaces with its own.
option(CELLFLEET_JEMALLOC "Link the cellfleet server with jemalloc (Debian: libjemalloc-dev)" ON)
set(CELLFLEET_USE_JEMALLOC OFF)
if(CELLFLEET_JEMALLOC AND NOT CELLFLEET_SANITIZE)
  pkg_check_modules(JEMALLOC IMPORTED_TARGET jemalloc)
  if(NOT JEMALLOC_FOUND)
    message(FATAL_ERROR "jemalloc not found: install libjemalloc-dev (scripts/install-deps.sh "
                        "does) or configure with -DCELLFLEET_JEMALLOC=OFF for the system allocator")
  endif()
  set(CELLFLEET_USE_JEMALLOC ON)
endif()
