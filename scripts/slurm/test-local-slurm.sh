#!/usr/bin/env bash
# End-to-end test of scripts/slurm on a real, throwaway, single-node Slurm cluster on loopback.
#
# 1. installs Debian's slurmctld, slurmd, slurm-client and munge if they are missing (needs
#    root; package scripts are kept from starting the system's own services);
# 2. writes a private munge key and a minimal cgroup-free slurm.conf in a temporary folder
#    (NodeName=localhost on 127.0.0.1, no accounting, ports away from Slurm's defaults) and
#    starts munged, slurmctld and slurmd from there, in the foreground of this script;
# 3. submits a 4-task job array of a small sweep plus the dependent merge with submit.sh and
#    waits for the merge (at most $CHIPDIP_SLURM_TIMEOUT seconds, default 300);
# 4. checks the merged CSVs equal an unsharded local run of the same sweep byte for byte.
#
# Every daemon it started is stopped on exit, whatever happens (trap EXIT). Run from anywhere:
#   sudo scripts/slurm/test-local-slurm.sh
# CHIPDIP names the chipdip binary to use; by default it is built with cargo (release).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
timeout_s=${CHIPDIP_SLURM_TIMEOUT:-300}
scenario=scenarios/sweep_enforcement_pressure.toml
shards=4
# A small sweep: 8 points x 3 replications (8 chunks, 2 per shard).
run_args=(--reps 3 --seed 11 --set sweep.points=8)

