// Reference point for the start-up benchmark, not a product: the smallest
// action there can be with @actions/core, bundled at bench time the way
// scripts/build.mjs bundles the real ones (ncc --minify, ESM). It reads one
// required input and fails when it is empty, as the measured bundles do.
import * as core from '@actions/core';

try {
  core.getInput('value', { required: true });
} catch (err) {
  core.setFailed(`floor: ${err.message}`);
}
