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
