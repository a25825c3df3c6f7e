# The warning set of STYLE.md, applied to every floe target through floe_warnings.
add_library(floe_warnings INTERFACE)
target_compile_options(floe_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wconversion -Wmissing-prototypes -Wstrict-prototypes
  -Wformat=2 -Wvla)
if(FLOE_WERROR)
  target_compile_options(floe_warnings INTERFACE -Werror)
endif()
if(FLOE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
if(CMAKE_BUILD_TYPE STREQUAL "Release" OR CMAKE_BUILD_TYPE STREQUAL "RelWithDebInfo")
  add_compile_options(-fno-omit-frame-pointer)
endif()
