import { shellCommand } from '../src/run-tests';

describe('shellCommand', () => {
  test('sh stops at the first failing line', () => {
    expect(shellCommand('sh', 'a\nb')).toEqual(['sh', '-e', '-c', 'a\nb']);
  });
  test('bash also fails a pipeline with a failing command', () => {
    expect(shellCommand('bash', 'a | b')).toEqual(['bash', '-e', '-o', 'pipefail', '-c', 'a | b']);
  });
  test('another shell is a program with its options, given the script by -c', () => {
    expect(shellCommand('python3 -u', 'print(1)')).toEqual(['python3', '-u', '-c', 'print(1)']);
  });
});
