#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, to try the cluster path (profiles/slurm,
# scripts/slurm/*.sbatch) on a workstation or in CI. Needs root (apt-get, daemons).
#
#   scripts/local-slurm.sh start    # install slurm-wlm + munge if missing, start, wait for idle
#   scripts/local-slurm.sh status   # sinfo / squeue of the local cluster
#   scripts/local-slurm.sh stop     # end exactly the daemons `start` started (pid files)
#
# The node gets this machine's real CPUs and memory (`slurmd -C`) and a GPU gres with a
# count, so jobs asking `--gpus=1` are scheduled here even without a GPU. Slurm 22.05's
# slurmd drops a GPU gres that has no File= ("Removing file-less GPU"), so each counted GPU
# gets an empty placeholder file in the state folder: nothing is bound, only counted.
# Partition: `debug` (the default). No slurmdbd: use `squeue` as the status command.
set -euo pipefail

STATE=${LOCAL_SLURM_STATE:-/var/lib/moviegenre-slurm}
CONF_DIR=/etc/slurm
MARKER="# written by moviegenre scripts/local-slurm.sh"
PARTITION=debug
GPUS=${LOCAL_SLURM_GPUS:-2}
WAIT_S=${LOCAL_SLURM_WAIT_S:-60}

die() {
    echo "local-slurm: $*" >&2
    exit 1
}

need_root() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (installs packages and starts daemons); here uid $(id -u)"
}

install_packages() {
    local missing=()
    command -v slurmctld >/dev/null || missing+=(slurm-wlm)
    command -v munged >/dev/null || missing+=(munge)
    [ ${#missing[@]} -eq 0 ] && return
    echo "local-slurm: installing ${missing[*]} (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2 || die "apt-get update failed: no package registry?"
    apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
        die "apt-get install ${missing[*]} failed"
}

# Refuse to replace a slurm.conf that someone else wrote (a real cluster's).
check_conf_is_ours() {
    local conf=$1
    if [ -e "$conf" ] && ! grep -qxF "$MARKER" "$conf"; then
        die "$conf exists and was not written by this script; not touching a real cluster's config"
    fi
}

write_config() {
    local host node_line
    host=$(hostname -s)
    # `slurmd -C` prints this node's hardware as Slurm sees it: CPUs, sockets, RealMemory.
    node_line=$(slurmd -C | head -n 1)
    [[ $node_line == NodeName=* ]] || die "unexpected 'slurmd -C' output: $node_line"
    mkdir -p "$CONF_DIR" "$STATE/ctld" "$STATE/d" "$STATE/log"
    check_conf_is_ours "$CONF_DIR/slurm.conf"
    check_conf_is_ours "$CONF_DIR/gres.conf"
    cat >"$CONF_DIR/slurm.conf" <<EOF
$MARKER
ClusterName=moviegenre-local
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
ReturnToService=2
MpiDefault=none
MailProg=/bin/true
MinJobAge=600
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$host ${node_line#* } Gres=gpu:$GPUS State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    local i
    for i in $(seq 0 $((GPUS - 1))); do
        : >"$STATE/gpu$i"
    done
    cat >"$CONF_DIR/gres.conf" <<EOF
$MARKER
# Placeholder files, not devices: slurmd needs a File= per GPU to count it.
NodeName=$host Name=gpu Count=$GPUS File=$STATE/gpu[0-$((GPUS - 1))]
EOF
}

# A pid file names a live process of the given program.
running() {
    local pidfile=$1 program=$2 pid
    [ -s "$pidfile" ] || return 1
    pid=$(cat "$pidfile")
    [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$program" ]
}

start_munge() {
    if pgrep -x munged >/dev/null; then
        echo "local-slurm: munged already running (not ours, left alone)" >&2
        return
    fi
    mkdir -p /run/munge
    chown munge:munge /run/munge
    [ -s /etc/munge/munge.key ] || die "/etc/munge/munge.key is missing (reinstall munge)"
    rm -f /run/munge/munged.pid
    runuser -u munge -- /usr/sbin/munged
    # munged (as the munge user) writes its pid into /run/munge: copy it into our record.
    for _ in $(seq 50); do
        [ -s /run/munge/munged.pid ] && break
        sleep 0.1
    done
    cp /run/munge/munged.pid "$STATE/munged.pid" || die "munged did not start; see /var/log/munge"
}

wait_idle() {
    local state
    for _ in $(seq "$WAIT_S"); do
        state=$(timeout 5 sinfo -h -p "$PARTITION" -o %t 2>/dev/null || true)
        if [ "$state" = idle ]; then
            echo "local-slurm: node $(hostname -s) idle in partition $PARTITION" >&2
            return
        fi
        sleep 1
    done
    die "the node did not become idle within ${WAIT_S}s (sinfo: '${state:-no answer}'); see $STATE/log"
}

start() {
    need_root
    install_packages
    mkdir -p "$STATE"
    running "$STATE/munged.pid" munged || start_munge
    if running "$STATE/slurmctld.pid" slurmctld && running "$STATE/slurmd.pid" slurmd; then
        wait_idle
        return
    fi
    write_config
    running "$STATE/slurmctld.pid" slurmctld || slurmctld -c -i  # -c: a fresh cluster, no stale drain reasons
    running "$STATE/slurmd.pid" slurmd || slurmd
    wait_idle
}

stop_one() {
    local name=$1 pidfile="$STATE/$1.pid" pid
    if running "$pidfile" "$name"; then
        pid=$(cat "$pidfile")
        kill "$pid"
        for _ in $(seq 150); do
            [ -d "/proc/$pid" ] || break
            sleep 0.1
        done
        echo "local-slurm: stopped $name ($pid)" >&2
    fi
    rm -f "$pidfile"
}

stop() {
    need_root
    stop_one slurmd
    stop_one slurmctld
    stop_one munged
}

status() {
    sinfo -N -o "%N %t %c %m %G" && squeue -o "%i %j %T %b %C %m %l"
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
*) die "usage: $0 start|stop|status" ;;
esac
