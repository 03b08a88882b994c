#!/usr/bin/env bash
# Peak resident memory of `serve` under a 64-prompt batch (issue 17), and whether it grows over repeated batches.
# Starts `serve --builtin medium` (random weights, 4.5 M parameters) on a free loopback port, sends ROUNDS rounds of one
# completions request with 64 prompts of ~256 tokens × 128 new tokens, and prints the server's resident memory (VmRSS)
# and peak (VmHWM) after start-up and after each round, read from /proc.
# Usage: tests/StepWiser.ML.Benchmarks/serve-memory.sh [ROUNDS]   (from the repository root, after a Release build)
set -euo pipefail
rounds=${1:-5}
dll=src/StepWiser.ML.Samples/bin/Release/net10.0/StepWiser.ML.Samples.dll
[ -f "$dll" ] || { echo "error: build first: dotnet build StepWiser.sln -c Release" >&2; exit 2; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
dotnet "$dll" serve --builtin medium --port "$port" > /tmp/serve-memory.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$port/v1/models" > /dev/null && break; sleep 0.5; done
mem() { awk '/VmRSS|VmHWM/ { printf "%s %.0f MiB  ", $1, $2 / 1024 }' /proc/$pid/status; echo; }
echo "serve --builtin medium on port $port (pid $pid)"
echo -n "after start-up:  "; mem
body=$(python3 -c '
import json, random
random.seed(1)
prompts = ["".join(random.choice("abcdefghij ") for _ in range(256)) for _ in range(64)]
print(json.dumps({"model": "builtin-medium", "prompt": prompts, "max_tokens": 128, "temperature": 1.0, "seed": 1}))')
model=$(curl -fs "http://127.0.0.1:$port/v1/models" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
body=${body/builtin-medium/$model}
for r in $(seq 1 "$rounds"); do
  start=$(date +%s.%N)
  n=$(curl -fs -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$port/v1/completions" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["choices"]))')
  secs=$(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')")
  echo -n "round $r ($n completions, ${secs} s): "; mem
done
