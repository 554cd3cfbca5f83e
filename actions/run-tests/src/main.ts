import { DockerCli } from '@kubeline/docker';
import { cleanupFromState, readTestRunSettings, reportTestRun, runTests } from '@kubeline/testrun';
import { Inputs, runAction, setOutput } from '@kubeline/toolkit';

await runAction(
  'run-tests',
  async () => {
    const settings = readTestRunSettings(new Inputs());
    const outcome = await runTests(new DockerCli(), settings);
    setOutput('exit-code', String(outcome.exitCode));
    setOutput('passed', String(outcome.report?.passed ?? 0));
    setOutput('failed', String((outcome.report?.failed ?? 0) + (outcome.report?.errors ?? 0)));
    setOutput('skipped', String(outcome.report?.skipped ?? 0));
    setOutput('report', outcome.report ? outcome.reportDir : '');
    await reportTestRun(outcome, settings);
  },
  () => cleanupFromState(new DockerCli()),
);
