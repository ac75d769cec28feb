#!/usr/bin/env bash
# Submits a chipdip sweep to Slurm: a K-task job array (one shard each) and a merge job that
# starts only when every shard succeeded (--dependency=afterok). Prints the two job ids.
#
#   scripts/slurm/submit.sh [-k K] [-c CPUS] [-p PARTITION] [-t TIME] SCENARIO OUT [-- chipdip run options]
#
#   -k K          number of shards (array tasks; default 16)
#   -c CPUS       CPUs (threads) per shard (default 1)
#   -p PARTITION  Slurm partition (default: the cluster's default)
#   -t TIME       time limit per shard, e.g. 04:00:00 (default: the script's)
#   SCENARIO      scenario file, e.g. scenarios/sweep_enforcement_pressure.toml
#   OUT           folder for shard-0 .. shard-(K-1), Slurm logs and merged/ (the result)
#   after --       passed to `chipdip run`, e.g. -- --reps 200 --seed 7
#
# CHIPDIP (environment) names the chipdip binary; default: `chipdip` on PATH, else
# target/release/chipdip. The jobs run with this shell's environment and working directory.
# If a shard fails, Slurm cancels the merge job; fix the cause and rerun the same submit.sh
# command: complete shards are skipped, interrupted ones resume where they stopped.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage() { sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

shards=16 cpus=1 partition= time_limit=
while getopts "k:c:p:t:h" opt; do
    case $opt in
        k) shards=$OPTARG ;;
        c) cpus=$OPTARG ;;
        p) partition=$OPTARG ;;
        t) time_limit=$OPTARG ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[[ $# -ge 2 ]] || usage
scenario=$1 out=$2
shift 2
if [[ ${1:-} == -- ]]; then shift; fi
[[ $shards =~ ^[1-9][0-9]*$ ]] || { echo "submit.sh: -k must be a positive integer" >&2; exit 2; }
[[ -f $scenario ]] || { echo "submit.sh: no scenario file $scenario" >&2; exit 2; }

if [[ -z ${CHIPDIP:-} ]]; then
    if command -v chipdip >/dev/null; then
        CHIPDIP=$(command -v chipdip)
    elif [[ -x target/release/chipdip ]]; then
        CHIPDIP=$PWD/target/release/chipdip
    else
        echo "submit.sh: no chipdip binary: set CHIPDIP or put chipdip on PATH" >&2
        exit 2
    fi
fi
export CHIPDIP=$(realpath "$CHIPDIP")
# Check the scenario here, not on the cluster an hour from now.
"$CHIPDIP" check "$scenario" >/dev/null
scenario=$(realpath "$scenario")
mkdir -p "$out"
out=$(realpath "$out")

opts=(--parsable --cpus-per-task="$cpus")
[[ -n $partition ]] && opts+=(--partition="$partition")
array_opts=("${opts[@]}")
[[ -n $time_limit ]] && array_opts+=(--time="$time_limit")

array_id=$(sbatch "${array_opts[@]}" --array="0-$((shards - 1))" \
    --output="$out/slurm-%A_%a.out" \
    "$here/chipdip-array.sbatch" "$scenario" "$out" "$@")
array_id=${array_id%%;*}
merge_id=$(sbatch "${opts[@]}" --dependency="afterok:$array_id" --kill-on-invalid-dep=yes \
    --output="$out/slurm-%j-merge.out" \
    "$here/chipdip-merge.sbatch" "$out" "$shards")
merge_id=${merge_id%%;*}
echo "array job $array_id ($shards shards) -> $out/shard-*" >&2
echo "merge job $merge_id (after all shards succeed) -> $out/merged" >&2
echo "$array_id $merge_id"
