#!/bin/bash
# storage-monitor.sh: health of the Citadel storage: space, SMART, I/O.
# Installed and kept byte-identical by citadel-check (check `scripts`).
#
# For the models disk and the backup disk: whether it is mounted, block and inode usage (df), SMART health
# and temperature of the disk behind the mount (smartctl, where it is installed and the device supports it;
# otherwise it says "SMART not available for DEV" and goes on), and I/O statistics (iostat when installed,
# else the kernel's /proc/diskstats counters). Prints WARN lines past the thresholds.
#
# Environment:
#   CITADEL_MODELS_DIR           models disk mount point                          /mnt/citadel-models
#   CITADEL_BACKUP_DIR           backup disk mount point                          /mnt/citadel-backup
#   CITADEL_DISK_WARN_PERCENT    warn when block or inode usage reaches this      85
#   CITADEL_TEMP_WARN_CELSIUS    warn when a disk is this hot or hotter           60
#   CITADEL_REQUIRE_MOUNT        1: warn when a directory is not a mount point; 0: do not (tests)   1
#
# Exit status: 0 nothing to warn about, 1 at least one WARN, 2 usage.
set -euo pipefail

readonly MODELS_DIR=${CITADEL_MODELS_DIR:-/mnt/citadel-models}
readonly BACKUP_DIR=${CITADEL_BACKUP_DIR:-/mnt/citadel-backup}
readonly DISK_WARN=${CITADEL_DISK_WARN_PERCENT:-85}
readonly TEMP_WARN=${CITADEL_TEMP_WARN_CELSIUS:-60}
readonly REQUIRE_MOUNT=${CITADEL_REQUIRE_MOUNT:-1}

warnings=0

warn() {
    printf 'WARN %s\n' "$*"
    warnings=$((warnings + 1))
}

info() {
    printf '     %s\n' "$*"
}

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

is_number() {
    [[ $1 =~ ^[0-9]+$ ]]
}

# usage_of LABEL DIR: block and inode usage of the file system holding DIR.
usage_of() {
    local label=$1 dir=$2 line percent kind
    for kind in blocks inodes; do
        local -a flags=(-P)
        [[ $kind == inodes ]] && flags+=(-i)
        if ! line=$(df "${flags[@]}" "$dir" 2>/dev/null | awk 'NR == 2'); then
            warn "$label: df cannot read $dir"
            return
        fi
        # POSIX df -P: filesystem, total, used, available, capacity%, mounted on.
        percent=$(awk '{ sub(/%$/, "", $5); print $5 }' <<<"$line")
        if ! is_number "$percent"; then
            info "$label: $kind usage unknown (df printed: $line)"
            continue
        fi
        info "$label: $kind ${percent}% used ($(awk '{ print $3 " of " $2 }' <<<"$line"))"
        if ((percent >= DISK_WARN)); then
            warn "$label: $kind usage ${percent}% is at or above ${DISK_WARN}%"
        fi
    done
}

# disk_of DIR: the whole-disk device (/dev/sda, /dev/nvme1n1) behind the file system holding DIR, if any.
disk_of() {
    local source parent
    source=$(findmnt -n -o SOURCE --target "$1" 2>/dev/null) || return 0
    [[ $source == /dev/* ]] || return 0
    # A partition's parent kernel name; empty for a whole disk.
    parent=$(lsblk -n -d -o PKNAME "$source" 2>/dev/null | head -n 1) || parent=
    if [[ -n $parent ]]; then
        printf '/dev/%s\n' "$parent"
    else
        printf '%s\n' "$source"
    fi
}

# smart_of LABEL DISK: SMART overall health and temperature.
smart_of() {
    local label=$1 disk=$2 output status=0 health temp
    if ! command -v smartctl >/dev/null; then
        info "$label: SMART not available for $disk (smartctl is not installed: package smartmontools)"
        return
    fi
    output=$(smartctl -H -A "$disk" 2>&1) || status=$?
    # smartctl's exit status is a bit mask: bit 0 the command line or device type was not understood (a loop or
    # virtual disk: "Unable to detect device type"), bit 1 the device could not be opened, bit 3 the disk is
    # failing.
    if ((status & 3)) || grep -q 'SMART support is: *Unavailable' <<<"$output"; then
        info "$label: SMART not available for $disk"
        return
    fi
    health=$(sed -n 's/^SMART overall-health self-assessment test result: *//p; s/^SMART Health Status: *//p' \
        <<<"$output" | head -n 1)
    if ((status & 8)) || [[ -n $health && $health != PASSED && $health != OK ]]; then
        warn "$label: SMART health of $disk is ${health:-FAILING} (smartctl exit $status): replace the disk"
    else
        info "$label: SMART health of $disk: ${health:-unknown}"
    fi
    # NVMe "Temperature: 41 Celsius", SCSI "Current Drive Temperature: 30 C", ATA attribute 194 raw value.
    temp=$(awk '
        /^Temperature:/ { print $2; exit }
        /^Current Drive Temperature:/ { print $4; exit }
        $1 == 194 && $2 ~ /Temperature/ { print $10; exit }' <<<"$output")
    if is_number "${temp:-}"; then
        info "$label: temperature of $disk: ${temp} C"
        if ((temp >= TEMP_WARN)); then
            warn "$label: $disk is at ${temp} C, at or above ${TEMP_WARN} C"
        fi
    else
        info "$label: temperature of $disk not reported"
    fi
}

# io_of LABEL DISK: I/O statistics since boot.
io_of() {
    local label=$1 disk=$2 name=${2#/dev/}
    if command -v iostat >/dev/null; then
        info "$label: iostat -dx $name"
        iostat -dx "$name" 2>&1 | sed 's/^/       /' || true
    elif [[ -r /proc/diskstats ]]; then
        awk -v dev="$name" -v label="$label" '$3 == dev {
            printf "     %s: %s reads (%d sectors), %s writes (%d sectors), %s ms doing I/O (iostat not installed)\n",
                label, $4, $6, $8, $10, $13 }' /proc/diskstats
    else
        info "$label: no I/O statistics for $disk"
    fi
}

monitor() {
    local label=$1 dir=$2 disk
    printf '%s (%s)\n' "$label" "$dir"
    if [[ ! -d $dir ]]; then
        warn "$label: $dir does not exist"
        return
    fi
    if [[ $REQUIRE_MOUNT != 0 ]] && ! mountpoint -q "$dir"; then
        warn "$label: $dir is not mounted (the root file system is underneath)"
    fi
    usage_of "$label" "$dir"
    disk=$(disk_of "$dir")
    if [[ -z $disk ]]; then
        info "$label: SMART not available for $dir (no block device behind it)"
        return
    fi
    smart_of "$label" "$disk"
    io_of "$label" "$disk"
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
    is_number "$DISK_WARN" || {
        echo "CITADEL_DISK_WARN_PERCENT must be a number" >&2
        exit 2
    }
    is_number "$TEMP_WARN" || {
        echo "CITADEL_TEMP_WARN_CELSIUS must be a number" >&2
        exit 2
    }
    monitor models "$MODELS_DIR"
    monitor backup "$BACKUP_DIR"
    if ((warnings > 0)); then
        printf '%d warning(s)\n' "$warnings"
        exit 1
    fi
    echo "storage OK"
}

main "$@"
