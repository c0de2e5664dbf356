#!/usr/bin/env bash
# The pull-request check: `pulumi preview` of one stack, exactly as .github/workflows/pulumi.yml runs
# it for every environment (and tests/e2e/prPreview.test.ts runs it against a local and a PGO stack).
#
#   scripts/pr-preview.sh STACK [OUTPUT_DIR]
#
# Run where the stack's Pulumi.yaml is (the repository root in CI), logged in to its backend. Writes
# OUTPUT_DIR/preview-STACK.json (the engine's steps and change summary) and OUTPUT_DIR/preview-STACK.md
# (the comment posted on the pull request), prints the summary line, and exits with the preview's
# status: a config error or a provider's check failure fails the check.
set -euo pipefail
stack="${1:?usage: scripts/pr-preview.sh STACK [OUTPUT_DIR]}"
out="${2:-.}"
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$out"
json="$out/preview-$stack.json"
md="$out/preview-$stack.md"
export PULUMI_SKIP_UPDATE_CHECK=true
status=0
pulumi preview --stack "$stack" --json --non-interactive >"$json" 2>"$out/preview-$stack.log" || status=$?
node "$here/preview-report.js" "$stack" "$json" "$out/preview-$stack.log" "$status" >"$md"
head -n 1 "$md"
exit "$status"
