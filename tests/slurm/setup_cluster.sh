#!/usr/bin/env bash
# Start a real one-node SLURM cluster on this machine (for tests/test_slurm.py).
#
#   sudo tests/slurm/setup_cluster.sh      # idempotent: safe to run again
#   tests/slurm/teardown_cluster.sh        # stop the daemons
#
# What it does, for a Debian/Ubuntu host or container WITHOUT systemd:
#   1. installs slurm-wlm and munge with apt-get when slurmctld/munged are missing;
#   2. writes /etc/slurm/{slurm.conf,gres.conf,cgroup.conf}: one node named after
#      `hostname -s`, its real CPU count and memory, two GPUs declared as a
#      counted generic resource (GresTypes=gpu, Gres=gpu:2, gres.conf Count=2
#      bound to placeholder files, see below; no GPU or driver is needed), no
#      accounting database, no cgroup plugins (proctrack/linuxproc, task/none),
#      MinJobAge=600 so that squeue still reports finished jobs to Snakemake's
#      status query (--slurm-status-command squeue);
#   3. starts munged, slurmctld and slurmd as root-run daemons (no systemd);
#   4. waits until `sinfo` shows the node idle and `sbatch --gres=gpu:1` works.
# It exits non-zero with a line starting "setup_cluster: IMPOSSIBLE:" when the
# cluster cannot be had (not root, no apt, daemons fail); tests skip on that.
#
# Environment: SLURM_TEST_CPUS (CPUs declared for the node, default: real
# count, at least 8, declared with SlurmdParameters=config_overrides so a
# small VM can still run a few one-CPU jobs side by side),
# SLURM_TEST_TIMEOUT (seconds to wait for the node, default 60).
set -u -o pipefail

