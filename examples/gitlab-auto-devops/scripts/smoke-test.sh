#!/bin/sh
# deploy's `check` during every canary step: a non-zero exit aborts the rollout and production goes
# back to the last good release. KUBELINE_WEIGHT is the canary's share at this step.
set -eu
curl -fsS --max-time 5 "$APP_URL/healthz" >/dev/null
echo "healthy at ${KUBELINE_WEIGHT}% canary (step ${KUBELINE_STEP})"
