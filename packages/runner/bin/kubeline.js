#!/usr/bin/env node
// The local runner, bundled like the actions (dist/cli/index.js).
import '../../../dist/cli/index.js';
