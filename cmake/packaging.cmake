# `cmake --install BUILD [--prefix DIR]` and `cpack -G DEB` (run in the build directory), after
# the build.
#   bin/dilmodeli                           the binary (apps/dilmodeli/CMakeLists.txt)
#   share/dilmodeli/presets/*.json          the quantize presets; an edit here wins over the
#                                           built-in copies (lib/compress/preset.h)
#   share/doc/dilmodeli/README.md, LICENSE
include(GNUInstallDirs)
# Installing (and cpack, which installs) takes what is built and builds nothing: the install test
# runs cpack while the test binary itself is running. Build first.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/configs/presets/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/dilmodeli/presets
        FILES_MATCHING PATTERN "*.json")
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/LICENSE
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_PACKAGE_NAME dilmodeli)
set(CPACK_PACKAGE_VENDOR "dilmodeli")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "compress small and medium language models and run them fast on CPUs")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
       "dilmodeli reads and writes GGUF models (what llama.cpp writes, it loads): it quantizes, prunes\n"
       "and turns dense models into mixtures of experts, runs them on CPUs with AVX2, AVX-512 or NEON\n"
       "kernels, and serves them over an OpenAI-compatible HTTP API.")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_PACKAGE_NAME dilmodeli)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # dilmodeli_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "dilmodeli maintainers <dilmodeli@users.noreply.github.com>")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
find_program(DPKG_EXECUTABLE dpkg)
if(DPKG_EXECUTABLE)
  execute_process(COMMAND ${DPKG_EXECUTABLE} --print-architecture
                  OUTPUT_VARIABLE CPACK_DEBIAN_PACKAGE_ARCHITECTURE OUTPUT_STRIP_TRAILING_WHITESPACE)
endif()
# The Debian 12 packages of the shared libraries the binary needs (readelf -d: NEEDED; dpkg -S
# names each library's package), as dpkg-shlibdeps writes them (libspdlog1.10 provides
# libspdlog1.10-fmt9: the spdlog built against fmt 9). tests/apps/install_test.cpp checks that
# every library the binary needs is covered. A build against other libraries (a new soname) must
# update the list; -DDILMODELI_DEB_SHLIBDEPS=ON lets dpkg-shlibdeps (package dpkg-dev) work it out.
option(DILMODELI_DEB_SHLIBDEPS "cpack -G DEB: compute Depends with dpkg-shlibdeps" OFF)
if(DILMODELI_DEB_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  string(CONCAT CPACK_DEBIAN_PACKAGE_DEPENDS
         "libc6 (>= 2.34), libcpp-httplib0.11 (>= 0.11.4+ds), libfmt9 (>= 9.1.0+ds1), libgcc-s1 (>= 3.0), "
         "libhwloc15 (>= 2.9.0), libspdlog1.10-fmt9, libstdc++6 (>= 12), libtbb12 (>= 2021.4.0)")
endif()
include(CPack)
