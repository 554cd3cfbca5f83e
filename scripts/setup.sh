# Sourced by scripts/test-all and scripts/demo: installs the npm dependencies
# when missing or stale and puts node_modules/.bin (with Node 24, from the npm
# package `node`) first on PATH.
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # `npm install`, not `npm ci`: npm 11 writes lock files without other
  # platforms' optional packages (unrs-resolver's bindings) and `npm ci` then
  # refuses the lock as out of sync. With the lock present, install keeps it.
  echo "== npm install" >&2
  npm install --no-audit --no-fund --loglevel=error
fi
export PATH="$PWD/node_modules/.bin:$PATH"
