# Run by `cmake --install` (see floe__install_generated in cmake/install.cmake): writes
# FLOE_DEST_DIR/FLOE_DEST_NAME under $DESTDIR and the install prefix given at install time.
#   FLOE_MODE pc    FLOE_SRC is a template with @prefix@, @libdir@, @includedir@, @version@
#   FLOE_MODE unit  FLOE_SRC is a systemd unit; in its Exec*= lines the directory of a floe
#                   program (/usr/local/bin/floe-relay) becomes the installed one
# floe.pc names its directories from ${prefix} where it can (pkg-config --define-prefix).
set(prefix "${CMAKE_INSTALL_PREFIX}")
foreach(dir libdir includedir)
  string(TOUPPER "FLOE_${dir}" var)
  if(IS_ABSOLUTE "${${var}}")
    set(${dir} "${${var}}")
  else()
    set(${dir} "\${prefix}/${${var}}")
  endif()
endforeach()
set(bindir "${CMAKE_INSTALL_PREFIX}/${FLOE_BINDIR}")
set(version "${FLOE_VERSION}")

if(FLOE_MODE STREQUAL "pc")
  file(READ "${FLOE_SRC}" content)
  string(CONFIGURE "${content}" content @ONLY)
elseif(FLOE_MODE STREQUAL "unit")
  file(STRINGS "${FLOE_SRC}" lines)
  set(content "")
  foreach(line IN LISTS lines)
    if(line MATCHES "^Exec[A-Za-z]*=")
      string(REGEX REPLACE "^(Exec[A-Za-z]*=[-@:+!]*)/[^ ]*/(floe[-A-Za-z0-9_]*)( |$)"
                           "\\1${bindir}/\\2\\3" line "${line}")
    endif()
    string(APPEND content "${line}\n")
  endforeach()
else()
  message(FATAL_ERROR "install_time.cmake: unknown FLOE_MODE '${FLOE_MODE}'")
endif()

set(dest "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/${FLOE_DEST_DIR}/${FLOE_DEST_NAME}")
message(STATUS "Installing: ${dest}")
file(WRITE "${dest}" "${content}")
list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${dest}")
