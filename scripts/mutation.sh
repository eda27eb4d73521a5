#!/usr/bin/env bash
# Mutation testing of model/, receiver/ and analyzer/ (`npm run mutation`; docs/testing.md), one
# shard after another (the shards are listed in stryker.config.mjs). Each shard is its own Stryker
# run with its own report and incremental file in reports/mutation/, so an interrupted run keeps the
# shards it finished and a rerun only retests mutants whose code or tests changed. At the end, the
# score per folder and in total (scripts/mutation-summary.ts) from every shard's report.
#
# With arguments, only those shards (`npm run mutation -- model receiver-decode`); Stryker options
# go after `--` (`npm run mutation -- model -- --concurrency 2`).
set -uo pipefail
cd "$(dirname "$0")/.."

shards=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do shards+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
if [ ${#shards[@]} -eq 0 ]; then
  read -r -a shards <<<"$(node -e "import('./stryker.config.mjs').then((c) => console.log(Object.keys(c.shards).join(' ')))")"
fi

# Stryker runs a mutant's covering tests by name, each alone: a test that leans on an earlier one's
# data fails whatever the mutant and counts every mutant it covers as killed. Before hours of
# mutants, the mutation test set once with its tests in a shuffled order (seconds): a test that
# needs another's leftovers fails here, named, instead of inflating the score.
seed=${FIRSTSPAN_MUTATION_SEED:-$RANDOM}
echo "== preflight: the mutation tests in a shuffled order (seed $seed; FIRSTSPAN_MUTATION_SEED=$seed repeats it)"
if ! FIRSTSPAN_MUTATION=1 npx vitest run -c vitest.mutation.config.ts --sequence.shuffle.tests --sequence.seed="$seed"; then
  echo "== preflight failed: a test above depends on another's state; make it stand alone (docs/testing.md)" >&2
  exit 1
fi

failed=()
for shard in "${shards[@]}"; do
  echo "== mutation shard $shard ($(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg))"
  start=$SECONDS
  if FIRSTSPAN_MUTATION_SHARD="$shard" npx stryker run --incremental "$@"; then
    echo "== shard $shard finished in $((SECONDS - start)) s"
  else
    echo "== shard $shard FAILED after $((SECONDS - start)) s"
    failed+=("$shard")
  fi
done

npx tsx scripts/mutation-summary.ts reports/mutation
[ ${#failed[@]} -eq 0 ] || { echo "failed shards: ${failed[*]}" >&2; exit 1; }
