# shellcheck shell=bash
# Messages and small helpers shared by ci/e2e and its parts. Sourced, never run.

# A progress or diagnostic line (stderr, so that stdout keeps only the per-step summary lines).
e2e_say() {
    printf 'e2e: %s\n' "$*" >&2
}

e2e_die() {
    printf 'e2e: error: %s\n' "$*" >&2
    exit 1
}

# The result of the running step: a step function sets it with `ok` or `fail` and returns their status.
RESULT=""

ok() {
    RESULT="$*"
    return 0
}

fail() {
    RESULT="$*"
    return 1
}

# step N NAME FUNCTION: runs one step and prints its one-line summary. Step functions run inside `if`, where
# bash ignores `set -e`: each command's failure is handled explicitly (`cmd || { fail "…"; return; }`).
step() {
    local number=$1 name=$2 function=$3
    RESULT=""
    e2e_say "step $number $name: running"
    local started=$SECONDS
    if "$function"; then
        printf 'e2e step %s %s: %s [%ss]\n' "$number" "$name" "$RESULT" "$((SECONDS - started))"
    else
        printf 'e2e step %s %s: FAILED: %s [%ss]\n' "$number" "$name" "${RESULT:-(no reason given)}" \
            "$((SECONDS - started))"
        return 1
    fi
}

# first_line FILE: the first non-empty line of FILE, or "(empty)".
first_line() {
    local line
    line=$(grep -m1 -v '^[[:space:]]*$' "$1" 2>/dev/null) || line="(empty)"
    printf '%s\n' "$line"
}
