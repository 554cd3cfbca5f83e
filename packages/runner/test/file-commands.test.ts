import { parseFileCommands } from '@kubeline/runner';

test('reads plain and heredoc entries as @actions/core writes them', () => {
  const text = 'a=1\ntags<<ghadelimiter_1\nx:1\nx:2\nghadelimiter_1\nb=c=d\n';
  expect(parseFileCommands(text)).toEqual({ a: '1', tags: 'x:1\nx:2', b: 'c=d' });
});
