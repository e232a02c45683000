# LuaJIT.cmake: provides the IMPORTED static library target `lurk::luajit`.
#
#   include(cmake/LuaJIT.cmake)
#   target_link_libraries(lurk PRIVATE lurk::luajit)
#
# The archive is Debian's LuaJIT source rebuilt with -fPIC -fvisibility=hidden
# (see docs/luajit-build.md).  It is built at configure time by
# tools/build-luajit.sh into ${CMAKE_BINARY_DIR}/luajit; the script is
# idempotent, so re-running cmake does not refetch or rebuild, and editing the
# script re-runs cmake (CMAKE_CONFIGURE_DEPENDS), which rebuilds LuaJIT.
#
# Cache variables:
#   LURK_LUAJIT_PREFIX  use an existing prefix (include/ + lib/libluajit.a,
#                       e.g. a CI cache made by the script) instead of building.
#
# Linking lurk::luajit adds -lm -ldl and --exclude-libs for the archive; every
# LuaJIT symbol is STV_HIDDEN already, the linker option is belt and braces.

include_guard(GLOBAL)

set(LURK_LUAJIT_PREFIX "" CACHE PATH
    "Prebuilt LuaJIT prefix (include/, lib/libluajit.a); empty = build from Debian source")

set(_lurk_luajit_script "${CMAKE_CURRENT_LIST_DIR}/../tools/build-luajit.sh")
get_filename_component(_lurk_luajit_script "${_lurk_luajit_script}" ABSOLUTE)

if(LURK_LUAJIT_PREFIX)
  set(_lurk_luajit_dir "${LURK_LUAJIT_PREFIX}")
else()
  set(_lurk_luajit_dir "${CMAKE_BINARY_DIR}/luajit")
  set_property(DIRECTORY "${CMAKE_SOURCE_DIR}" APPEND PROPERTY
               CMAKE_CONFIGURE_DEPENDS "${_lurk_luajit_script}")
  message(STATUS "LuaJIT: tools/build-luajit.sh ${_lurk_luajit_dir}")
  execute_process(
    COMMAND "${CMAKE_COMMAND}" -E env "CC=${CMAKE_C_COMPILER}"
            bash "${_lurk_luajit_script}" "${_lurk_luajit_dir}"
    RESULT_VARIABLE _lurk_luajit_rc)
  if(NOT _lurk_luajit_rc EQUAL 0)
    message(FATAL_ERROR
      "LuaJIT: tools/build-luajit.sh failed (${_lurk_luajit_rc}); "
      "logs in ${_lurk_luajit_dir}/fetch.log and ${_lurk_luajit_dir}/build.log")
  endif()
endif()

set(LURK_LUAJIT_LIBRARY "${_lurk_luajit_dir}/lib/libluajit.a")
set(LURK_LUAJIT_INCLUDE_DIR "${_lurk_luajit_dir}/include")
if(NOT EXISTS "${LURK_LUAJIT_LIBRARY}" OR NOT EXISTS "${LURK_LUAJIT_INCLUDE_DIR}/luajit.h")
  message(FATAL_ERROR "LuaJIT: ${LURK_LUAJIT_LIBRARY} or ${LURK_LUAJIT_INCLUDE_DIR}/luajit.h missing")
endif()
# A standalone luajit built from the very same objects, for running Lua tests.
set(LURK_LUAJIT_EXECUTABLE "${_lurk_luajit_dir}/bin/luajit")

if(NOT TARGET lurk::luajit)
  add_library(lurk::luajit STATIC IMPORTED GLOBAL)
  set_target_properties(lurk::luajit PROPERTIES
    IMPORTED_LOCATION "${LURK_LUAJIT_LIBRARY}"
    IMPORTED_LINK_INTERFACE_LANGUAGES C
    INTERFACE_INCLUDE_DIRECTORIES "${LURK_LUAJIT_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "m;${CMAKE_DL_LIBS}"
    INTERFACE_LINK_OPTIONS "LINKER:--exclude-libs,libluajit.a")
endif()
