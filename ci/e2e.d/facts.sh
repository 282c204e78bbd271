# shellcheck shell=bash
# `ci/e2e facts`: verifies, inside the sandbox and on this machine's kernel, the behaviour the steps rely on.
# The findings are summarised in the comment block at the top of ci/e2e. Sourced, never run.

FACTS_FAILED=0

fact_ok() {
    printf 'fact ok:     %s\n' "$*"
}

fact_failed() {
    printf 'fact FAILED: %s\n' "$*"
    FACTS_FAILED=$((FACTS_FAILED + 1))
}

# has_flag FLAGS OPTION: FLAGS (from mount_flags or super_flags) holds OPTION.
has_flag() {
    [[ $1 == *,"$2",* ]]
}

facts_inside() {
    local m=$MODELS_MOUNT b=$BACKUP_MOUNT line id rc uuid
    sandbox_assert_overlay
    mkdir -p "$SANDBOX$m" "$SANDBOX$b"

    # Without udev there are no /dev/disk links; the tool must read the superblock.
    if [[ -e $SANDBOX/dev/disk/by-uuid ]]; then
        fact_failed "/dev/disk/by-uuid exists in the sandbox (udev runs here?)"
    else
        fact_ok "no /dev/disk/by-uuid in the sandbox (no udev): UUIDs come from the ext4 superblock"
    fi

    sandbox_run mount -o noatime,nodiratime,barrier=0,data=writeback "$MODELS_DEV" "$m"
    line=$(sandbox_mountinfo "$m")
    if has_flag "$(mount_flags "$line")" noatime && has_flag "$(mount_flags "$line")" nodiratime &&
        has_flag "$(super_flags "$line")" nobarrier && has_flag "$(super_flags "$line")" data=writeback; then
        fact_ok "models options (noatime,nodiratime,barrier=0,data=writeback): $line"
    else
        fact_failed "models options: $line"
    fi

    sandbox_run mount -o noatime,barrier=1,data=ordered "$BACKUP_DEV" "$b"
    line=$(sandbox_mountinfo "$b")
    if [[ $(mount_flags "$line") == ,rw,noatime, && $(super_flags "$line") == ,rw,data=ordered, ]]; then
        fact_ok "backup options (noatime,barrier=1,data=ordered): $line"
    else
        fact_failed "backup options: $line"
    fi

    sandbox_run mount -o remount,relatime "$m"
    line=$(sandbox_mountinfo "$m")
    if has_flag "$(mount_flags "$line")" noatime; then
        fact_ok "'mount -o remount,relatime' keeps noatime (libmount merges the old flags): $(mount_flags "$line")"
    else
        fact_failed "'mount -o remount,relatime' dropped noatime: $(mount_flags "$line")"
    fi

    sandbox_run mount -o remount,atime,relatime "$m"
    line=$(sandbox_mountinfo "$m")
    if ! has_flag "$(mount_flags "$line")" noatime && has_flag "$(mount_flags "$line")" relatime; then
        fact_ok "'mount -o remount,atime,relatime' drops noatime: $(mount_flags "$line")"
    else
        fact_failed "'mount -o remount,atime,relatime': $(mount_flags "$line")"
    fi

    rc=0
    sandbox_run mount -o remount,data=ordered "$m" 2>/dev/null || rc=$?
    line=$(sandbox_mountinfo "$m")
    if ((rc == 32)) && has_flag "$(super_flags "$line")" data=writeback; then
        fact_ok "a remount changing data= fails with rc 32 and leaves data=writeback"
    else
        fact_failed "remount data=ordered: rc $rc, $(super_flags "$line")"
    fi

    rc=0
    sandbox_run mount -o remount,noatime,data=writeback "$m" || rc=$?
    line=$(sandbox_mountinfo "$m")
    if ((rc == 0)) && has_flag "$(mount_flags "$line")" noatime; then
        fact_ok "a remount restating the same data= succeeds (rc 0) and noatime comes back"
    else
        fact_failed "remount restating data=writeback: rc $rc, $line"
    fi

    # What `UmountMount` does: umount, then mount by the fstab entry (UUID=, found without udev by libblkid
    # probing the devices). Mount ids are reused at once, so the witness of a new mount is its data= mode.
    uuid=$(blkid -o value -s UUID "$MODELS_DEV")
    sandbox_assert_overlay
    printf 'UUID=%s %s ext4 defaults,noatime,nodiratime,barrier=0,data=writeback 0 2\n' "$uuid" "$m" \
        >>"$SANDBOX/etc/fstab"
    sandbox_run umount "$m"
    sandbox_run mount -o defaults "$MODELS_DEV" "$m"
    line=$(sandbox_mountinfo "$m")
    if has_flag "$(super_flags "$line")" data=writeback; then
        fact_failed "a plain mount of the fresh file system shows data=writeback: $line"
    fi
    id=$(awk '{ print $1 }' <<<"$line")
    if sandbox_run umount "$m" && sandbox_run mount "$m"; then
        line=$(sandbox_mountinfo "$m")
        if has_flag "$(super_flags "$line")" data=writeback; then
            fact_ok "umount + 'mount $m' through an fstab UUID= entry works without udev: data=ordered became" \
                "data=writeback; mount id $id became $(awk '{ print $1 }' <<<"$line") (ids are reused: no witness)"
        else
            fact_failed "umount + mount by fstab: $line"
        fi
    else
        fact_failed "umount + 'mount $m' through an fstab UUID= entry failed"
    fi

    # How a fixer can undo the drift of step 5 through fstab: a plain remount applies the fstab entry's options.
    sandbox_run mount -o remount,atime,relatime "$m"
    sandbox_run mount -o remount "$m"
    line=$(sandbox_mountinfo "$m")
    if has_flag "$(mount_flags "$line")" noatime; then
        fact_ok "after 'remount,atime,relatime', 'mount -o remount $m' applies the fstab options: $(mount_flags "$line")"
    else
        fact_failed "'mount -o remount $m' with an fstab entry did not restore noatime: $(mount_flags "$line")"
    fi

    local verify
    if verify=$(sandbox_run findmnt --verify --tab-file /etc/fstab 2>&1); then
        fact_ok "findmnt --verify accepts an fstab UUID= entry without udev: $(tail -n 1 <<<"$verify")"
    else
        fact_failed "findmnt --verify on an fstab UUID= entry without udev: $(tr '\n' ' ' <<<"$verify")"
    fi

    local scheduler original
    original=$(scheduler_of "$MODELS_DEV")
    for scheduler in mq-deadline none; do
        if echo "$scheduler" >"/sys/block/${MODELS_DEV#/dev/}/queue/scheduler" &&
            [[ $(scheduler_of "$MODELS_DEV") == "$scheduler" ]]; then
            fact_ok "writing $scheduler to queue/scheduler works: $(cat "/sys/block/${MODELS_DEV#/dev/}/queue/scheduler")"
        else
            fact_failed "writing $scheduler to queue/scheduler"
        fi
    done
    if echo bogus 2>/dev/null >"/sys/block/${MODELS_DEV#/dev/}/queue/scheduler"; then
        fact_failed "writing an unknown scheduler was accepted"
    else
        fact_ok "writing an unknown scheduler fails (EINVAL)"
    fi
    echo "$original" >"/sys/block/${MODELS_DEV#/dev/}/queue/scheduler"
    fact_ok "initial scheduler of a fresh loop device: $original;" \
        "rotational: models $(cat "/sys/block/${MODELS_DEV#/dev/}/queue/rotational")," \
        "backup $(cat "/sys/block/${BACKUP_DEV#/dev/}/queue/rotational") (written by the host side)"

    local sysfs
    sysfs=$(readlink "/sys/dev/block/$(cat "/sys/block/${MODELS_DEV#/dev/}/dev")")
    fact_ok "sysfs of the models disk: /sys/dev/block/$(cat "/sys/block/${MODELS_DEV#/dev/}/dev") -> $sysfs;" \
        "uevent: $(tr '\n' ' ' <"/sys/block/${MODELS_DEV#/dev/}/uevent")"

    if sandbox_run cat /proc/self/mountinfo | grep -q " $E2E_WORK"; then
        fact_failed "the sandbox's mountinfo shows paths outside its root"
    else
        fact_ok "mountinfo inside the chroot shows only mounts under its root, with paths relative to it"
    fi

    # What storage-monitor.sh meets on a loop device (step 6).
    local smart
    sandbox_refresh_apt
    if sandbox_run apt-get install -y -q --no-install-recommends smartmontools >"$E2E_ARTIFACTS/facts-apt.log" 2>&1; then
        rc=0
        smart=$(sandbox_run smartctl -H -A "$MODELS_DEV" 2>&1) || rc=$?
        fact_ok "smartctl -H -A on a loop device exits $rc (bit 0: command line/device type) and says:" \
            "$(grep -m1 -i 'unable\|unavailable\|not supported' <<<"$smart")"
    else
        fact_failed "could not install smartmontools in the sandbox (facts-apt.log)"
    fi

    sandbox_run umount "$m" "$b"
    ((FACTS_FAILED == 0))
}
