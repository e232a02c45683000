# Elfutils.cmake: the IMPORTED static libraries `lurk::libdw` (libdw + libelf)
# and `lurk::demangle` (libiberty, zlib), linked into liblurk.so for engine/sym*.
#
# libelf.a/libdw.a are Debian's elfutils source rebuilt -fPIC
# -fvisibility=hidden -ftls-model=initial-exec by tools/build-elfutils.sh into
# ${CMAKE_BINARY_DIR}/elfutils at configure time (idempotent, like LuaJIT).
# Their allocations go to lurk's allocator: engine/sym_libc.c defines malloc &
# co hidden inside liblurk.so.
#
# Cache variables:
#   LURK_ELFUTILS_PREFIX  use an existing prefix (include/ + lib/libdw.a,
#                         lib/libelf.a) instead of building.
#
# libiberty.a (Debian's libiberty-dev) and libz.a (zlib1g-dev) are used as
# Debian ships them: position-independent enough for a shared object (no
# local-exec TLS), and --exclude-libs keeps their symbols out of the
# dynamic table.

include_guard(GLOBAL)

set(LURK_ELFUTILS_PREFIX "" CACHE PATH
    "Prebuilt elfutils prefix (include/, lib/libdw.a, lib/libelf.a); empty = build from Debian source")

set(_lurk_eu_script "${CMAKE_CURRENT_LIST_DIR}/../tools/build-elfutils.sh")
get_filename_component(_lurk_eu_script "${_lurk_eu_script}" ABSOLUTE)

if(LURK_ELFUTILS_PREFIX)
  set(_lurk_eu_dir "${LURK_ELFUTILS_PREFIX}")
else()
  set(_lurk_eu_dir "${CMAKE_BINARY_DIR}/elfutils")
  set_property(DIRECTORY "${CMAKE_SOURCE_DIR}" APPEND PROPERTY
               CMAKE_CONFIGURE_DEPENDS "${_lurk_eu_script}")
  message(STATUS "elfutils: tools/build-elfutils.sh ${_lurk_eu_dir}")
  execute_process(
    COMMAND "${CMAKE_COMMAND}" -E env "CC=${CMAKE_C_COMPILER}"
            bash "${_lurk_eu_script}" "${_lurk_eu_dir}"
    RESULT_VARIABLE _lurk_eu_rc)
  if(NOT _lurk_eu_rc EQUAL 0)
    message(FATAL_ERROR
      "elfutils: tools/build-elfutils.sh failed (${_lurk_eu_rc}); "
      "logs in ${_lurk_eu_dir}/fetch.log and ${_lurk_eu_dir}/build.log")
  endif()
endif()

foreach(_f lib/libdw.a lib/libelf.a include/elfutils/libdw.h include/gelf.h)
  if(NOT EXISTS "${_lurk_eu_dir}/${_f}")
    message(FATAL_ERROR "elfutils: ${_lurk_eu_dir}/${_f} missing")
  endif()
endforeach()

find_library(LURK_LIBIBERTY libiberty.a REQUIRED)
find_path(LURK_LIBIBERTY_INCLUDE demangle.h PATHS /usr/include/libiberty REQUIRED)
find_library(LURK_LIBZ_STATIC libz.a REQUIRED)

if(NOT TARGET lurk::libdw)
  add_library(lurk::libelf STATIC IMPORTED GLOBAL)
  set_target_properties(lurk::libelf PROPERTIES
    IMPORTED_LOCATION "${_lurk_eu_dir}/lib/libelf.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES C
    INTERFACE_INCLUDE_DIRECTORIES "${_lurk_eu_dir}/include"
    INTERFACE_LINK_LIBRARIES "${LURK_LIBZ_STATIC}")
  add_library(lurk::libdw STATIC IMPORTED GLOBAL)
  set_target_properties(lurk::libdw PROPERTIES
    IMPORTED_LOCATION "${_lurk_eu_dir}/lib/libdw.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES C
    INTERFACE_INCLUDE_DIRECTORIES "${_lurk_eu_dir}/include"
    INTERFACE_LINK_LIBRARIES "lurk::libelf;${LURK_LIBZ_STATIC}")
  add_library(lurk::demangle STATIC IMPORTED GLOBAL)
  set_target_properties(lurk::demangle PROPERTIES
    IMPORTED_LOCATION "${LURK_LIBIBERTY}"
    IMPORTED_LINK_INTERFACE_LANGUAGES C
    INTERFACE_INCLUDE_DIRECTORIES "${LURK_LIBIBERTY_INCLUDE}")
endif()
