#!/usr/bin/env bash
# The TD3 paper's Table 1 "OurDDPG" row, like for like (docs/mujoco.md): the ourddpg2018 preset on five
# MuJoCo tasks, 10 seeds each (seeds 0-4 on every task first, then 5-9), 1,000,000 steps, evaluation every
# 5,000 steps over 10 deterministic episodes; then Ant-v5 and Reacher-v5 the same way. Each run's config.json,
# eval.csv and metrics.csv are copied to docs/mujoco/runs/ENV/seed_S/ when it finishes; checkpoints and actors
# stay under runs/table1/.
#
#   bash docs/mujoco/table1_queue.sh LANE LANES     e.g. 0 2 and 1 2: two lanes, one per core (taskset)
#
# Lane L takes every LANES-th run of the queue (a pendulum's extension goes to the lane of its first budget). Stop
# a lane with SIGTERM (or Ctrl-C): its run writes a checkpoint and the lane exits; the same command resumes it,
# skipping finished runs. Extra arguments after LANES go to every `ddpg train`; the budget is STEPS (1,000,000
# unless set; e.g. STEPS=200000 for a shorter queue), so that a finished run is recognised by it.
#
# InvertedPendulum-v5 and InvertedDoublePendulum-v5 run to 300,000 steps first (PENDULUM_STEPS), and after the
# 50 runs to 1,000,000 (STEPS): Table 1's statistic is a maximum over evaluations, which more steps can only raise,
# so it is decided early only once it is at the environment's cap or every seed has passed Table 1's value; each
# pendulum has a seed that never learns (docs/mujoco.md), so neither is. A run extended so resumes from its
# checkpoint, and its entry at 300,000 counts as finished.
set -uo pipefail
lane=${1:?lane}; lanes=${2:?lanes}; shift 2
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

# Each entry: environment, seed, budget, and the key that picks its lane (lane = key % LANES).
envs=(HalfCheetah-v5 Hopper-v5 Walker2d-v5 InvertedPendulum-v5 InvertedDoublePendulum-v5)
queue=()
declare -A first_key
for seeds in "0 1 2 3 4" "5 6 7 8 9"; do
    for env in "${envs[@]}"; do
        for seed in $seeds; do
            first_key[$env $seed]=${#queue[@]}
            queue+=("$env $seed $(budget_for "$env") ${#queue[@]}")
        done
    done
done
# The pendulums on to the full budget, after the 50 above, each on the lane that ran its first budget (so that no two
# lanes ever hold one run).
for env in InvertedPendulum-v5 InvertedDoublePendulum-v5; do
    for seed in 0 1 2 3 4 5 6 7 8 9; do queue+=("$env $seed ${STEPS:-1000000} ${first_key[$env $seed]}"); done
done
# Then the rest of Table 1, as far as the budget allows.
for seeds in "0 1 2 3 4" "5 6 7 8 9"; do
    for env in Ant-v5 Reacher-v5; do
        for seed in $seeds; do queue+=("$env $seed ${STEPS:-1000000} ${#queue[@]}"); done
    done
done

child=0
trap 'if [ "$child" -ne 0 ]; then kill -TERM "$child"; wait "$child"; fi; exit 143' TERM INT

for i in "${!queue[@]}"; do
    read -r env seed steps key <<<"${queue[$i]}"
    [ $((key % lanes)) -eq "$lane" ] || continue
    run=runs/table1/$env/seed_$seed
    data=docs/mujoco/runs/$env/seed_$seed
    # Finished and copied, to this budget: eval.csv's last row is the evaluation at the last step.
    [ -f "$data/eval.csv" ] && [ "$(tail -n 1 "$data/eval.csv" | cut -d, -f1)" -ge "$steps" ] && continue
    every=$(checkpoint_every_for "$env")
    if [ -d "$run/checkpoint" ] || [ -d "$run/checkpoint.old" ]; then
        command=(ddpg train --resume "$run" --total-steps "$steps" --checkpoint-every "$every" "$@")
    else
        command=(ddpg train --preset ourddpg2018 --env-id "$env" --seed "$seed" --total-steps "$steps"
                 --eval-every 5000 --eval-episodes 10 $(options_for "$env") --checkpoint-every "$every"
                 --no-tensorboard --overwrite --out "$run" "$@")
    fi
    mkdir -p "$(dirname "$run")"
    echo "$(date -u +%FT%TZ) lane $lane: ${command[*]}"
    taskset -c "$lane" "${command[@]}" > "$run.log" 2>&1 &
    child=$!
    wait "$child"; status=$?; child=0
    if [ "$status" -ne 0 ]; then
        echo "$(date -u +%FT%TZ) lane $lane: $env seed $seed exited $status (see $run.log)"; exit "$status"
    fi
    mkdir -p "$data" && cp "$run/config.json" "$run/eval.csv" "$run/metrics.csv" "$data/"
    echo "$(date -u +%FT%TZ) lane $lane: $env seed $seed done: $(tail -n 1 "$run.log")"
done
