import { ConfigurationError } from '@kubeline/toolkit';
import { defaultTestTarget, explainBuildFailure, lineOfStep, parseDockerfile, requireStage } from '@kubeline/docker';

const DF = `# syntax=docker/dockerfile:1
ARG BASE=local/python:3
FROM \${BASE} AS build
WORKDIR /app
COPY app ./app

FROM build AS test
COPY tests ./tests
RUN python3 -m pytest \\
    --collect-only -q

FROM \${BASE}
COPY --from=build /app /app
CMD ["python3", "-m", "app"]
`;

describe('parseDockerfile', () => {
  const df = parseDockerfile(DF);
  test('finds stages with names, unnamed stages by index', () => {
    expect(df.stages.map((s) => [s.name, s.line])).toEqual([
      ['build', 3],
      ['test', 7],
      ['2', 12],
    ]);
  });
  test('default test target prefers test, then build', () => {
    expect(defaultTestTarget(df, 'Dockerfile')).toBe('test');
    expect(defaultTestTarget(parseDockerfile('FROM x AS build\nFROM y AS app\n'), 'Dockerfile')).toBe('build');
  });
  test('a missing stage lists the stages that exist', () => {
    expect(() => requireStage(df, 'tests', 'Dockerfile')).toThrow("input 'target': stage 'tests' is not in Dockerfile. Stages there: build, test, 2.");
    expect(() => defaultTestTarget(parseDockerfile('FROM x AS app\n'), 'Dockerfile')).toThrow(ConfigurationError);
  });
  test('maps a BuildKit step back to its line, across continuations', () => {
    expect(lineOfStep(df, '[test 2/2] RUN python3 -m pytest     --collect-only -q')).toBe(9);
    expect(lineOfStep(df, '[build 2/2] COPY app ./app')).toBe(5);
  });
});

describe('explainBuildFailure', () => {
  const df = parseDockerfile(DF);
  test('uses the Dockerfile:N pointer of newer BuildKit', () => {
    const log = '#9 ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1\n------\nDockerfile:9\n--------------------\nERROR: failed to solve: process "/bin/sh -c false" did not complete successfully: exit code: 1\n';
    expect(explainBuildFailure(log, df)).toEqual({ line: 9, message: 'failed to solve: process "/bin/sh -c false" did not complete successfully: exit code: 1' });
  });
  test('finds the failed step of the 20.10 engine BuildKit', () => {
    const log = [
      '#8 [test 2/2] RUN python3 -m pytest     --collect-only -q',
      '#8 0.300 /bin/sh: python3: not found',
      '#8 ERROR: executor failed running [/bin/sh -c python3 -m pytest --collect-only -q]: exit code: 127',
      'executor failed running [/bin/sh -c python3 -m pytest --collect-only -q]: exit code: 127',
    ].join('\n');
    expect(explainBuildFailure(log, df).line).toBe(9);
  });
});
