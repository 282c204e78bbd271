# shellcheck shell=bash
# `ci/e2e selftest`: the sandbox mechanics alone, without citadel-check. Builds the sandbox as the e2e does,
# proves that commands run inside it and that its writes stay in it, that apt works inside, then tears it
# down (the host side then proves that the host is clean). Sourced, never run.

selftest_inside() {
    local log=$E2E_ARTIFACTS/selftest.log
    : >"$log"
    sandbox_make_fresh
    sandbox_write_policy
    step 1 chroot selftest_chroot || return
    step 2 isolation selftest_isolation || return
    step 3 disks selftest_disks || return
    step 4 apt selftest_apt || return
}

selftest_chroot() {
    local out
    # shellcheck disable=SC2016 # expanded by the shell in the chroot
    out=$(sandbox_run /bin/sh -c 'echo "$(id -u) $(cat /etc/debian_version) $PATH"' 2>&1) ||
        { fail "a command in the chroot failed: $out"; return; }
    [[ $out == "0 "* ]] || { fail "unexpected output from the chroot: $out"; return; }
    ok "commands run in the chroot as root (Debian $(awk '{ print $2 }' <<<"$out"))"
}

selftest_isolation() {
    local probe=/etc/citadel-e2e-selftest-probe
    [[ ! -e $probe ]] || { fail "$probe exists on the host before the test"; return; }
    sandbox_run /bin/sh -c "echo probe > $probe && mkdir -p /opt/citadel-e2e-probe" ||
        { fail "cannot write in the sandbox"; return; }
    # The host's root file system is the overlay's lower layer: the write must be in the upper layer only.
    [[ ! -e $probe && ! -e /opt/citadel-e2e-probe ]] || { fail "a write in the sandbox reached the host"; return; }
    [[ -f $E2E_WORK/tmpfs/upper$probe ]] || { fail "the write is not in the overlay's upper layer"; return; }
    sandbox_run touch "$SANDBOX_ARTIFACTS/selftest-probe" || { fail "cannot write the artifacts"; return; }
    [[ -f $E2E_ARTIFACTS/selftest-probe ]] || { fail "artifacts written inside do not reach $E2E_ARTIFACTS"; return; }
    ok "writes to /etc and /opt stay in the overlay; artifacts reach $E2E_ARTIFACTS"
}

selftest_disks() {
    local line
    sandbox_run test -b "$MODELS_DEV" || { fail "$MODELS_DEV is not a block device in the sandbox"; return; }
    line=$(sandbox_mountinfo "$MODELS_MOUNT")
    [[ $line == *" - ext4 $MODELS_DEV "* ]] || { fail "the models disk is not mounted at $MODELS_MOUNT: $line"; return; }
    [[ ! -e $SANDBOX$BACKUP_MOUNT ]] || { fail "$BACKUP_MOUNT exists in the fresh sandbox"; return; }
    [[ ! -e $SANDBOX/etc/systemd/system/timers.target.wants/fstrim.timer ]] ||
        { fail "fstrim.timer is still enabled in the fresh sandbox"; return; }
    grep -q "device = \"$BACKUP_DEV\"" "$SANDBOX/etc/citadel/citadel-check.toml" ||
        { fail "the sandbox's policy does not name $BACKUP_DEV"; return; }
    ok "$MODELS_DEV mounted at $MODELS_MOUNT (by hand, defaults), $BACKUP_DEV unmounted; policy names both"
}

selftest_apt() {
    local log=$E2E_ARTIFACTS/selftest-apt.log
    sandbox_run timeout 120 apt-get update >"$log" 2>&1 || { fail "apt-get update in the sandbox: $(tail -n 1 "$log")"; return; }
    sandbox_run apt-get install -y --no-install-recommends --simulate tree >>"$log" 2>&1 ||
        { fail "apt-get install --simulate tree: $(tail -n 1 "$log")"; return; }
    ok "apt-get update works inside (DNS through the overlay's /etc/resolv.conf); log in $log"
}
