#!/usr/bin/env bash
# No shipped binary carries the path of the tree it was built in (the source or the build
# directory): an installed strata must not point back into someone's checkout.
# The tests and benchmarks find both at run time (tests/build_path.h): a copied build tree tests
# its own binaries and reads the checkout it is told (SOURCE_DIR "-" checks the build tree only).
#   check_paths.sh SOURCE_DIR BUILD_DIR BINARY...
set -u
src=${1:?usage: check_paths.sh SOURCE_DIR BUILD_DIR BINARY...}
bld=${2:?}
shift 2
dirs=("$bld")
[[ $src != - ]] && dirs+=("$src")
bad=0
for bin in "$@"; do
    for dir in "${dirs[@]}"; do
        if grep -qF -- "$dir/" "$bin"; then
            echo "$bin: carries \"$dir/\": $(grep -aoF -- "$dir/" "$bin" | wc -l) times, e.g. $(grep -aoE -- "$dir/[[:print:]]{0,60}" "$bin" | head -1)"
            bad=1
        fi
    done
done
((bad == 0)) && echo "no tree path in: $*"
exit $bad
