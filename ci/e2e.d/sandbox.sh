# shellcheck shell=bash
# The sandbox: this machine, seen through an overlay whose writes land on a tmpfs, inside a private mount
# namespace, with two loop devices as its disks. Sourced by ci/e2e, never run.
#
# Two halves:
# - host side (the process that started ci/e2e, in the host's mount namespace): creates the work directory and
#   the loop devices, starts the namespace, and on any exit detaches the loop devices, ends what is left of
#   the sandbox's processes, removes the images and proves the host is clean. Loop devices are not
#   namespaced, which is why they belong to this side: it outlives the namespace.
# - inside (re-executed under `unshare -m --propagation private`): mounts the tmpfs, the overlay and the
#   rbinds, installs the binary and the policy, runs commands with `chroot`, and unmounts everything on exit.
#   Every mount it makes lives in the private namespace only: it vanishes with the namespace even if this
#   side is killed.

# Where commands inside the sandbox find their tools: root's secure PATH, as cron and sudo give it.
readonly SANDBOX_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Where the artifacts folder is bind-mounted inside the sandbox.
readonly SANDBOX_ARTIFACTS=/e2e-artifacts
# Size of each sparse image (GNU truncate syntax). Small: mkfs and the backups are quick; only written blocks
# cost disk space.
readonly DISK_SIZE=256M
# The mount points of the layout (the embedded policy's; the sandbox's policy changes only the devices).
readonly MODELS_MOUNT=/mnt/citadel-models
readonly BACKUP_MOUNT=/mnt/citadel-backup

# ---------------------------------------------------------------------------------------------------------
# Host side
# ---------------------------------------------------------------------------------------------------------

# host_prepare: the work directory and the two disks. Sets E2E_WORK, MODELS_DEV, BACKUP_DEV.
host_prepare() {
    E2E_WORK=$(mktemp -d /tmp/citadel-e2e.XXXXXX)
    trap host_cleanup EXIT
    trap 'host_interrupted INT 130' INT
    trap 'host_interrupted TERM 143' TERM
    truncate -s "$DISK_SIZE" "$E2E_WORK/models.img" "$E2E_WORK/backup.img"
    MODELS_DEV=$(losetup -f --show "$E2E_WORK/models.img") || e2e_die "losetup could not attach models.img"
    BACKUP_DEV=$(losetup -f --show "$E2E_WORK/backup.img") || e2e_die "losetup could not attach backup.img"
    mkfs.ext4 -q -F -L citadel-models "$MODELS_DEV" || e2e_die "mkfs.ext4 $MODELS_DEV failed"
    mkfs.ext4 -q -F -L citadel-backup "$BACKUP_DEV" || e2e_die "mkfs.ext4 $BACKUP_DEV failed"
    # The models disk plays an NVMe SSD (not rotational), the backup disk an HDD (rotational). This writes the
    # HOST's sysfs: loop devices are not namespaced. That is acceptable because these two loop devices are
    # ours alone, for this run: they are detached at the end, and the next attach of the device sets
    # rotational afresh. Nothing of the host's own disks is touched.
    echo 0 >"/sys/block/${MODELS_DEV#/dev/}/queue/rotational"
    echo 1 >"/sys/block/${BACKUP_DEV#/dev/}/queue/rotational"
    e2e_say "work directory $E2E_WORK; models disk $MODELS_DEV, backup disk $BACKUP_DEV ($DISK_SIZE each, ext4)"
    export E2E_WORK MODELS_DEV BACKUP_DEV
}

# host_enter MODE: runs `ci/e2e __inside MODE` in a private mount namespace; returns its exit status.
host_enter() {
    local mode=$1 status=0
    unshare --mount --propagation private -- bash "$E2E_SELF" __inside "$mode" &
    E2E_CHILD=$!
    wait "$E2E_CHILD" || status=$?
    E2E_CHILD=""
    return "$status"
}

host_interrupted() {
    local signal=$1 status=$2
    e2e_say "interrupted by SIG$signal: tearing the sandbox down"
    if [[ -n ${E2E_CHILD:-} ]]; then
        kill -TERM "$E2E_CHILD" 2>/dev/null || true
        wait "$E2E_CHILD" 2>/dev/null || true
    fi
    exit "$status"
}

# The mount namespace the sandbox ran in (recorded by the inside half), so that the host side can find the
# processes still in it.
sandbox_namespace() {
    cat "$E2E_WORK/namespace" 2>/dev/null || true
}

