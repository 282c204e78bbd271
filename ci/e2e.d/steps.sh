# shellcheck shell=bash
# The steps of the e2e, run inside the sandbox (ci/e2e.d/sandbox.sh). Each one runs citadel-check or the
# scripts it installs, keeps what they wrote under the artifacts folder (stepN-NAME.{json,xml,out,err}),
# asserts what the step requires (the reports with report.py, the machine itself with independent witnesses:
# dpkg, fstab, mountinfo, sysfs, the files) and prints one summary line. Sourced, never run.

readonly E2E_REPORT=$E2E_PARTS/report.py
# The paths of the layout the witnesses look at (the embedded policy's).
readonly APP_DIR=/opt/citadel
readonly MODELS_LINK=/opt/citadel/models
readonly MODEL_LINKS_DIR=/opt/citadel/model-links
readonly SCRIPTS_DIR=/opt/citadel/scripts
readonly CRON_FILE=/etc/cron.d/citadel-backup
readonly FSTRIM_LINK=/etc/systemd/system/timers.target.wants/fstrim.timer
readonly PACKAGES="sysstat smartmontools tree rsync cron"

# The steps in order: number, name, function. A failing step 3 stops the run: every later step needs the
# server it converges. Any other failure does not: each step starts from what the one before left, so the
# first FAILED line is the one to read, and the later ones still say what works.
readonly STEPS=(
    "1 check step_check"
    "2 dry-run step_dry_run"
    "3 fix step_fix"
    "4 fix-again step_fix_again"
    "5 drift step_drift"
    "6 scripts step_scripts"
    "7 trap step_trap"
)

run_steps() {
    sandbox_make_fresh
    sandbox_write_policy
    sandbox_refresh_apt
    # With --deb the steps run the packaged binary, installed by dpkg; else the binary given, as
    # /usr/local/bin/citadel-check.
    if [[ -n ${E2E_DEB:-} ]]; then
        sandbox_install_deb "$E2E_DEB"
        E2E_CC=/usr/bin/citadel-check
    else
        sandbox_install_binary "$E2E_BINARY"
        E2E_CC=/usr/local/bin/citadel-check
    fi
    e2e_say "testing $(sandbox_run "$E2E_CC" --version 2>&1 | head -n 1) (${E2E_DEB:-$E2E_BINARY})"
    local entry number name function failed=()
    for entry in "${STEPS[@]}"; do
        read -r number name function <<<"$entry"
        if [[ " ${failed[*]} " == *" 3 "* ]]; then
            printf 'e2e step %s %s: not run (step 3 failed)\n' "$number" "$name"
            continue
        fi
        step "$number" "$name" "$function" || failed+=("$number")
    done
    if ((${#failed[@]} > 0)); then
        e2e_say "failed steps: ${failed[*]} (each step's report, stdout and stderr are in $E2E_ARTIFACTS)"
        return 1
    fi
}

# ---------------------------------------------------------------------------------------------------------
# Running citadel-check and reading its reports
# ---------------------------------------------------------------------------------------------------------

# citadel TAG [ARG...]: runs citadel-check in the sandbox, writing TAG.json and TAG.xml to the artifacts
# (stdout and stderr to TAG.out and TAG.err). Sets CC_TAG, CC_ARGS and CC_STATUS (its exit status).
citadel() {
    CC_TAG=$1
    shift
    CC_ARGS=$*
    CC_STATUS=0
    sandbox_run "$E2E_CC" --json "$SANDBOX_ARTIFACTS/$CC_TAG.json" \
        --junit "$SANDBOX_ARTIFACTS/$CC_TAG.xml" "$@" \
        >"$E2E_ARTIFACTS/$CC_TAG.out" 2>"$E2E_ARTIFACTS/$CC_TAG.err" || CC_STATUS=$?
}

# invocation_ok: fails when citadel-check did not run the step at all: exit 2 (invalid invocation, or a
# flag not implemented yet), a timeout, a crash.
invocation_ok() {
    local command="citadel-check${CC_ARGS:+ $CC_ARGS}"
    case $CC_STATUS in
    0 | 1) return 0 ;;
    2) fail "'$command' exited 2 (invalid invocation): $(first_line "$E2E_ARTIFACTS/$CC_TAG.err")" ;;
    124 | 137) fail "'$command' timed out after ${E2E_STEP_TIMEOUT}s" ;;
    *) fail "'$command' exited $CC_STATUS: $(first_line "$E2E_ARTIFACTS/$CC_TAG.err")" ;;
    esac
}

