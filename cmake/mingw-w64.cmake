# Cross-compiling floe for Windows x86_64 with Debian's mingw-w64 (make windows).
#   cmake -S . -B build-win -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64.cmake \
#         -DFLOE_WIN_OPENSSL_DIR=build-win/openssl
# FLOE_WIN_OPENSSL_DIR holds include/ and lib/libcrypto.a (scripts/openssl-mingw.sh builds
# them from Debian's openssl source package); zlib comes from libz-mingw-w64-dev. Both are
# linked statically, as are libgcc and winpthreads: the programs need only Windows DLLs.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(FLOE_MINGW_TRIPLE x86_64-w64-mingw32)
# The posix flavour: winpthreads for Threads::Threads and clock_gettime.
set(CMAKE_C_COMPILER ${FLOE_MINGW_TRIPLE}-gcc-posix)
set(CMAKE_RC_COMPILER ${FLOE_MINGW_TRIPLE}-windres)
set(CMAKE_FIND_ROOT_PATH /usr/${FLOE_MINGW_TRIPLE})
# Programs (wine, bash) from the host; libraries and headers only from the target's root.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# The host's pkg-config would hand out Linux libraries (liburing): none when cross-building.
set(PKG_CONFIG_EXECUTABLE "" CACHE FILEPATH "no pkg-config for the Windows build" FORCE)
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")

# zlib: the static archive of libz-mingw-w64-dev, not its DLL import library.
set(ZLIB_INCLUDE_DIR /usr/${FLOE_MINGW_TRIPLE}/include CACHE PATH "")
set(ZLIB_LIBRARY /usr/${FLOE_MINGW_TRIPLE}/lib/libz.a CACHE FILEPATH "")