say() { printf 'test-local-slurm: %s\n' "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

# --- 1. packages -------------------------------------------------------------------------------
missing=()
for tool in munged mungekey slurmctld slurmd sbatch squeue scontrol scancel; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
policy_created=
cleanup_policy() { [[ -n $policy_created ]] && rm -f /usr/sbin/policy-rc.d; policy_created=; }
if ((${#missing[@]})); then
    [[ $(id -u) -eq 0 ]] || die "missing ${missing[*]}; run as root to install slurm and munge"
    say "installing slurmctld slurmd slurm-client munge (missing: ${missing[*]})"
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        # Keep the packages' maintainer scripts from starting system-wide munge/slurm daemons.
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        policy_created=1
        trap cleanup_policy EXIT
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
    cleanup_policy
    trap - EXIT
fi

# --- the binary --------------------------------------------------------------------------------
if [[ -z ${CHIPDIP:-} ]]; then
    say "building chipdip (release)"
    cargo build --release --quiet
    CHIPDIP=${CARGO_TARGET_DIR:-$repo/target}/release/chipdip
fi
CHIPDIP=$(realpath "$CHIPDIP")
[[ -x $CHIPDIP ]] || die "no chipdip binary at $CHIPDIP"
export CHIPDIP

# --- 2. a private cluster ----------------------------------------------------------------------
work=$(mktemp -d /tmp/chipdip-slurm.XXXXXX)
chmod 755 "$work"
mkdir -p "$work"/{munge,state,spool,log,out}
chmod 700 "$work/munge"
pids=()
jobs_submitted=()

stop_all() {
    local rc=$?
    set +e
    if ((${#jobs_submitted[@]})) && [[ -n ${SLURM_CONF:-} ]]; then
        scancel "${jobs_submitted[@]}" 2>/dev/null
        for _ in $(seq 20); do
            [[ -z $(squeue -h -j "$(IFS=,; echo "${jobs_submitted[*]}")" 2>/dev/null) ]] && break
            sleep 0.5
        done
    fi
    # Stop in reverse order of start: slurmd, slurmctld, munged.
    local i pid
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        pid=${pids[i]}
        kill -TERM "$pid" 2>/dev/null || continue
        for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if ((rc != 0)); then
        for f in "$work"/log/*.log "$work"/log/*.out "$work"/out/sharded/slurm-*.out; do
            [[ -f $f ]] || continue
            say "--- last lines of $f"
            tail -n 15 "$f" >&2
        done
    fi
    cleanup_policy
    if [[ -z ${CHIPDIP_SLURM_KEEP:-} ]]; then rm -rf "$work"; else say "kept $work"; fi
    exit "$rc"
}
trap stop_all EXIT

# munge: own key, socket, pid, log and seed files, so a system munged (if any) is untouched.
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge/munge.key"
socket=$work/munge/munge.socket
munged --foreground --force \
    --key-file="$work/munge/munge.key" --socket="$socket" \
    --pid-file="$work/munge/munged.pid" --log-file="$work/log/munged.log" \
    --seed-file="$work/munge/munged.seed" >>"$work/log/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [[ -S $socket ]] && break; sleep 0.1; done
[[ -S $socket ]] || die "munged did not start"
munge -S "$socket" -n | unmunge -S "$socket" >/dev/null || die "munge round trip failed"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
ctld_port=$(free_port)
slurmd_port=$(free_port)
while [[ $slurmd_port == "$ctld_port" ]]; do slurmd_port=$(free_port); done
cpus=$(nproc)
host=$(hostname -s)
export SLURM_CONF=$work/slurm.conf
cat >"$SLURM_CONF" <<EOF
# Throwaway single-node cluster of scripts/slurm/test-local-slurm.sh.
ClusterName=chipdiptest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF

slurmctld -D -i -f "$SLURM_CONF" >>"$work/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -N localhost -f "$SLURM_CONF" >>"$work/log/slurmd.out" 2>&1 &
pids+=($!)
say "waiting for the node (slurmctld on 127.0.0.1:$ctld_port, slurmd on :$slurmd_port)"
state=
for _ in $(seq 120); do
    state=$(sinfo -h -n localhost -o %T 2>/dev/null || true)
    [[ $state == idle* ]] && break
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || die "a daemon exited early (pid $pid)"; done
    sleep 0.5
done
[[ $state == idle* ]] || die "node not idle after 60 s (state: ${state:-none})"

# --- 3. submit and wait ------------------------------------------------------------------------
out=$work/out/sharded
read -r array_id merge_id < <(scripts/slurm/submit.sh -k "$shards" "$scenario" "$out" -- "${run_args[@]}")
jobs_submitted=("$array_id" "$merge_id")
say "submitted array job $array_id ($shards tasks) and merge job $merge_id"

deadline=$((SECONDS + timeout_s))
merge_state=
while ((SECONDS < deadline)); do
    merge_state=$(scontrol show job "$merge_id" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n 1)
    case $merge_state in
        COMPLETED) break ;;
        FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE)
            die "merge job $merge_id ended $merge_state" ;;
    esac
    sleep 1
done
[[ $merge_state == COMPLETED ]] || die "merge job $merge_id not done after $timeout_s s (state: ${merge_state:-unknown})"
for ((i = 0; i < shards; i++)); do
    grep -q '"complete": true' "$out/shard-$i/manifest.json" || die "shard $i is not complete"
    grep -q "\"index\": $i," "$out/shard-$i/manifest.json" || die "shard folder $i holds another shard"
done

# --- 4. compare with a local unsharded run -----------------------------------------------------
"$CHIPDIP" run "$scenario" "${run_args[@]}" --quiet --out "$work/out/local" 2>/dev/null
local_csvs=$(cd "$work/out/local" && ls -- *.csv)
merged_csvs=$(cd "$out/merged" && ls -- *.csv)
[[ $local_csvs == "$merged_csvs" ]] || die "merged files ($merged_csvs) differ from local ($local_csvs)"
grep -qx points.csv <<<"$local_csvs" || die "no points.csv in the sweep's output"
for f in $local_csvs; do
    cmp -s "$work/out/local/$f" "$out/merged/$f" || die "merged $f differs from the local run's"
done
points=$(($(wc -l <"$work/out/local/points.csv") - 1))
say "ok: $shards-task Slurm array + merge of $points points == local run, byte for byte ($(echo $local_csvs))"