# assert_report KIND [OPTION...]: report.py KIND on the current JSON report, then the JUnit cross-check. Sets
# REPORT_LINE to the step's summary.
assert_report() {
    local kind=$1 junit
    shift
    if [[ ! -s $E2E_ARTIFACTS/$CC_TAG.json ]]; then
        fail "'citadel-check${CC_ARGS:+ $CC_ARGS}' exited $CC_STATUS and wrote no JSON report" \
            "(stderr: $(first_line "$E2E_ARTIFACTS/$CC_TAG.err"))"
        return
    fi
    REPORT_LINE=$(python3 "$E2E_REPORT" "$kind" "$E2E_ARTIFACTS/$CC_TAG.json" "$@" 2>&1) ||
        { fail "$REPORT_LINE"; return; }
    junit=$(python3 "$E2E_REPORT" junit "$E2E_ARTIFACTS/$CC_TAG.json" "$E2E_ARTIFACTS/$CC_TAG.xml" 2>&1) ||
        { fail "$junit"; return; }
}

# expect_exit STATUS: citadel-check's exit status must be STATUS (0 compliant, 1 not compliant).
expect_exit() {
    ((CC_STATUS == $1)) || fail "exit status $CC_STATUS, expected $1 ($REPORT_LINE)"
}

# ---------------------------------------------------------------------------------------------------------
# The machine's state, for "nothing changed"
# ---------------------------------------------------------------------------------------------------------

