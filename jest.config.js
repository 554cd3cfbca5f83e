// ESM all the way: @actions/* v3 ship only ESM, so tests run as native ESM
// (node --experimental-vm-modules) and ts-jest emits ESM. See CONTRIBUTING.md.
const tsJest = ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }];
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': tsJest },
  testEnvironment: 'node',
  // Keep `::error::`-style workflow commands from leaking into the test log.
  setupFiles: ['<rootDir>/test/setup-env.ts'],
  // The test cluster's etcd keeps `.snap` files under .cluster/: not jest snapshots.
  modulePathIgnorePatterns: ['<rootDir>/.cluster/'],
};
export default {
  // Integration tests build images and push them: minutes, not seconds.
  testTimeout: 600_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/packages/*/test/**/*.test.ts', '<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    { ...common, displayName: 'bundles', testMatch: ['<rootDir>/test/bundles/**/*.test.ts'] },
  ],
};
