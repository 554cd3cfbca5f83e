// Reference point for the start-up benchmark, not a product: the smallest
// action there can be with @actions/core, bundled at bench time twice: with
// ncc --minify and with scripts/bundle.mjs (as the actions are). It reads one
// required input and fails when it is empty, as the measured bundles do.
import * as core from '@actions/core';

try {
  core.getInput('value', { required: true });
} catch (err) {
  core.setFailed(`floor: ${err.message}`);
}