# state_listing: every file the tool could touch (path, inode, mode, owner, size, mtime, link target), the
# storage mounts with their options, and both schedulers. Two equal listings mean nothing was written.
state_listing() {
    (cd "$SANDBOX" && find etc opt mnt usr/local var/spool/cron var/backups var/lib/dpkg/status \
        -printf '%p %i %m %u:%g %s %T@ %l\n' 2>/dev/null | LC_ALL=C sort) || true
    findmnt -rn -o TARGET,SOURCE,FSTYPE,OPTIONS | awk -v p="$SANDBOX/mnt/" 'index($1, p) == 1'
    echo "scheduler $MODELS_DEV $(cat "/sys/block/${MODELS_DEV#/dev/}/queue/scheduler")"
    echo "scheduler $BACKUP_DEV $(cat "/sys/block/${BACKUP_DEV#/dev/}/queue/scheduler")"
}

# snapshot_state NAME: writes the listing to the artifacts; prints its hash.
snapshot_state() {
    state_listing >"$E2E_ARTIFACTS/$1.state"
    sha256sum <"$E2E_ARTIFACTS/$1.state" | cut -c1-12
}

# unchanged BEFORE AFTER: fails, naming what is new, gone and changed, when two snapshots differ.
unchanged() {
    local before=$E2E_ARTIFACTS/$1.state after=$E2E_ARTIFACTS/$2.state what
    cmp -s "$before" "$after" && return 0
    # Keyed by path (mounts by target, schedulers by device); directories whose entries changed come last.
    what=$(awk '
        { key = ($1 == "scheduler") ? $1 " " $2 : $1 }
        NR == FNR { old[key] = $0; next }
        { seen[key] = 1; if (!(key in old)) new = new " " key; else if (old[key] != $0) changed = changed " " key }
        END {
            for (key in old) if (!(key in seen)) gone = gone " " key
            if (new) printf "new:%s; ", new
            if (gone) printf "gone:%s; ", gone
            if (changed) printf "changed:%s", changed
        }' "$before" "$after")
    fail "the system changed ($1.state vs $2.state): ${what%; }"
}

# ---------------------------------------------------------------------------------------------------------
# Witnesses: the machine itself, read without citadel-check
# ---------------------------------------------------------------------------------------------------------

# witness_mount MOUNT DEVICE PER_MOUNT_OPTION... -- SUPER_OPTION...: the visible mount at MOUNT is DEVICE's
# ext4 with these options.
witness_mount() {
    local mount=$1 device=$2 line option super=0
    shift 2
    line=$(sandbox_mountinfo "$mount")
    [[ $line == *" - ext4 $device "* ]] || { fail "$mount is not $device's ext4: '${line:-not mounted}'"; return; }
    for option in "$@"; do
        if [[ $option == -- ]]; then
            super=1
        elif ((super)); then
            [[ $(super_flags "$line") == *",$option,"* ]] || { fail "$mount lacks $option: $line"; return; }
        else
            [[ $(mount_flags "$line") == *",$option,"* ]] || { fail "$mount lacks $option: $line"; return; }
        fi
    done
}

# data_mode LINE: the ext4 data= mode of a mountinfo line (ordered when the kernel shows none).
data_mode() {
    local mode
    mode=$(super_flags "$1" | grep -o ',data=[a-z]*,' | tr -d ,) || true
    printf '%s\n' "${mode:-data=ordered}"
}

# witness_fstab MOUNT DEVICE: /etc/fstab mounts DEVICE's file system at MOUNT by UUID.
witness_fstab() {
    local mount=$1 device=$2 uuid
    uuid=$(blkid -o value -s UUID "$device")
    awk -v u="UUID=$uuid" -v m="$mount" '$1 == u && $2 == m && $3 == "ext4" { found = 1 } END { exit !found }' \
        "$SANDBOX/etc/fstab" || { fail "/etc/fstab has no 'UUID=$uuid $mount ext4' entry"; return; }
}

# witness_converged: what step 3 promises, seen directly on the machine.
witness_converged() {
    local package status
    for package in $PACKAGES; do
        # shellcheck disable=SC2016 # a dpkg-query format, not a shell expansion
        status=$(sandbox_run dpkg-query -W -f '${db:Status-Abbrev}' "$package" 2>/dev/null) || status=""
        [[ $status == "ii "* ]] || { fail "package $package is not installed (dpkg: '${status:-unknown}')"; return; }
    done
    witness_fstab "$MODELS_MOUNT" "$MODELS_DEV" || return
    witness_fstab "$BACKUP_MOUNT" "$BACKUP_DEV" || return
    witness_mount "$MODELS_MOUNT" "$MODELS_DEV" noatime -- nobarrier data=writeback || return
    witness_mount "$BACKUP_MOUNT" "$BACKUP_DEV" noatime -- data=ordered || return
    [[ $(scheduler_of "$MODELS_DEV") == none ]] || { fail "scheduler of $MODELS_DEV: $(scheduler_of "$MODELS_DEV")"; return; }
    [[ $(scheduler_of "$BACKUP_DEV") == mq-deadline ]] ||
        { fail "scheduler of $BACKUP_DEV: $(scheduler_of "$BACKUP_DEV")"; return; }
    grep -qs 'queue/scheduler' "$SANDBOX"/etc/udev/rules.d/*.rules ||
        { fail "no rules file in /etc/udev/rules.d sets queue/scheduler"; return; }
    [[ -L $SANDBOX$FSTRIM_LINK ]] || { fail "$FSTRIM_LINK is not a link (fstrim.timer not enabled)"; return; }
    witness_cron_file || return
    [[ $(sandbox_run readlink -f "$MODELS_LINK") == "$MODELS_MOUNT/active" ]] ||
        { fail "$MODELS_LINK does not lead to $MODELS_MOUNT/active"; return; }
    local model models=0
    for model in "$SANDBOX$MODELS_MOUNT"/active/*/; do
        model=$(basename "$model")
        [[ $(sandbox_run readlink -f "$MODEL_LINKS_DIR/$model") == "$MODELS_MOUNT/active/$model" ]] ||
            { fail "$MODEL_LINKS_DIR/$model does not lead to its model directory"; return; }
        models=$((models + 1))
    done
    ((models > 0)) || { fail "no model directory in $MODELS_MOUNT/active"; return; }
    local script
    for script in citadel-backup.sh verify-models.sh storage-monitor.sh; do
        [[ -f $SANDBOX$SCRIPTS_DIR/$script && -x $SANDBOX$SCRIPTS_DIR/$script ]] ||
            { fail "$SCRIPTS_DIR/$script is not an executable file"; return; }
    done
    # Rule 2: the backup subdirectories are on the backup disk, not on the root file system beneath it.
    [[ $(stat -c %d "$SANDBOX$BACKUP_MOUNT") == $(stat -c %d "$SANDBOX$BACKUP_MOUNT/models") ]] ||
        { fail "$BACKUP_MOUNT/models is not on the backup disk"; return; }
    WITNESS="on the machine: $PACKAGES installed, fstab by UUID, schedulers none/mq-deadline, udev rules,"
    WITNESS+=" fstrim.timer link, $models model links, scripts, cron.d"
}

# witness_cron_file: the cron.d file exists in a form Debian's cron runs (root-owned, not group/other
# writable, one link) and runs the backup script.
witness_cron_file() {
    local file=$SANDBOX$CRON_FILE
    [[ -f $file && ! -L $file ]] || { fail "$CRON_FILE is not a regular file"; return; }
    [[ $(stat -c '%u %h' "$file") == "0 1" ]] || { fail "$CRON_FILE: owner and links $(stat -c '%u %h' "$file")"; return; }
    (($((8#$(stat -c %a "$file") & 8#022)) == 0)) || { fail "$CRON_FILE is mode $(stat -c %a "$file")"; return; }
    grep -q 'citadel-backup.sh' "$file" || { fail "$CRON_FILE does not run citadel-backup.sh"; return; }
}

# ---------------------------------------------------------------------------------------------------------
# The steps
# ---------------------------------------------------------------------------------------------------------

# 1. The fresh sandbox: at least eight of the ten checks fail, each with findings.
step_check() {
    citadel step1-check
    invocation_ok || return
    assert_report check --min-failing 8 || return
    expect_exit 1 || return
    ok "$REPORT_LINE"
}

# 2. --fix --dry-run: a plan for each failing check, and nothing changed.
step_dry_run() {
    local before after
    before=$(snapshot_state step2-before)
    citadel step2-dry-run --fix --dry-run
    after=$(snapshot_state step2-after)
    invocation_ok || return
    unchanged step2-before step2-after || return
    assert_report dry-run || return
    expect_exit 1 || return
    ok "$REPORT_LINE; nothing changed (state $before = $after)"
}

# 3. --fix converges the fresh server: all ten checks pass, and the machine shows it.
step_fix() {
    local was
    was=$(data_mode "$(sandbox_mountinfo "$MODELS_MOUNT")")
    citadel step3-fix --fix
    invocation_ok || return
    assert_report converge || return
    expect_exit 0 || return
    witness_converged || return
    ok "$REPORT_LINE; models disk $was -> $(data_mode "$(sandbox_mountinfo "$MODELS_MOUNT")") (umount + mount);" \
        "$WITNESS"
}

# 4. --fix again: zero actions, nothing written.
step_fix_again() {
    local before after
    before=$(snapshot_state step4-before)
    citadel step4-fix-again --fix
    after=$(snapshot_state step4-after)
    invocation_ok || return
    assert_report idempotent || return
    unchanged step4-before step4-after || return
    expect_exit 0 || return
    ok "$REPORT_LINE; nothing written (state $before = $after)"
}

# 5. Drift in four places; --fix repairs exactly those.
step_drift() {
    local link line
    # `remount,relatime` alone would keep noatime (libmount merges the old flags): atime clears it.
    sandbox_run mount -o remount,atime,relatime "$MODELS_MOUNT" || { fail "could not remount $MODELS_MOUNT"; return; }
    line=$(sandbox_mountinfo "$MODELS_MOUNT")
    [[ $(mount_flags "$line") != *,noatime,* ]] || { fail "the drift remount kept noatime: $line"; return; }
    echo mq-deadline >"/sys/block/${MODELS_DEV#/dev/}/queue/scheduler"
    link=$(find "$SANDBOX$MODEL_LINKS_DIR" -mindepth 1 -maxdepth 1 -type l -printf '%f\n' | LC_ALL=C sort | head -n 1)
    [[ -n $link ]] || { fail "no model link to delete in $MODEL_LINKS_DIR"; return; }
    rm "$SANDBOX$MODEL_LINKS_DIR/$link"
    chmod 664 "$SANDBOX$CRON_FILE"

    citadel step5-drift --fix
    invocation_ok || return
    assert_report drift --drifted mount_options,symlinks,io_schedulers,backup_cron || return
    expect_exit 0 || return
    witness_mount "$MODELS_MOUNT" "$MODELS_DEV" noatime -- nobarrier data=writeback || return
    [[ $(scheduler_of "$MODELS_DEV") == none ]] || { fail "scheduler still $(scheduler_of "$MODELS_DEV")"; return; }
    [[ -L $SANDBOX$MODEL_LINKS_DIR/$link ]] || { fail "$MODEL_LINKS_DIR/$link was not restored"; return; }
    witness_cron_file || return
    ok "$REPORT_LINE (relatime, mq-deadline, $MODEL_LINKS_DIR/$link, $CRON_FILE 664)"
}

# 6. The installed scripts, for real: two backups (the second hard-links what did not change), model
# verification (then a bad SHA256SUMS), the storage monitor on loop devices.
step_scripts() {
    local active=$SANDBOX$MODELS_MOUNT/active dir models=() log=$E2E_ARTIFACTS/step6-scripts.log
    : >"$log"
    for dir in "$active"/*/; do
        dir=${dir%/}
        models+=("$(basename "$dir")")
        head -c 262144 /dev/urandom >"$dir/weights.bin"
        printf '{"model": "%s"}\n' "$(basename "$dir")" >"$dir/config.json"
        (cd "$dir" && sha256sum weights.bin config.json >SHA256SUMS)
    done
    ((${#models[@]} >= 3)) || { fail "fewer than three model directories in $MODELS_MOUNT/active"; return; }
    echo "e2e = true" >"$SANDBOX$APP_DIR/configs/e2e.toml"
    local stable=${models[0]} changed=${models[1]} corrupt=${models[2]}

    run_script "backup (first)" "$SCRIPTS_DIR/citadel-backup.sh" || return
    local copies
    mapfile -t copies < <(backup_copies "$stable/weights.bin")
    ((${#copies[@]} == 1)) || { fail "after one backup, ${#copies[@]} copies of $stable/weights.bin on the backup disk"; return; }
    cmp -s "${copies[0]}" "$active/$stable/weights.bin" || { fail "the backup of $stable/weights.bin differs"; return; }
    mapfile -t copies < <(backup_copies "e2e.toml")
    ((${#copies[@]} == 1)) || { fail "the configs were not backed up (${#copies[@]} copies of e2e.toml)"; return; }

    echo "# changed" >>"$active/$changed/config.json"
    (cd "$active/$changed" && sha256sum weights.bin config.json >SHA256SUMS)
    run_script "backup (second)" "$SCRIPTS_DIR/citadel-backup.sh" || return
    mapfile -t copies < <(backup_copies "$stable/weights.bin")
    ((${#copies[@]} == 2)) || { fail "after two backups, ${#copies[@]} copies of $stable/weights.bin"; return; }
    [[ $(stat -c %i "${copies[0]}") == $(stat -c %i "${copies[1]}") ]] ||
        { fail "the unchanged $stable/weights.bin is not a hard link between the snapshots: ${copies[*]}"; return; }
    local links
    links=$(stat -c %h "${copies[0]}")
    mapfile -t copies < <(backup_copies "$changed/config.json")
    if ((${#copies[@]} != 2)) || [[ $(stat -c %i "${copies[0]}") == $(stat -c %i "${copies[1]}") ]]; then
        fail "the changed $changed/config.json was not copied anew in the second snapshot"
        return
    fi
    local copy snapshots=""
    for copy in "${copies[@]}"; do
        snapshots+="$(basename "$(dirname "$(dirname "$copy")")") "
    done

    run_script "verify-models" "$SCRIPTS_DIR/verify-models.sh" || return
    cp "$active/$corrupt/SHA256SUMS" "$E2E_WORK/SHA256SUMS.good"
    printf '%064d  weights.bin\n' 0 >"$active/$corrupt/SHA256SUMS"
    local status=0
    sandbox_run "$SCRIPTS_DIR/verify-models.sh" >"$E2E_ARTIFACTS/step6-verify-bad.log" 2>&1 || status=$?
    cp "$E2E_WORK/SHA256SUMS.good" "$active/$corrupt/SHA256SUMS"
    ((status == 1)) || { fail "verify-models.sh with a bad SHA256SUMS exited $status, expected 1"; return; }
    grep -q "$corrupt" "$E2E_ARTIFACTS/step6-verify-bad.log" ||
        { fail "verify-models.sh did not name $corrupt (step6-verify-bad.log)"; return; }

    run_script "storage-monitor" "$SCRIPTS_DIR/storage-monitor.sh" || return
    local monitor=$E2E_ARTIFACTS/step6-storage-monitor.log
    if ! grep -q "$MODELS_MOUNT" "$monitor" || ! grep -q "$BACKUP_MOUNT" "$monitor"; then
        fail "storage-monitor.sh does not report both mounts (step6-storage-monitor.log)"
        return
    fi
    grep -qi 'SMART not available' "$monitor" ||
        { fail "storage-monitor.sh does not say SMART is not available on a loop device"; return; }
    ok "backup: 2 snapshots (${snapshots% }), unchanged files hard links ($links links), changed file new;" \
        "verify-models: ${#models[@]} ok, a bad SHA256SUMS of $corrupt fails; storage-monitor: both mounts," \
        "SMART not available (loop)"
}

# run_script NAME PATH: runs a script in the sandbox; its output goes to step6-NAME.log; fails unless rc 0.
run_script() {
    local name=$1 script=$2 status=0 log
    log=$E2E_ARTIFACTS/step6-${name//[^a-z-]/}.log
    sandbox_run "$script" >"$log" 2>&1 || status=$?
    ((status == 0)) || fail "$name: $script exited $status: $(tail -n 1 "$log") ($(basename "$log"))"
}

# backup_copies SUFFIX: the files on the backup disk whose path ends in /SUFFIX, sorted.
backup_copies() {
    find "$SANDBOX$BACKUP_MOUNT" -type f -path "*/$1" | LC_ALL=C sort
}

# 7. A non-empty real directory where /opt/citadel/models should be a link: the fix is refused, the data is
# intact, and the other broken checks are still fixed.
step_trap() {
    local dir=$SANDBOX$MODELS_LINK sum
    rm "$dir" || { fail "$MODELS_LINK is not there to replace"; return; }
    mkdir "$dir"
    head -c 65536 /dev/urandom >"$dir/precious.bin"
    sum=$(sha256sum <"$dir/precious.bin")
    rm "$SANDBOX$CRON_FILE" "$SANDBOX$SCRIPTS_DIR/verify-models.sh"
    echo none >"/sys/block/${BACKUP_DEV#/dev/}/queue/scheduler"

    citadel step7-trap --fix
    invocation_ok || return
    assert_report trap --refused symlinks --subject "$MODELS_LINK" --fixed backup_cron,scripts,io_schedulers ||
        return
    expect_exit 1 || return
    [[ -d $dir && ! -L $dir && $(sha256sum <"$dir/precious.bin") == "$sum" ]] ||
        { fail "the data in $MODELS_LINK was touched"; return; }
    [[ $(find "$dir" -mindepth 1 | wc -l) == 1 ]] || { fail "$MODELS_LINK holds other files now"; return; }
    witness_cron_file || return
    ok "$REPORT_LINE; the data in $MODELS_LINK is intact"
}
