#!/bin/bash
# verify-models.sh: checks that every Citadel model is present and intact.
# Installed and kept byte-identical by citadel-check (check `scripts`).
#
# Usage: verify-models.sh [MODEL...]
# Checks the named models, or every directory in <models>/active when none is named. For each model:
# <models>/active/<model> is a directory, readable and searchable, and not empty; where the model ships a
# SHA256SUMS file (sha256sum format, paths relative to the model directory), every file listed in it has
# that checksum (sha256sum --check --strict).
#
# Environment:
#   CITADEL_MODELS_DIR   models disk mount point   /mnt/citadel-models
#
# Exit status: 0 every model is fine, 1 any problem (each one printed), 2 usage.
set -euo pipefail

readonly MODELS_DIR=${CITADEL_MODELS_DIR:-/mnt/citadel-models}
readonly ACTIVE=$MODELS_DIR/active

problems=0

problem() {
    printf 'FAIL %s\n' "$*"
    problems=$((problems + 1))
}

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

# verify NAME: prints OK or FAIL lines for one model.
verify() {
    local name=$1
    local dir=$ACTIVE/$name
    if [[ -z $name || $name == . || $name == .. || $name == */* || $name == -* ]]; then
        problem "$name: not a model name (one path component, not starting with -)"
        return
    fi
    if [[ ! -e $dir ]]; then
        problem "$name: $dir does not exist"
        return
    fi
    if [[ ! -d $dir ]]; then
        problem "$name: $dir is not a directory"
        return
    fi
    if [[ ! -r $dir || ! -x $dir ]]; then
        problem "$name: $dir is not readable and searchable"
        return
    fi
    if [[ -z $(find "$dir" -mindepth 1 -maxdepth 1 -print -quit) ]]; then
        problem "$name: $dir is empty"
        return
    fi
    if [[ -f $dir/SHA256SUMS ]]; then
        local output
        if output=$(cd "$dir" && sha256sum --check --strict --quiet SHA256SUMS 2>&1); then
            printf 'OK   %s (SHA256SUMS verified)\n' "$name"
        else
            problem "$name: SHA256SUMS does not match"
            printf '%s\n' "$output" | sed 's/^/     /'
        fi
    else
        printf 'OK   %s (no SHA256SUMS)\n' "$name"
    fi
}

main() {
    local -a models=()
    case ${1:-} in
    -h | --help)
        usage
        exit 0
        ;;
    -*)
        usage >&2
        exit 2
        ;;
    esac
    if (($# > 0)); then
        models=("$@")
    else
        if [[ ! -d $ACTIVE ]]; then
            problem "$ACTIVE does not exist (is the models disk mounted?)"
            exit 1
        fi
        local entry
        shopt -s nullglob
        for entry in "$ACTIVE"/*/; do
            entry=${entry%/}
            models+=("${entry##*/}")
        done
        shopt -u nullglob
        if ((${#models[@]} == 0)); then
            problem "no model directories in $ACTIVE"
            exit 1
        fi
    fi
    local name
    for name in "${models[@]}"; do
        verify "$name"
    done
    if ((problems > 0)); then
        printf '%d of %d models have problems\n' "$problems" "${#models[@]}"
        exit 1
    fi
    printf 'all %d models verified\n' "${#models[@]}"
}

main "$@"
