# Every dependency comes from a Debian package; a missing one names the package to install
# (scripts/setup.sh installs them all).
find_package(PkgConfig QUIET)

function(strata_missing what pkg)
  message(FATAL_ERROR "strata: ${what} not found. Install the Debian package '${pkg}' "
                      "(or run scripts/setup.sh, which installs everything strata needs).")
endfunction()

# libev ships no pkg-config file on Debian.
find_path(EV_INCLUDE_DIR ev.h)
find_library(EV_LIBRARY ev)
if(NOT EV_INCLUDE_DIR OR NOT EV_LIBRARY)
  strata_missing("libev" "libev-dev")
endif()
add_library(strata::ev INTERFACE IMPORTED)
target_include_directories(strata::ev INTERFACE ${EV_INCLUDE_DIR})
target_link_libraries(strata::ev INTERFACE ${EV_LIBRARY})

if(NOT PkgConfig_FOUND)
  strata_missing("pkg-config" "pkg-config")
endif()

macro(strata_pkg target module pkg)
  pkg_check_modules(${target}_PC QUIET IMPORTED_TARGET ${module})
  if(NOT ${target}_PC_FOUND)
    strata_missing("${module}" "${pkg}")
  endif()
  add_library(strata::${target} INTERFACE IMPORTED)
  target_link_libraries(strata::${target} INTERFACE PkgConfig::${target}_PC)
endmacro()

strata_pkg(yaml  yaml-0.1 libyaml-dev)
strata_pkg(lua   lua5.4   liblua5.4-dev)
strata_pkg(curl  libcurl  libcurl4-openssl-dev)
strata_pkg(cjson libcjson libcjson-dev)
strata_pkg(zstd  libzstd  libzstd-dev)
strata_pkg(systemd libsystemd libsystemd-dev)
strata_pkg(hiredis hiredis libhiredis-dev)
strata_pkg(ssl libssl libssl-dev) # TLS under the feeds' WebSockets (feeds/tlsbio.c)

find_package(libwebsockets CONFIG QUIET)
if(NOT libwebsockets_FOUND)
  strata_missing("libwebsockets (CMake package)" "libwebsockets-dev")
endif()

if(STRATA_TESTS)
  pkg_check_modules(CMOCKA_PC QUIET IMPORTED_TARGET cmocka)
  if(NOT CMOCKA_PC_FOUND)
    strata_missing("cmocka" "libcmocka-dev")
  endif()
endif()
