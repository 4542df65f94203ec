#!/usr/bin/env bash
# What a plugin author gets from `cmake --install`: <strata/plugin.h> with strata-plugin.pc and
# the CMake package strata::plugin. Installs the build into a temporary prefix, moves it (the
# files find the header relative to themselves), builds the shipped gap plugin out of the tree
# both ways, and has the installed strata load each (`strata check`).
#   check_install.sh SOURCE_DIR BUILD_DIR
set -eu
src=${1:?usage: check_install.sh SOURCE_DIR BUILD_DIR}
bld=${2:?}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/strata-install-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cmake --install "$bld" --prefix "$tmp/first" >/dev/null
mv "$tmp/first" "$tmp/prefix" # relocated: nothing may point at where it was installed
prefix=$tmp/prefix
cp "$src/plugins/gap.c" "$tmp/gap.c"

# pkg-config
flags=$(PKG_CONFIG_PATH=$prefix/share/pkgconfig pkg-config --cflags strata-plugin)
inc=$(realpath -m "$(echo ${flags#-I})")
[[ $inc == "$(realpath "$prefix/include")" && -f $inc/strata/plugin.h ]] ||
    { echo "pkg-config --cflags strata-plugin: '$flags' (not $prefix/include)"; exit 1; }
cc -shared -fPIC -fvisibility=hidden -Wall -Wextra -Werror $flags "$tmp/gap.c" -o "$tmp/gap_pc.so" -lm

# CMake
mkdir "$tmp/proj"
cat >"$tmp/proj/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(myplugin C)
find_package(strata 0.1 REQUIRED)
add_library(gap MODULE ../gap.c)
target_link_libraries(gap PRIVATE strata::plugin m)
set_target_properties(gap PROPERTIES PREFIX "" C_VISIBILITY_PRESET hidden)
CMAKE
cmake -S "$tmp/proj" -B "$tmp/proj/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/proj/build" >/dev/null

# both load in the installed strata
for so in "$tmp/gap_pc.so" "$tmp/proj/build/gap.so"; do
    cat >"$tmp/check.yaml" <<YAML
runtime: {clock: {mode: simulated, start: "2026-11-23 08:50", speed: 0}}
market: {universe: $src/config/universe.csv, indices: $src/config/indices.csv}
strategies:
  - {name: gap, kind: c, path: $so}
status: {enabled: false}
YAML
    "$prefix/bin/strata" check -c "$tmp/check.yaml" >/dev/null || { echo "strata check refused $so"; exit 1; }
done
echo "installed: the header, strata-plugin.pc and find_package(strata) build a plugin strata loads"