die() {
    echo "setup_cluster: IMPOSSIBLE: $*" >&2
    for f in /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log; do
        [ -f "$f" ] && { echo "--- last lines of $f" >&2; tail -n 5 "$f" >&2; }
    done
    exit 2
}
log() { echo "setup_cluster: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "must run as root (needs apt-get and to start the slurm daemons)"

# --- 1. packages ------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
    || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
    command -v apt-get >/dev/null || die "slurm is not installed and apt-get is not available"
    log "installing slurm-wlm and munge with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/tmp/setup_cluster_apt.log 2>&1 \
        || die "apt-get update failed (see /tmp/setup_cluster_apt.log)"
    apt-get install -y -q --no-install-recommends slurm-wlm munge \
        >>/tmp/setup_cluster_apt.log 2>&1 \
        || die "apt-get install slurm-wlm munge failed (see /tmp/setup_cluster_apt.log)"
fi
for b in slurmctld slurmd munged sbatch sinfo scontrol; do
    command -v "$b" >/dev/null || die "$b missing after installation"
done

NODE=$(hostname -s)
REAL_CPUS=$(nproc --all)
CPUS=${SLURM_TEST_CPUS:-$(( REAL_CPUS < 8 ? 8 : REAL_CPUS ))}
MEM_MB=$(awk '/MemTotal/ {print int($2/1024*0.9)}' /proc/meminfo)
TIMEOUT=${SLURM_TEST_TIMEOUT:-60}
CONF_DIR=/etc/slurm
LOG_DIR=/var/log/slurm

# --- 2. configuration --------------------------------------------------------
mkdir -p "$CONF_DIR" "$LOG_DIR" /var/spool/slurmctld /var/spool/slurmd /run/slurm \
    /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge /etc/munge 2>/dev/null || true
chmod 0755 /run/munge

conf=$(cat <<CONF
# Written by tests/slurm/setup_cluster.sh: a one-node test cluster.
ClusterName=genomicicl
SlurmctldHost=${NODE}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=${LOG_DIR}/slurmctld.log
SlurmdLogFile=${LOG_DIR}/slurmd.log
# no cgroups, no systemd: plain process tracking
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# no accounting database (sacct cannot answer: use --slurm-status-command squeue)
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# finished jobs stay visible to squeue for 10 minutes
MinJobAge=600
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# a job that names no memory gets 1 GB per CPU, not the whole node
DefMemPerCPU=1024
SlurmdParameters=config_overrides
InactiveLimit=0
KillWait=5
Waittime=0
SlurmctldTimeout=30
SlurmdTimeout=60
GresTypes=gpu
NodeName=${NODE} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=${MEM_MB} Gres=gpu:2 State=UNKNOWN
PartitionName=main Nodes=${NODE} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
PartitionName=gpu Nodes=${NODE} Default=NO MaxTime=INFINITE State=UP
CONF
)
# GPUs are counted, not real. slurm 22.05 (Debian 12) drops a GPU that has no
# File= ("Removing file-less GPU ... from final GRES list": the node then
# registers gpu:0 and goes INVALID), even with Flags=CountOnly; so each GPU is
# bound to a placeholder character device (a clone of /dev/null, 1:3) under
# /run/slurm. No GPU, driver or /dev/nvidia* is involved. On slurm >= 23.02 a
# plain `Name=gpu Count=2` works; the placeholders do no harm there either.
FAKE_DIR=/run/slurm/fake-gpu
mkdir -p "$FAKE_DIR"
for i in 0 1; do
    if [ ! -c "$FAKE_DIR/gpu$i" ]; then
        rm -f "$FAKE_DIR/gpu$i"
        mknod "$FAKE_DIR/gpu$i" c 1 3 2>/dev/null || : >"$FAKE_DIR/gpu$i"
    fi
done
gres="# Written by tests/slurm/setup_cluster.sh: 2 GPUs, counted only (placeholder files).
NodeName=${NODE} Name=gpu Count=2 File=${FAKE_DIR}/gpu[0-1]"
cgroup="# Written by tests/slurm/setup_cluster.sh: no cgroup plugin is configured
# (proctrack/linuxproc, task/none), so nothing here is used; the file exists so
# that daemons looking for it find one.
CgroupAutomount=no"

changed=0
write_if_changed() {  # path content
    if [ ! -f "$1" ] || [ "$(cat "$1")" != "$2" ]; then
        printf '%s\n' "$2" >"$1"; changed=1
    fi
}
write_if_changed "$CONF_DIR/slurm.conf" "$conf"
write_if_changed "$CONF_DIR/gres.conf" "$gres"
write_if_changed "$CONF_DIR/cgroup.conf" "$cgroup"

# --- 3. daemons --------------------------------------------------------------
running() { pgrep -x "$1" >/dev/null 2>&1; }

if [ ! -s /etc/munge/munge.key ]; then
    log "creating /etc/munge/munge.key"
    if command -v mungekey >/dev/null; then mungekey --create --force >/dev/null 2>&1; fi
    [ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null
    chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
fi
if ! running munged; then
    log "starting munged"
    if id munge >/dev/null 2>&1; then
        runuser -u munge -- /usr/sbin/munged || /usr/sbin/munged --force \
            || die "munged failed to start"
    else
        /usr/sbin/munged --force || die "munged failed to start"
    fi
fi
for _ in $(seq 20); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.5; done
munge -n | unmunge >/dev/null 2>&1 || die "munge round trip failed (munged not answering)"

if [ "$changed" = 1 ] && { running slurmctld || running slurmd; }; then
    log "configuration changed: restarting slurm daemons"
    pkill_pidfile() { [ -f "$1" ] && kill "$(cat "$1")" 2>/dev/null; }
    pkill_pidfile /run/slurm/slurmd.pid; pkill_pidfile /run/slurm/slurmctld.pid
    for _ in $(seq 20); do running slurmctld || running slurmd || break; sleep 0.5; done
fi
if ! running slurmctld; then
    log "starting slurmctld"
    /usr/sbin/slurmctld -f "$CONF_DIR/slurm.conf" \
        || die "slurmctld failed to start (see $LOG_DIR/slurmctld.log)"
fi
if ! running slurmd; then
    log "starting slurmd"
    /usr/sbin/slurmd -f "$CONF_DIR/slurm.conf" \
        || die "slurmd failed to start (see $LOG_DIR/slurmd.log)"
fi

# --- 4. wait for the node ----------------------------------------------------
deadline=$(( $(date +%s) + TIMEOUT ))
state=""
while [ "$(date +%s)" -lt "$deadline" ]; do
    running slurmctld || die "slurmctld exited"
    running slurmd || die "slurmd exited"
    state=$(sinfo -h -n "$NODE" -o '%T' 2>/dev/null | head -n1)
    case "$state" in
        idle|mixed|allocated) break ;;
        down*|drain*|fail*) scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true ;;
    esac
    sleep 1
done
case "$state" in
    idle|mixed|allocated) ;;
    *) die "node $NODE is '${state:-unknown}' after ${TIMEOUT}s (see $LOG_DIR/slurmctld.log, $LOG_DIR/slurmd.log)" ;;
esac

# a GPU job must go through (counted GRES, no devices)
out=$(sbatch --parsable --gres=gpu:1 --wait -o /dev/null --wrap 'true' 2>&1) \
    || die "sbatch --gres=gpu:1 test job failed: $out"
log "cluster ready: node $NODE ($CPUS CPUs declared, ${MEM_MB} MB, gres gpu:2), partitions main (default), gpu"
exit 0
