#!/usr/bin/env bash
# The TD3 paper's Table 1 "OurDDPG" row, like for like (docs/mujoco.md): the ourddpg2018 preset on five
# MuJoCo tasks, 10 seeds each (seeds 0-4 on every task first, then 5-9), 1,000,000 steps, evaluation every
# 5,000 steps over 10 deterministic episodes; then Ant-v5 and Reacher-v5 the same way. Each run's config.json,
# eval.csv and metrics.csv are copied to docs/mujoco/runs/ENV/seed_S/ when it finishes; checkpoints and actors
# stay under runs/table1/.
#
#   bash docs/mujoco/table1_queue.sh CORE     e.g. 0 and 1: two lanes, one pinned to each core (taskset)
#
# Every lane walks the one queue and takes the next run that is neither finished nor held by another lane: a lane
# holds a run's lock (runs/table1/ENV/seed_S.lane, flock) while it trains it, so lanes share the work however long
# their runs are, and never train one run twice at once. A run that has a checkpoint is taken first. Stop a lane with
# SIGTERM (or Ctrl-C): its run writes a checkpoint and the lane exits; the same command resumes it, skipping finished
# runs. Extra arguments after CORE go to every `ddpg train`; the budget is STEPS (1,000,000 unless set; e.g.
# STEPS=200000 for a shorter queue), so that a finished run is recognised by it.
#
# InvertedPendulum-v5 and InvertedDoublePendulum-v5 run to 300,000 steps first (PENDULUM_STEPS), and after the
# 50 runs to 1,000,000 (STEPS): Table 1's statistic is a maximum over evaluations, which more steps can only raise,
# so it is decided early only once it is at the environment's cap or every seed has passed Table 1's value; each
# pendulum has a seed that never learns (docs/mujoco.md), so neither is. A run extended so resumes from its
# checkpoint, and its entry at 300,000 counts as finished.
set -uo pipefail
core=${1:?core}; shift; extra=("$@")
if ! command -v flock > /dev/null; then
    echo "table1_queue.sh: expected flock (util-linux) on PATH to lock a run" >&2; exit 2
fi
cd "$(dirname "$0")/../.."

# The paper: 10,000 random steps on HalfCheetah and Ant, 1,000 elsewhere. The code's noise is N(0, 0.1) in
# action units; ours is in half-ranges, equal where the bounds are +-1, and 0.1 / 3 on InvertedPendulum (+-3).
options_for() {
    case $1 in
        HalfCheetah-v5|Ant-v5) echo "--random-steps 10000" ;;
        InvertedPendulum-v5) echo "--random-steps 1000 --gaussian-sigma 0.03333333333333333" ;;
        *) echo "--random-steps 1000" ;;
    esac
}

# The first budget of a run: STEPS (1,000,000 unless set), and PENDULUM_STEPS (300,000 unless set) on the pendulums.
budget_for() {
    case $1 in
        InvertedPendulum-v5|InvertedDoublePendulum-v5) echo "${PENDULUM_STEPS:-300000}" ;;
        *) echo "${STEPS:-1000000}" ;;
    esac
}

# Checkpoints every 10 episodes, but every 1,000 on the pendulums: a seed there that never learns ends its episodes in
# about 3 steps, and saving every 30 steps kept InvertedPendulum-v5 seed 4 at 90.5 steps a second over its first
# 300,000 (its files at commit 4fbd717), against about 103 saving every 3,000. A signal still writes a checkpoint
# before the lane stops.
checkpoint_every_for() {
    case $1 in
        InvertedPendulum-v5|InvertedDoublePendulum-v5) echo 1000 ;;
        *) echo 10 ;;
    esac
}

# Each entry: environment, seed, budget. A run's entries are in the order of their budgets, so the lane that holds a
# run's first budget comes to its second after it.
envs=(HalfCheetah-v5 Hopper-v5 Walker2d-v5 InvertedPendulum-v5 InvertedDoublePendulum-v5)
queue=()
for seeds in "0 1 2 3 4" "5 6 7 8 9"; do
    for env in "${envs[@]}"; do
        for seed in $seeds; do queue+=("$env $seed $(budget_for "$env")"); done
    done
done
# The pendulums on to the full budget, after the 50 above.
for env in InvertedPendulum-v5 InvertedDoublePendulum-v5; do
    for seed in 0 1 2 3 4 5 6 7 8 9; do queue+=("$env $seed ${STEPS:-1000000}"); done
done
# Then the rest of Table 1, as far as the budget allows.
for seeds in "0 1 2 3 4" "5 6 7 8 9"; do
    for env in Ant-v5 Reacher-v5; do
        for seed in $seeds; do queue+=("$env $seed ${STEPS:-1000000}"); done
    done
done

# Finished and copied, to this budget: the copied eval.csv's last row is the evaluation at the last step.
finished() {
    [ -f "$1/eval.csv" ] && [ "$(tail -n 1 "$1/eval.csv" | cut -d, -f1)" -ge "$2" ]
}

has_checkpoint() {
    [ -d "$1/checkpoint" ] || [ -d "$1/checkpoint.old" ]
}

child=0
trap 'if [ "$child" -ne 0 ]; then kill -TERM "$child"; wait "$child"; fi; exit 143' TERM INT

# Trains ENV SEED to STEPS unless it is finished or another lane holds it.
take() {
    local env=$1 seed=$2 steps=$3 run=runs/table1/$1/seed_$2 data=docs/mujoco/runs/$1/seed_$2 hold every status
    finished "$data" "$steps" && return
    mkdir -p "$(dirname "$run")"
    # The run's lock, held until the run ends. `ddpg train` inherits it, so a lane killed outright still holds it
    # while its run trains on. Checked again once held: another lane may have just finished the run.
    exec {hold}>"$run.lane"
    if ! flock -n "$hold" || finished "$data" "$steps"; then exec {hold}>&-; return; fi
    every=$(checkpoint_every_for "$env")
    if has_checkpoint "$run"; then
        # A resume's cadence is its own command line's, not the run's first: given again here, with --no-tensorboard.
        command=(ddpg train --resume "$run" --total-steps "$steps" --checkpoint-every "$every" --no-tensorboard
                 "${extra[@]}")
    else
        command=(ddpg train --preset ourddpg2018 --env-id "$env" --seed "$seed" --total-steps "$steps"
                 --eval-every 5000 --eval-episodes 10 $(options_for "$env") --checkpoint-every "$every"
                 --no-tensorboard --overwrite --out "$run" "${extra[@]}")
    fi
    echo "$(date -u +%FT%TZ) lane $core: ${command[*]}"
    taskset -c "$core" "${command[@]}" > "$run.log" 2>&1 &
    child=$!
    wait "$child"; status=$?; child=0
    if [ "$status" -ne 0 ]; then
        echo "$(date -u +%FT%TZ) lane $core: $env seed $seed exited $status (see $run.log)"; exit "$status"
    fi
    mkdir -p "$data" && cp "$run/config.json" "$run/eval.csv" "$run/metrics.csv" "$data/"
    exec {hold}>&-
    echo "$(date -u +%FT%TZ) lane $core: $env seed $seed done: $(tail -n 1 "$run.log")"
}

# The runs stopped midway (those with a checkpoint) first, then the whole queue in its order.
for entry in "${queue[@]}"; do
    read -r env seed steps <<<"$entry"
    if has_checkpoint "runs/table1/$env/seed_$seed"; then take "$env" "$seed" "$steps"; fi
done
for entry in "${queue[@]}"; do
    take $entry
done
