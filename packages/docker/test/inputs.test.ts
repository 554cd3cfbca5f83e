import { Inputs, objectInputs } from '@kubeline/toolkit';
import { readBuildSettings, readPushSettings } from '@kubeline/docker';

const read = (values: Record<string, string>) => readPushSettings(new Inputs(objectInputs(values)));

describe('push-image inputs', () => {
  test('a registry given as a URL is taken as its host, as docker login takes it', () => {
    expect(read({ repositories: 'ghcr.io/acme/app', registry: 'https://ghcr.io/', username: 'u', password: 'p' }).login?.registry).toBe('ghcr.io');
  });

  test('images, the old name of repositories, still works', () => {
    expect(read({ images: 'ghcr.io/acme/app' }).images).toEqual(['ghcr.io/acme/app']);
  });

  test('defaults', () => {
    const s = read({ repositories: 'ghcr.io/acme/app' });
    expect(s).toMatchObject({ images: ['ghcr.io/acme/app'], push: true, pushByDigest: false, shaLength: 7, retries: 4, login: undefined });
    expect(s.build).toMatchObject({ context: '.', file: '', target: '', noCache: false, buildArgs: [], secrets: [] });
  });

  test('login goes to the first image’s registry unless registry is given', () => {
    expect(read({ repositories: 'ghcr.io/acme/app\n127.0.0.1:5000/app', username: 'u', password: 'p' }).login).toEqual({ registry: 'ghcr.io', username: 'u', password: 'p' });
    expect(read({ repositories: 'ghcr.io/acme/app', registry: 'registry.example', username: 'u', password: 'p' }).login?.registry).toBe('registry.example');
    expect(read({ repositories: 'ghcr.io/acme/app', registry: 'localhost:5000', username: 'u', password: 'p' }).login?.registry).toBe('localhost:5000');
    expect(read({ repositories: 'ghcr.io/acme/app', registry: '[::1]:5000', username: 'u', password: 'p' }).login?.registry).toBe('[::1]:5000');
  });

  test.each([
    [{}, "input 'repositories': is required"],
    [{ repositories: 'a/b', username: 'u' }, "input 'password': 'username' and 'password' go together; 'password' is empty."],
    [{ repositories: 'a/b', password: 'p' }, "input 'username': 'username' and 'password' go together; 'username' is empty."],
    [{ repositories: 'a/b', 'sha-length': '2' }, "input 'sha-length': 2 is out of range; use a number from 4 to 40."],
    [{ repositories: 'a/b', 'push-by-digest': 'sometimes' }, "input 'push-by-digest': 'sometimes' is not a boolean."],
    [{ repositories: 'a/b', registry: '--help', username: 'u', password: 'p' }, "input 'registry': '--help' is not a registry host: it starts with '-'. Give host[:port] with no scheme or path, e.g. ghcr.io or 127.0.0.1:5000."],
    [{ repositories: 'a/b', registry: 'https://ghcr.io/v2/token', username: 'u', password: 'p' }, "input 'registry': 'ghcr.io/v2/token' is not a registry host: it has a scheme or a path. Give host[:port]"],
    [{ repositories: 'a/b', registry: 'ghcr.io --password=x', username: 'u', password: 'p' }, "input 'registry': 'ghcr.io --password=x' is not a registry host: it contains whitespace."],
    [{ repositories: 'a/b', secrets: 'token' }, "input 'secrets': 'token' is not of the form key=value."],
  ])('%p → %s', (values, message) => {
    expect(() => read(values as Record<string, string>)).toThrow(message);
  });
});

test('build inputs keep multi-line cache specs whole', () => {
  const s = readBuildSettings(new Inputs(objectInputs({ 'cache-from': 'type=registry,ref=a/b:cache\ntype=gha', 'build-args': 'A=1\nB=x=y' })));
  expect(s.cacheFrom).toEqual(['type=registry,ref=a/b:cache', 'type=gha']);
  expect(s.buildArgs).toEqual([
    ['A', '1'],
    ['B', 'x=y'],
  ]);
});