# host_end_stragglers: kills, by pid, every process still in the sandbox's mount namespace (a daemon a package
# started, a command a timeout left behind). They are ours: nothing else runs in that namespace. While one
# lives, the namespace and its mounts live, and the loop devices stay busy.
host_end_stragglers() {
    local namespace pid
    namespace=$(sandbox_namespace)
    [[ -n $namespace ]] || return 0
    for pid in /proc/[0-9]*; do
        pid=${pid#/proc/}
        [[ $pid != "$$" ]] || continue
        if [[ $(readlink "/proc/$pid/ns/mnt" 2>/dev/null) == "$namespace" ]]; then
            e2e_say "ending leftover sandbox process $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null))"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
}

# host_detach IMAGE: detaches every loop device backed by IMAGE, retrying while the namespace is going away.
host_detach() {
    local image=$1 device attempt
    local -a devices
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        mapfile -t devices < <(losetup -n -O NAME -j "$image" 2>/dev/null)
        ((${#devices[@]} > 0)) || return 0
        for device in "${devices[@]}"; do
            losetup -d "$device" 2>/dev/null || true
        done
        sleep 0.5
        [[ $attempt != 10 ]] || e2e_say "warning: could not detach ${devices[*]} ($image)"
    done
}

# host_cleanup: the EXIT trap of the host side. Runs on success, failure and interruption alike.
host_cleanup() {
    local status=$?
    trap - EXIT INT TERM
    [[ -n ${E2E_WORK:-} && -d $E2E_WORK ]] || exit "$status"
    host_end_stragglers
    local dirty="" device
    # Every mount of the sandbox lived in its private namespace: none may show here, in the host's.
    for device in ${MODELS_DEV:-} ${BACKUP_DEV:-}; do
        if findmnt -rn -o TARGET,SOURCE --source "$device" >&2; then
            dirty="$device is mounted on the host"
        fi
    done
    if findmnt -rn -o TARGET,SOURCE | grep -F -e "$E2E_WORK" >&2; then
        dirty="mounts of the sandbox are visible on the host"
    fi
    host_detach "$E2E_WORK/models.img"
    host_detach "$E2E_WORK/backup.img"
    if losetup -a | grep -F "$E2E_WORK/" >&2; then
        dirty="loop devices still attached to $E2E_WORK"
    fi
    if [[ -n $dirty ]]; then
        e2e_say "teardown FAILED: $dirty (left $E2E_WORK in place)"
        ((status != 0)) || status=1
    else
        rm -rf --one-file-system "$E2E_WORK"
        e2e_say "teardown: loop devices detached, images removed, nothing of the sandbox mounted on the host"
    fi
    exit "$status"
}

# ---------------------------------------------------------------------------------------------------------
# Inside the private mount namespace
# ---------------------------------------------------------------------------------------------------------

# sandbox_build: tmpfs, overlay of /, rbinds, artifacts. Sets SANDBOX (the overlay's mount point: the
# sandbox's /). Nothing is written under SANDBOX before sandbox_assert_overlay has proved it is the overlay.
sandbox_build() {
    local tmpfs=$E2E_WORK/tmpfs dir
    SANDBOX=$E2E_WORK/root
    readlink /proc/self/ns/mnt >"$E2E_WORK/namespace"
    trap sandbox_teardown EXIT
    mkdir -p "$tmpfs" "$SANDBOX"
    mount -t tmpfs -o mode=0755,size=4G citadel-e2e "$tmpfs"
    mkdir "$tmpfs/upper" "$tmpfs/work"
    # lowerdir=/ is the root file system alone (overlayfs takes no submounts), so the sandbox sees this
    # machine's files but none of its other mounts.
    mount -t overlay citadel-e2e -o "lowerdir=/,upperdir=$tmpfs/upper,workdir=$tmpfs/work" "$SANDBOX"
    sandbox_assert_overlay
    for dir in proc sys dev; do
        mount --rbind "/$dir" "$SANDBOX/$dir"
        # Already private (the namespace was made with --propagation private); rslave states the intent:
        # events may come in from the host, nothing done here goes back out.
        mount --make-rslave "$SANDBOX/$dir"
    done
    mkdir -p "$SANDBOX$SANDBOX_ARTIFACTS"
    mount --bind "$E2E_ARTIFACTS" "$SANDBOX$SANDBOX_ARTIFACTS"
    # Packages installed in a chroot must not start their daemons (cron, smartd): one would outlive the run,
    # keeping the namespace and the loop devices busy. Debian's invoke-rc.d asks policy-rc.d; 101 = forbidden.
    # (Docker images ship the same file; the teardown still ends any process left in the sandbox.)
    printf '#!/bin/sh\n# ci/e2e sandbox: no daemon starts in this chroot.\nexit 101\n' >"$SANDBOX/usr/sbin/policy-rc.d"
    chmod 0755 "$SANDBOX/usr/sbin/policy-rc.d"
    export SANDBOX
}

# sandbox_refresh_apt: fresh package lists in the sandbox (the host's stay as they are), so that the e2e
# depends on Debian's mirror being reachable, not on how old this machine's lists are.
sandbox_refresh_apt() {
    local log=$E2E_ARTIFACTS/sandbox-apt-update.log
    sandbox_run apt-get update -q >"$log" 2>&1 ||
        e2e_die "apt-get update failed in the sandbox (network to the Debian mirror?): $(tail -n 1 "$log")"
}

# sandbox_assert_overlay: dies unless SANDBOX is the overlay (guards every write under it).
sandbox_assert_overlay() {
    local fstype
    fstype=$(findmnt -n -o FSTYPE --mountpoint "$SANDBOX" 2>/dev/null | tail -n 1)
    [[ $fstype == overlay ]] || e2e_die "$SANDBOX is not the overlay (found '${fstype:-nothing}'): refusing to write"
}

# sandbox_install_binary PATH: the binary under test, as /usr/local/bin/citadel-check.
sandbox_install_binary() {
    sandbox_assert_overlay
    install -m 0755 "$1" "$SANDBOX/usr/local/bin/citadel-check"
}

# sandbox_install_deb PATH: the package under test, installed with `dpkg -i` as an operator would; its binary
# is /usr/bin/citadel-check. Prints one summary line (the "package" step).
sandbox_install_deb() {
    sandbox_assert_overlay
    install -m 0644 "$1" "$SANDBOX/tmp/citadel-check.deb"
    sandbox_run dpkg -i /tmp/citadel-check.deb >"$E2E_ARTIFACTS/step0-dpkg.out" 2>&1 ||
        e2e_die "dpkg -i $(basename "$1") failed: see $E2E_ARTIFACTS/step0-dpkg.out"
    local missing=() path
    for path in /usr/bin/citadel-check /usr/share/man/man1/citadel-check.1.gz \
        /usr/share/bash-completion/completions/citadel-check /usr/lib/systemd/system/citadel-check-nightly.timer \
        /etc/cron.d/citadel-check-nightly /etc/citadel/citadel-check.toml.example; do
        [[ -e $SANDBOX$path ]] || missing+=("$path")
    done
    ((${#missing[@]} == 0)) || e2e_die "the installed package lacks: ${missing[*]}"
    printf 'e2e step 0 package: dpkg -i %s: %s, man page, completions, units, cron file, example policy\n' \
        "$(basename "$1")" "$(sandbox_run /usr/bin/citadel-check --version 2>&1 | head -n 1)"
}

# sandbox_write_policy: /etc/citadel/citadel-check.toml pointing both storages at the loop devices. A section
# that is given must be given whole, so both storage sections are written out in full; everything else is
# the embedded default.
sandbox_write_policy() {
    sandbox_assert_overlay
    mkdir -p "$SANDBOX/etc/citadel"
    cat >"$SANDBOX/etc/citadel/citadel-check.toml" <<EOF
# citadel-check policy of the e2e sandbox: the Citadel layout, with loop devices as its disks.
[storage.models]
mount_point = "$MODELS_MOUNT"
device = "$MODELS_DEV"
fs_type = "ext4"
options = ["noatime", "nodiratime", "barrier=0", "data=writeback"]
scheduler = "none"
subdirectories = ["active", "archive", "downloads", "cache"]

[storage.backup]
mount_point = "$BACKUP_MOUNT"
device = "$BACKUP_DEV"
fs_type = "ext4"
options = ["noatime", "barrier=1", "data=ordered"]
scheduler = "mq-deadline"
subdirectories = ["models", "configs", "system", "logs"]
EOF
}

# sandbox_remove PATH...: removes system paths from the sandbox (a whiteout in the overlay; the host keeps
# them).
sandbox_remove() {
    local path
    sandbox_assert_overlay
    for path in "$@"; do
        [[ $path == /* && $path != */../* ]] || e2e_die "sandbox_remove: not an absolute clean path: $path"
        rm -rf --one-file-system "${SANDBOX:?}$path"
    done
}

# sandbox_make_fresh: this machine as a fresh Citadel server. The host may already have some of the layout
# (Debian enables fstrim.timer by default); the sandbox removes it so that every fixer has work to do. The
# models disk is mounted by hand at its mount point with default options (data=ordered, relatime) and no
# fstab entry, as an installer might leave it: `--fix` must then add the fstab entry and, since ext4 cannot
# change data= on a remount, really unmount and mount it again.
sandbox_make_fresh() {
    sandbox_remove /etc/systemd/system/timers.target.wants/fstrim.timer /etc/cron.d/citadel-backup \
        /etc/citadel/citadel-check.toml /opt/citadel "$MODELS_MOUNT" "$BACKUP_MOUNT"
    local rules
    for rules in "$SANDBOX"/etc/udev/rules.d/*citadel*; do
        [[ -e $rules ]] && sandbox_remove "${rules#"$SANDBOX"}"
    done
    grep -q citadel "$SANDBOX/etc/fstab" 2>/dev/null &&
        e2e_die "this machine's /etc/fstab names citadel mounts: not a fresh server, the e2e does not run here"
    mkdir -p "$SANDBOX$MODELS_MOUNT"
    mount "$MODELS_DEV" "$SANDBOX$MODELS_MOUNT"
}

# sandbox_run COMMAND [ARG...]: runs a command inside the sandbox (chroot) with a clean environment, for at
# most E2E_STEP_TIMEOUT seconds (exit status 124 when it took longer).
sandbox_run() {
    timeout -k 10 "$E2E_STEP_TIMEOUT" \
        chroot "$SANDBOX" /usr/bin/env -i HOME=/root PATH="$SANDBOX_PATH" LANG=C.UTF-8 TERM=dumb "$@"
}

# sandbox_mountinfo MOUNTPOINT: the visible (last) mountinfo line of a mount point, as the sandbox's own
# processes see it (paths relative to the chroot).
sandbox_mountinfo() {
    # shellcheck disable=SC2016 # awk's own $5, run in the chroot
    sandbox_run awk -v m="$1" '$5 == m { line = $0 } END { print line }' /proc/self/mountinfo
}

# mount_flags LINE / super_flags LINE: a mountinfo line's per-mount options and super options, with a comma
# on both ends for matching (`== *,noatime,*`).
mount_flags() {
    awk '{ print "," $6 "," }' <<<"$1"
}

super_flags() {
    awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { print "," $(i + 3) ","; exit } }' <<<"$1"
}

# scheduler_of DEVICE: the active (bracketed) entry of the device's queue/scheduler.
scheduler_of() {
    sed -n 's/.*\[\(.*\)\].*/\1/p' "/sys/block/${1#/dev/}/queue/scheduler"
}

# sandbox_teardown: the EXIT trap inside the namespace. Ends the processes still running in the sandbox (by
# pid, each of them started by this script), then unmounts everything it mounted, innermost first.
sandbox_teardown() {
    local status=$? pid root
    trap - EXIT
    if [[ -n ${SANDBOX:-} ]]; then
        for pid in /proc/[0-9]*; do
            pid=${pid#/proc/}
            root=$(readlink "/proc/$pid/root" 2>/dev/null) || continue
            if [[ $pid != "$$" && ($root == "$SANDBOX" || $root == "$SANDBOX"/*) ]]; then
                e2e_say "ending sandbox process $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null))"
                kill -KILL "$pid" 2>/dev/null || true
            fi
        done
        umount -R "$SANDBOX" 2>/dev/null || umount -R -l "$SANDBOX" ||
            e2e_say "warning: could not unmount $SANDBOX (the namespace's end releases it)"
    fi
    umount "$E2E_WORK/tmpfs" 2>/dev/null || umount -l "$E2E_WORK/tmpfs" 2>/dev/null || true
    # The host side does this too; doing it here as well covers a host side that was killed.
    host_detach "$E2E_WORK/models.img"
    host_detach "$E2E_WORK/backup.img"
    rm -f "$E2E_WORK/models.img" "$E2E_WORK/backup.img"
    exit "$status"
}
