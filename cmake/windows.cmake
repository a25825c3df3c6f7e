# The Windows build (cross-compiled with cmake/mingw-w64.cmake; make windows).
# - Windows 10 APIs, C99 printf/scanf from mingw (the same text as the Linux build prints).
# - OpenSSL libcrypto and libssl built once per build tree from Debian's source package into
#   FLOE_WIN_OPENSSL_DIR (default: <build>/openssl), imported as OpenSSL::Crypto and
#   OpenSSL::SSL; the portal client's jansson likewise (scripts/mingw-lib.sh) into
#   <build>/jansson, imported as Jansson::Jansson (the WebSocket frames are our own code).
# - ctest runs the Windows programs under wine64 in a prefix inside the build tree.
add_compile_definitions(_WIN32_WINNT=0x0A00 WINVER=0x0A00 __USE_MINGW_ANSI_STDIO=1
                        WIN32_LEAN_AND_MEAN)

set(FLOE_WIN_OPENSSL_DIR ${PROJECT_BINARY_DIR}/openssl
    CACHE PATH "OpenSSL for Windows: include/, lib/libcrypto.a and lib/libssl.a")
# The script returns at once when the build tree already has the pinned version.
message(STATUS "OpenSSL for Windows: libcrypto and libssl in ${FLOE_WIN_OPENSSL_DIR}")
execute_process(COMMAND sh ${PROJECT_SOURCE_DIR}/scripts/openssl-mingw.sh
                        ${FLOE_WIN_OPENSSL_DIR} RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "OpenSSL for Windows: scripts/openssl-mingw.sh failed (make deps?)")
endif()
add_library(OpenSSL::Crypto STATIC IMPORTED)
set_target_properties(OpenSSL::Crypto PROPERTIES
  IMPORTED_LOCATION ${FLOE_WIN_OPENSSL_DIR}/lib/libcrypto.a
  INTERFACE_INCLUDE_DIRECTORIES ${FLOE_WIN_OPENSSL_DIR}/include
  INTERFACE_LINK_LIBRARIES "ws2_32;crypt32;bcrypt;advapi32;user32")
add_library(OpenSSL::SSL STATIC IMPORTED)
set_target_properties(OpenSSL::SSL PROPERTIES
  IMPORTED_LOCATION ${FLOE_WIN_OPENSSL_DIR}/lib/libssl.a
  INTERFACE_INCLUDE_DIRECTORIES ${FLOE_WIN_OPENSSL_DIR}/include
  INTERFACE_LINK_LIBRARIES OpenSSL::Crypto)

# floe_win_lib(NAME TARGET LINK): NAME built by scripts/mingw-lib.sh into <build>/NAME (once;
# the script returns at once when the tree has the pinned version) and imported as TARGET.
# FLOE_WIN_HAVE_<NAME> tells whether it is there: a source package the archive does not serve
# (exit 2) leaves it out with a warning, and what needs it is not built for Windows.
function(floe_win_lib name target link)
  set(_dir ${PROJECT_BINARY_DIR}/${name})
  execute_process(COMMAND sh ${PROJECT_SOURCE_DIR}/scripts/mingw-lib.sh ${name} ${_dir}
                  RESULT_VARIABLE _rc ERROR_VARIABLE _err)
  string(TOUPPER ${name} _up)
  if(_rc EQUAL 2)
    message(WARNING "${name} for Windows: Debian's source package could not be fetched; "
                    "no ${target} in this build:\n${_err}")
    set(FLOE_WIN_HAVE_${_up} OFF PARENT_SCOPE)
    return()
  elseif(NOT _rc EQUAL 0)
    message(FATAL_ERROR "${name} for Windows: scripts/mingw-lib.sh failed:\n${_err}")
  endif()
  message(STATUS "${name} for Windows: lib${name}.a in ${_dir}")
  add_library(${target} STATIC IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES IMPORTED_LOCATION ${_dir}/lib/lib${name}.a
    INTERFACE_INCLUDE_DIRECTORIES ${_dir}/include INTERFACE_LINK_LIBRARIES "${link}")
  set(FLOE_WIN_HAVE_${_up} ON PARENT_SCOPE)
endfunction()
floe_win_lib(jansson Jansson::Jansson advapi32) # CryptGenRandom for its hash seed

# Tests: the cross-compiling emulator is wine64 with a prefix of this build tree (created by
# the wine.prefix fixture; root may use it since root owns it). WINEDEBUG=-all keeps Wine's
# own chatter out of the tests' output; mscoree/mshtml off: no Mono/Gecko install prompt.
find_program(FLOE_WINE NAMES wine64 wine PATHS /usr/lib/wine NO_CMAKE_FIND_ROOT_PATH)
set(FLOE_WINEPREFIX ${PROJECT_BINARY_DIR}/wineprefix)
if(FLOE_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR env WINEPREFIX=${FLOE_WINEPREFIX} WINEDEBUG=-all
      "WINEDLLOVERRIDES=mscoree,mshtml=" ${FLOE_WINE})
else()
  message(WARNING "wine64 not found: the Windows tests will fail (make deps installs it)")
  set(CMAKE_CROSSCOMPILING_EMULATOR sh -c "echo 'wine64 not installed' >&2; exit 1" wine)
endif()
