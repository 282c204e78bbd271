#!/bin/bash
# citadel-backup.sh: incremental, dated backup of the Citadel models and configs to the backup disk.
# Installed and kept byte-identical by citadel-check (check `scripts`); run nightly from /etc/cron.d.
#
# Each run makes one snapshot of each source, named by the run's UTC time (YYYYmmddTHHMMSSZ):
#   <backup>/models/<stamp>/    a copy of <models>/active/
#   <backup>/configs/<stamp>/   a copy of /opt/citadel/configs/
# rsync --link-dest makes every unchanged file a hard link into the previous snapshot (<kind>/latest), so each
# snapshot is a complete tree that costs only what changed. A snapshot is built in <kind>/.in-progress and
# renamed when complete; an interrupted run leaves .in-progress behind and the next run finishes it. Nothing
# is ever deleted from an earlier snapshot.
#
# Refuses to run (exit 3) when the backup disk or the models disk is not mounted: the copy would land on the
# root file system, hidden by the next mount. One run at a time (flock; exit 4 when another run holds the
# lock). Logs to <logs>/citadel-backup.log. On success writes <logs>/citadel-backup.last-success (the time
# and the snapshot name); its mtime says how fresh the newest backup is.
#
# Environment (defaults are the Citadel layout; tests point them at temporary trees):
#   CITADEL_MODELS_DIR     models disk mount point          /mnt/citadel-models
#   CITADEL_BACKUP_DIR     backup disk mount point          /mnt/citadel-backup
#   CITADEL_CONFIGS_DIR    configuration to back up         /opt/citadel/configs
#   CITADEL_LOG_DIR        log and last-success file        /opt/citadel/logs
#   CITADEL_LOCK_FILE      lock held during a run           /run/lock/citadel-backup.lock
#   CITADEL_REQUIRE_MOUNT  1: both disks must be mount points (mountpoint -q); 0: any directory will do,
#                          for tests and image builds only                              1
#
# Exit status: 0 success, 1 a step failed (see the log), 2 usage, 3 a disk is not mounted, 4 already running.
set -euo pipefail

readonly MODELS_DIR=${CITADEL_MODELS_DIR:-/mnt/citadel-models}
readonly BACKUP_DIR=${CITADEL_BACKUP_DIR:-/mnt/citadel-backup}
readonly CONFIGS_DIR=${CITADEL_CONFIGS_DIR:-/opt/citadel/configs}
readonly LOG_DIR=${CITADEL_LOG_DIR:-/opt/citadel/logs}
readonly LOCK_FILE=${CITADEL_LOCK_FILE:-/run/lock/citadel-backup.lock}
readonly REQUIRE_MOUNT=${CITADEL_REQUIRE_MOUNT:-1}
readonly LOG_FILE=$LOG_DIR/citadel-backup.log
readonly SUCCESS_FILE=$LOG_DIR/citadel-backup.last-success

log() {
    local line
    line="$(date -u +%Y-%m-%dT%H:%M:%SZ) citadel-backup[$$]: $*"
    printf '%s\n' "$line" >&2
    # The log directory may be missing on a broken host: say so on stderr, but never fail because of it.
    printf '%s\n' "$line" >>"$LOG_FILE" 2>/dev/null || true
}

die() {
    local status=$1
    shift
    log "ERROR: $*"
    exit "$status"
}

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

require_mounted() {
    local what=$1 dir=$2
    [[ -d $dir ]] || die 3 "$what $dir does not exist"
    if [[ $REQUIRE_MOUNT != 0 ]] && ! mountpoint -q "$dir"; then
        die 3 "$what $dir is not a mount point: refusing to write onto the root file system (mount it, see /etc/fstab)"
    fi
}

# The first of STAMP, STAMP.1, STAMP.2, ... that names no snapshot of either kind yet.
free_stamp() {
    local base=$1 stamp=$1 n=0
    while [[ -e $BACKUP_DIR/models/$stamp || -e $BACKUP_DIR/configs/$stamp ]]; do
        n=$((n + 1))
        stamp=$base.$n
    done
    printf '%s\n' "$stamp"
}

# snapshot KIND SOURCE STAMP: copy SOURCE/ into <backup>/KIND/STAMP, hard-linking what <KIND>/latest has.
snapshot() {
    local kind=$1 source=$2 stamp=$3
    local dir=$BACKUP_DIR/$kind
    local work=$dir/.in-progress
    local -a link_dest=()
    mkdir -p "$dir"
    if [[ -d $dir/latest ]]; then
        # Absolute: rsync reads a relative --link-dest relative to the destination.
        link_dest=("--link-dest=$(readlink -f "$dir/latest")")
    fi
    log "$kind: $source/ -> $dir/$stamp${link_dest:+ (unchanged files linked from $(readlink "$dir/latest"))}"
    rsync -a --delete --numeric-ids "${link_dest[@]}" "$source/" "$work/" >>"$LOG_FILE" 2>&1 ||
        die 1 "$kind: rsync failed (exit $?); the partial copy stays in $work and the next run completes it"
    mv -T "$work" "$dir/$stamp"
    # Repoint latest atomically: a new link beside it, renamed over it.
    ln -sfn "$stamp" "$dir/.latest.new"
    mv -T "$dir/.latest.new" "$dir/latest"
}

main() {
    case ${1:-} in
    -h | --help)
        usage
        exit 0
        ;;
    "") ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
    command -v rsync >/dev/null || die 1 "rsync is not installed (package rsync)"
    mkdir -p "$LOG_DIR" || die 1 "cannot create the log directory $LOG_DIR"
    require_mounted "backup disk" "$BACKUP_DIR"
    require_mounted "models disk" "$MODELS_DIR"
    [[ -d $MODELS_DIR/active ]] || die 1 "$MODELS_DIR/active does not exist: nothing to back up"
    [[ -d $CONFIGS_DIR ]] || die 1 "$CONFIGS_DIR does not exist"

    mkdir -p "$(dirname "$LOCK_FILE")"
    exec 9>"$LOCK_FILE"
    flock -n 9 || die 4 "another backup is running (it holds $LOCK_FILE)"

    local stamp
    stamp=$(free_stamp "$(date -u +%Y%m%dT%H%M%SZ)")
    log "backup $stamp started"
    snapshot models "$MODELS_DIR/active" "$stamp"
    snapshot configs "$CONFIGS_DIR" "$stamp"
    printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$stamp" >"$SUCCESS_FILE.new"
    mv -f "$SUCCESS_FILE.new" "$SUCCESS_FILE"
    log "backup $stamp complete"
}

main "$@"
