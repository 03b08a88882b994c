#!/usr/bin/env bash
# Publishes a main job's output folder as the user docs' results, unedited: OUT/report.md → docs/results.md,
# OUT/results/* → docs/results/, OUT/timings.md → docs/results/timings.md, and the README's summary block (between its
# markers) ← OUT/results/summary.md. DocsTests checks the README's copy against docs/results/summary.md.
# Usage: lab/publish-results.sh OUT      (OUT: the --output folder of a finished default-preset main job)
#        lab/publish-results.sh OUT large    (a finished large-preset job: OUT/report.md, OUT/timings.md and OUT/results/
#                                             → docs/results-large/, the same layout, so the report's links hold; the
#                                             README's summary stays the default run's)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: lab/publish-results.sh OUT [large]}"
for f in report.md timings.md claims.json results/summary.md results/evaluation.csv; do
  [ -f "$out/$f" ] || { echo "publish-results: $out/$f does not exist (not a finished main job's output folder)" >&2; exit 2; }
done
if [ "${2:-}" = "large" ]; then
  grep -q "judge seeds" "$out/report.md" || { echo "publish-results: $out/report.md is not a several-seed (large preset) report" >&2; exit 2; }
  rm -rf "$repo/docs/results-large"
  mkdir -p "$repo/docs/results-large/results"
  cp "$out"/results/* "$repo/docs/results-large/results/"
  cp "$out/report.md" "$out/timings.md" "$repo/docs/results-large/"
  echo "published $out to docs/results-large/"
  exit 0
fi
rm -rf "$repo/docs/results"
mkdir -p "$repo/docs/results"
cp "$out"/results/* "$repo/docs/results/"
cp "$out/timings.md" "$repo/docs/results/timings.md"
cp "$out/report.md" "$repo/docs/results.md"
python3 - "$repo/README.md" "$out/results/summary.md" <<'PY'
import sys
readme, summary = sys.argv[1], open(sys.argv[2]).read()
text = open(readme).read()
start = "<!-- summary: docs/results/summary.md, written by the main job; a test keeps this copy equal to it -->\n"
end = "<!-- end summary -->"
i, j = text.index(start) + len(start), text.index(end)
open(readme, "w").write(text[:i] + summary + text[j:])
PY
echo "published $out to docs/results.md, docs/results/ and the README's summary"
