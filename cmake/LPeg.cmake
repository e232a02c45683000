# LPeg.cmake: the static library target `lurk_lpeg` (LPeg 1.0.2 from Debian's
# lua-lpeg source), linked into liblurk.so and opened by bindings/lb_lpeg.c
# as package.preload.lpeg.
#
# Built like LuaJIT (docs/luajit-build.md): -fPIC, -fvisibility=hidden, so
# nothing of LPeg reaches liblurk.so's dynamic symbol table; compiled
# against lurk's LuaJIT headers. LPeg allocates only through the Lua state
# (lua_newuserdata, and lua_getallocf for pattern code in lpcode.c), so its
# memory is LuaJIT's, never the app's malloc. tools/fetch-lpeg.sh fetches the
# source at configure time (idempotent).
#
# Cache variables:
#   LURK_LPEG_SOURCE  a directory holding lptree.c & co (e.g. an unpacked
#                     lua-lpeg source) instead of fetching one.

include_guard(GLOBAL)

set(LURK_LPEG_SOURCE "" CACHE PATH "LPeg source directory (lptree.c ...); empty = fetch Debian's lua-lpeg")
set(_lurk_lpeg_script "${CMAKE_CURRENT_LIST_DIR}/../tools/fetch-lpeg.sh")
get_filename_component(_lurk_lpeg_script "${_lurk_lpeg_script}" ABSOLUTE)

if(LURK_LPEG_SOURCE)
  set(_lurk_lpeg_src "${LURK_LPEG_SOURCE}")
else()
  set(_lurk_lpeg_src "${CMAKE_BINARY_DIR}/lpeg/src")
  set_property(DIRECTORY "${CMAKE_SOURCE_DIR}" APPEND PROPERTY
               CMAKE_CONFIGURE_DEPENDS "${_lurk_lpeg_script}")
  execute_process(COMMAND bash "${_lurk_lpeg_script}" "${CMAKE_BINARY_DIR}/lpeg"
                  RESULT_VARIABLE _lurk_lpeg_rc)
  if(NOT _lurk_lpeg_rc EQUAL 0)
    message(FATAL_ERROR "LPeg: tools/fetch-lpeg.sh failed (${_lurk_lpeg_rc})")
  endif()
endif()
if(NOT EXISTS "${_lurk_lpeg_src}/lptree.c")
  message(FATAL_ERROR "LPeg: ${_lurk_lpeg_src}/lptree.c missing")
endif()

add_library(lurk_lpeg STATIC
  ${_lurk_lpeg_src}/lptree.c ${_lurk_lpeg_src}/lpcode.c ${_lurk_lpeg_src}/lpvm.c
  ${_lurk_lpeg_src}/lpcap.c ${_lurk_lpeg_src}/lpprint.c)
# -DNDEBUG as LPeg's makefile (no assert, no printf debug code).
target_compile_options(lurk_lpeg PRIVATE -O2 -fPIC -fvisibility=hidden -w)
target_compile_definitions(lurk_lpeg PRIVATE NDEBUG)
target_link_libraries(lurk_lpeg PRIVATE lurk::luajit)
