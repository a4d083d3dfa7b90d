#!/bin/bash
# The engines compared (README, "Sweeps"): the same 2 x 2 x 3 grid on the local engine and on a two-node Ray cluster on this machine.
# Usage: bash benchmarks/ray_vs_local.sh [OUT]   (needs pip install -e ".[ray]"; stops every Ray process here)
set -u
export RAY_AUTH_MODE=token RAY_AUTH_TOKEN=$(python -c "import secrets; print(secrets.token_hex(16))")
OUT=${1:-runs/ray-vs-local}; mkdir -p $OUT
GRID="--grid tau=0.5,0.25 --grid gamma=0.9,0.99 --seeds 0-2 --episodes 20 --checkpoint-every 5 --eval-episodes 5 --actor-hidden 8 --critic-state-hidden 4 --critic-action-hidden 4 --critic-hidden 8 --batch-size 16"
ray stop --force >/dev/null 2>&1
ray start --head --port 6391 --num-cpus 1 --include-dashboard=false --disable-usage-stats >/dev/null 2>&1
ray start --address 127.0.0.1:6391 --num-cpus 1 --disable-usage-stats >/dev/null 2>&1
sleep 5
python -c "import ray; ray.init(address='127.0.0.1:6391', logging_level='ERROR'); print('nodes alive:', sum(n['Alive'] for n in ray.nodes()))"
python -c "
import ray, time
ray.init(address='127.0.0.1:6391', logging_level='ERROR')
f = ray.remote(num_cpus=1, max_calls=1)(lambda: 0)
for n in (4, 12):
    t = time.perf_counter(); ray.get([f.remote() for _ in range(n)]); print(f'{n} empty tasks, fresh worker each: {time.perf_counter() - t:.2f} s')
"
for round in 1 2; do
  rm -rf $OUT/ray$round $OUT/local$round
  /usr/bin/time -f "ray round $round: %e s" python -m ddpg sweep --engine ray --address 127.0.0.1:6391 $GRID --out $OUT/ray$round > $OUT/ray$round.txt 2>$OUT/ray$round.err; tail -1 $OUT/ray$round.err
  /usr/bin/time -f "local round $round: %e s" python -m ddpg sweep --workers 2 $GRID --out $OUT/local$round > $OUT/local$round.txt 2>$OUT/local$round.err; tail -1 $OUT/local$round.err
done
ray stop --force >/dev/null 2>&1
for round in 1 2; do
  diff <(cut -d, -f1-9 $OUT/ray$round/sweep.csv) <(cut -d, -f1-9 $OUT/local$round/sweep.csv) > /dev/null && echo "round $round: same sweep.csv (timing columns aside)"
done
cat $OUT/ray1.txt $OUT/local1.txt
