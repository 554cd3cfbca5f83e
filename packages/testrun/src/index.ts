/** @kubeline/testrun: run-tests' inputs, the test run with its services, and JUnit reading and reporting. */
export * from './inputs';
export * from './junit';
export { extractLocations, type Frame } from './locations';
export * from './presentation';
export * from './run-tests';
