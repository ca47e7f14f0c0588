#!/usr/bin/env bash
# Stop the one-node test cluster started by tests/slurm/setup_cluster.sh.
# Cancels remaining jobs, stops slurmd, slurmctld and munged by the process ids
# in their pid files, and leaves packages and configuration in place so that the
# next setup is quick. Idempotent. `--keep-munge` leaves munged running.
set -u
[ "$(id -u)" -eq 0 ] || { echo "teardown_cluster: must run as root" >&2; exit 2; }
command -v scancel >/dev/null && scancel --user=root >/dev/null 2>&1 || true
stop() {  # name pidfile
    local pid=""
    [ -f "$2" ] && pid=$(cat "$2" 2>/dev/null)
    [ -n "$pid" ] || { echo "teardown_cluster: $1: no pid file $2" >&2; return 0; }
    [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$1" ] || return 0  # stale pid file
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
}
stop slurmd /run/slurm/slurmd.pid
stop slurmctld /run/slurm/slurmctld.pid
if [ "${1:-}" != "--keep-munge" ]; then
    stop munged /run/munge/munged.pid
fi
echo "teardown_cluster: stopped" >&2
