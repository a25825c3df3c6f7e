# Install rules: `make install` (cmake --install) and `make deb` (scripts/deb.sh) use them.
# Every rule belongs to a component, which scripts/deb.sh maps to Debian packages
# (packaging/packages):
#   <program>  one per directory apps/<program>/: its executables, systemd units, man pages
#   lib        the shared libfloe.so.0 (SONAME libfloe.so.0)
#   dev        headers, libfloe.a, libfloe_sim.a, libfloe_portal.a, the libfloe.so link, floe.pc,
#              the CMake package (floeConfig.cmake, imported targets floe::floe,
#              floe::floe_static, floe::sim, floe::portal)
#   doc        README.md
# A new program needs no edit here: apps/CMakeLists.txt calls floe_install_app() for each
# program directory. The Windows build and the fuzzing build (instrumented code) install
# nothing: FLOE_INSTALL is OFF there.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

if(WIN32 OR FLOE_FUZZ)
  set(FLOE_INSTALL OFF)
else()
  set(FLOE_INSTALL ON)
endif()

set(FLOE_SYSTEMD_UNIT_DIR lib/systemd/system
    CACHE STRING "Where systemd units go, relative to the install prefix")
set(FLOE_LIB_SOVERSION 0)
set(FLOE_CMAKE_PACKAGE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/floe)
set(FLOE_INSTALL_TIME_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/install_time.cmake)

# A file written at install time from a template (FLOE_MODE pc) or a systemd unit whose
# Exec lines get the installed program directory (FLOE_MODE unit): both depend on the
# prefix given to cmake --install, not the one of the configure step.
function(floe__install_generated mode src destdir name component)
  install(CODE "set(FLOE_MODE ${mode})
set(FLOE_SRC \"${src}\")
set(FLOE_DEST_DIR \"${destdir}\")
set(FLOE_DEST_NAME \"${name}\")
set(FLOE_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
set(FLOE_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
set(FLOE_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
set(FLOE_VERSION \"${PROJECT_VERSION}\")
include(\"${FLOE_INSTALL_TIME_SCRIPT}\")"
          COMPONENT ${component})
endfunction()

# floe_install_app(DIR): install what apps/<program>/ (DIR) makes, as component <program>:
# every executable target it defines (but one with the property FLOE_NO_INSTALL set: a
# helper of its tests), its systemd units (*.service, *.socket, *.timer, with ExecStart= and
# the like pointed at the installed program) and its man pages (*.1 .. *.8).
function(floe_install_app dir)
  if(NOT FLOE_INSTALL)
    return()
  endif()
  get_filename_component(app ${dir} NAME)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(t ${targets})
    get_target_property(type ${t} TYPE)
    get_target_property(skip ${t} FLOE_NO_INSTALL)
    if(type STREQUAL "EXECUTABLE" AND NOT skip)
      install(TARGETS ${t} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT ${app})
    endif()
  endforeach()
  file(GLOB units ${dir}/*.service ${dir}/*.socket ${dir}/*.timer)
  foreach(unit ${units})
    get_filename_component(name ${unit} NAME)
    floe__install_generated(unit ${unit} ${FLOE_SYSTEMD_UNIT_DIR} ${name} ${app})
  endforeach()
  file(GLOB pages ${dir}/*.[1-8])
  foreach(page ${pages})
    string(REGEX REPLACE ".*\\.([1-8])$" "\\1" section ${page})
    install(FILES ${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section} COMPONENT ${app})
  endforeach()
endfunction()

# floe_install_library(): libfloe static and shared, libfloe_sim, the public headers, floe.pc
# and the CMake package. Called once every library target exists.
function(floe_install_library)
  if(NOT FLOE_INSTALL)
    return()
  endif()
  # The shared library is linked from the static library's objects (position-independent,
  # see src/CMakeLists.txt): nothing is compiled twice. -z defs: no symbol left undefined
  # (not with the sanitizers: clang leaves their runtime to the executable).
  add_library(floe_shared SHARED $<TARGET_OBJECTS:floe>)
  set_target_properties(floe_shared PROPERTIES OUTPUT_NAME floe EXPORT_NAME floe
    VERSION ${PROJECT_VERSION} SOVERSION ${FLOE_LIB_SOVERSION})
  target_include_directories(floe_shared PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  # The libraries the static one links (OpenSSL::Crypto, ZLIB::ZLIB, and whatever a module
  # adds to floe later), read once every directory has had its say.
  get_target_property(floe_libs floe LINK_LIBRARIES)
  target_link_libraries(floe_shared PRIVATE ${floe_libs})
  if(NOT FLOE_SANITIZE)
    target_link_options(floe_shared PRIVATE -Wl,-z,defs)
  endif()
  set_target_properties(floe PROPERTIES EXPORT_NAME floe_static)
  set_target_properties(floe_sim PROPERTIES EXPORT_NAME sim)
  set_target_properties(floe_portal PROPERTIES EXPORT_NAME portal)

  install(TARGETS floe_shared EXPORT floeTargets
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT lib NAMELINK_COMPONENT dev)
  install(TARGETS floe floe_sim floe_portal EXPORT floeTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/floe DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
          COMPONENT dev FILES_MATCHING PATTERN "*.h")
  install(EXPORT floeTargets NAMESPACE floe:: DESTINATION ${FLOE_CMAKE_PACKAGE_DIR}
          COMPONENT dev)
  configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/floeConfig.cmake.in
    ${PROJECT_BINARY_DIR}/floeConfig.cmake INSTALL_DESTINATION ${FLOE_CMAKE_PACKAGE_DIR})
  # 0.x: a minor version may break the API, so only the same major.minor is compatible.
  write_basic_package_version_file(${PROJECT_BINARY_DIR}/floeConfigVersion.cmake
    COMPATIBILITY SameMinorVersion)
  install(FILES ${PROJECT_BINARY_DIR}/floeConfig.cmake
                ${PROJECT_BINARY_DIR}/floeConfigVersion.cmake
          DESTINATION ${FLOE_CMAKE_PACKAGE_DIR} COMPONENT dev)
  floe__install_generated(pc ${PROJECT_SOURCE_DIR}/cmake/floe.pc.in
                          ${CMAKE_INSTALL_LIBDIR}/pkgconfig floe.pc dev)
  install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR}
          COMPONENT doc)
endfunction()
