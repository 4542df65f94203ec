#!/usr/bin/env bash
# The dependency rule between runtime/'s rooms (docs/design.md, "Source layout"): a room includes
# only rooms before it in LAYERS (and itself); runtime/include/strata/, the plugin ABI, only the
# host. Prints every include that breaks the rule with its file:line; exits 1 if there is one.
#   check_layers.sh RUNTIME_DIR
set -u
LAYERS=(core market conf record plan subs feeds signals ops host app)
root=${1:?usage: check_layers.sh RUNTIME_DIR}
rank() { local i; for i in "${!LAYERS[@]}"; do [[ ${LAYERS[$i]} == "$1" ]] && { echo "$i"; return; }; done; echo -1; }
bad=0
for dir in "$root"/*/; do
    room=$(basename "$dir")
    [[ $room == include ]] && continue
    r=$(rank "$room")
    if ((r < 0)); then echo "$dir: a room the rule does not know: add it to LAYERS (tests/check_layers.sh) and docs/design.md"; bad=1; continue; fi
    while IFS=: read -r file line text; do
        to=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([a-z_]+)\/.*/\1/' <<<"$text")
        [[ $to == "$text" ]] && continue # a file of its own room
        if [[ $to == strata ]]; then
            [[ $room == host ]] && continue
            echo "$file:$line: $room includes the plugin ABI (strata/): only the host may"; bad=1; continue
        fi
        t=$(rank "$to")
        if ((t < 0 || t > r)); then echo "$file:$line: $room may not include $to ($text)"; bad=1; fi
    done < <(grep -nH '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$dir"*.[ch] 2>/dev/null)
done
((bad == 0)) && echo "layers: ${LAYERS[*]} (each includes only those before it): kept"
exit $bad
