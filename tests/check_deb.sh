#!/usr/bin/env bash
# Issue 21.4: the .deb. Builds it with cpack from the build directory, reads its control data
# (dpkg-deb --info: the package, its dependencies as dpkg-shlibdeps found them), unpacks it into
# a scratch root (dpkg-deb -x) and runs what it installed: `strata version`, `strata check` on
# the installed demo config (its universe and strategies found where the package put them), the
# installed gap plugin loaded by `strata check`, the unit verified by systemd-analyze with the
# binary where the unit says it is, and the manual page.
#   check_deb.sh SOURCE_DIR BUILD_DIR
set -eu
src=${1:?usage: check_deb.sh SOURCE_DIR BUILD_DIR}
bld=${2:?}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/strata-deb-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$bld" && cpack -G DEB -B "$tmp/pkg" >"$tmp/cpack.log" 2>&1) || { cat "$tmp/cpack.log"; exit 1; }
deb=$(ls "$tmp"/pkg/*.deb)
info=$(dpkg-deb --info "$deb")
grep -q '^ Package: strata$' <<<"$info" || { echo "$info"; echo "not the strata package"; exit 1; }
for lib in libev4 libwebsockets libcurl4 liblua5.4-0 libyaml-0-2 libcjson1 libzstd1 libsystemd0; do
    grep -q "^ Depends:.*$lib" <<<"$info" || { echo "$info"; echo "Depends lacks $lib"; exit 1; }
done
dpkg-deb -x "$deb" "$tmp/root"
prefix=$(cd "$bld" && sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' CMakeCache.txt)
root=$tmp/root$prefix
"$root/bin/strata" version | grep -q '^strata ' || { echo "strata version failed"; exit 1; }
"$root/bin/strata" check -c "$root/share/strata/config/demo.yaml" >/dev/null ||
    { "$root/bin/strata" check -c "$root/share/strata/config/demo.yaml"; exit 1; }
cat >"$tmp/plugin.yaml" <<YAML
runtime: {clock: {mode: simulated, start: "2026-11-23 08:50", speed: 0}}
market: {universe: $root/share/strata/config/universe.csv, indices: $root/share/strata/config/indices.csv}
strategies:
  - {name: gap, kind: c, path: $(ls "$root"/lib*/strata/plugins/gap.so "$root"/lib/*/strata/plugins/gap.so 2>/dev/null | head -1)}
status: {enabled: false}
YAML
"$root/bin/strata" check -c "$tmp/plugin.yaml" >/dev/null || { echo "the installed gap plugin does not load"; exit 1; }
unit=$tmp/root/$prefix/lib/systemd/system/strata.service
[[ -f $unit ]] || unit=$(find "$tmp/root" -name strata.service | head -1)
grep -q "^ExecStart=$prefix/bin/strata run" "$unit" || { grep ExecStart "$unit"; echo "the unit does not name $prefix/bin/strata"; exit 1; }
sed "s|^ExecStart=$prefix/bin/strata|ExecStart=$root/bin/strata|" "$unit" >"$tmp/strata.service"
(cd "$tmp" && systemd-analyze verify ./strata.service) || { echo "systemd-analyze verify refused the unit"; exit 1; }
[[ -f $root/share/man/man1/strata.1 ]] || { echo "no manual page"; exit 1; }
for f in strategies/gap.lua plugins/gap.c config/krx_universe.csv; do
    [[ -f $root/share/strata/$f ]] || { echo "not installed: share/strata/$f"; exit 1; }
done
[[ -f $root/share/doc/strata/operations.md ]] || { echo "no docs"; exit 1; }
echo "$(basename "$deb"): $(grep '^ Depends:' <<<"$info" | cut -c11-)"
