import { ConfigurationError } from '@kubeline/toolkit';
import { checkImageReference, checkRegistryHost, imageReferenceProblem, registryHostProblem } from '@kubeline/docker';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('image references (distribution reference grammar)', () => {
  test.each([
    'busybox',
    'local/busybox:1',
    'postgres:16',
    'kubeline-test/app:0123456789ab',
    'ghcr.io/acme/app:1.2',
    'ghcr.io/acme/my_app__x/a-b--c.d:v1.2_3-rc.1',
    '127.0.0.1:5000/demo',
    'localhost:5000/a/b:latest',
    'Registry.Example.com/app',
    '[::1]:5000/app:1',
    `ghcr.io/acme/app@${DIGEST}`,
    `ghcr.io/acme/app:1.2@${DIGEST}`,
    `busybox@sha512:${'b'.repeat(128)}`,
  ])('%s is a reference', (ref) => {
    expect(imageReferenceProblem(ref)).toBeUndefined();
  });

  test.each([
    ['', 'it is empty'],
    ['--help', "it starts with '-'"],
    ['--volume=/:/host', "it starts with '-'"],
    ['-', "it starts with '-'"],
    ['busybox --privileged', 'it contains whitespace'],
    ['busybox\n', 'it contains whitespace'],
    ['App', 'the repository must be lowercase'],
    ['ghcr.io/Acme/app', 'the repository must be lowercase'],
    ['ghcr.io/acme/app:', 'the tag must be 1 to 128 of [A-Za-z0-9_.-], not starting with . or -'],
    ['app:-x', 'the tag must be 1 to 128 of [A-Za-z0-9_.-], not starting with . or -'],
    [`app:${'t'.repeat(129)}`, 'the tag must be 1 to 128 of [A-Za-z0-9_.-], not starting with . or -'],
    ['app@sha256:abc', 'the digest must be sha256:<64 hex digits>'],
    ['app@latest', 'the digest must be sha256:<64 hex digits>'],
    ['ghcr.io//app', "each path component is lowercase letters and digits, separated by '.', '_', '__' or '-'"],
    ['a/-b', "each path component is lowercase letters and digits, separated by '.', '_', '__' or '-'"],
    ['app_', "each path component is lowercase letters and digits, separated by '.', '_', '__' or '-'"],
    ['a...b', "each path component is lowercase letters and digits, separated by '.', '_', '__' or '-'"],
    ['ghcr.io:x/app', "the registry must be host[:port]"],
    ['-x.io/app', "it starts with '-'"],
    ['x.io-/app', 'the registry must be host[:port]'],
    [`${'a'.repeat(256)}`, 'the name is longer than 255 characters'],
  ])('%j: %s', (ref, why) => {
    expect(imageReferenceProblem(ref)).toBe(why);
  });

  test('the error names the input and the fix', () => {
    expect(() => checkImageReference('--help', 'image')).toThrow(ConfigurationError);
    expect(() => checkImageReference('--help', 'image')).toThrow(
      "input 'image': '--help' is not an image reference: it starts with '-'. Give [registry[:port]/]repository[:tag][@sha256:digest] in lowercase, e.g. ghcr.io/acme/app:1.2.",
    );
    expect(checkImageReference('ghcr.io/acme/app:1', 'image')).toBe('ghcr.io/acme/app:1');
  });
});

describe('registry hosts', () => {
  test.each(['ghcr.io', 'docker.io', 'localhost', 'localhost:5000', '127.0.0.1:21802', 'Registry.Example.com', '[::1]:5000', 'my-registry'])('%s is a host', (host) => {
    expect(registryHostProblem(host)).toBeUndefined();
  });
  test.each([
    ['--help', "it starts with '-'"],
    ['ghcr.io --password=x', 'it contains whitespace'],
    ['https://ghcr.io', 'it has a scheme or a path'],
    ['ghcr.io/acme', 'it has a scheme or a path'],
    ['ghcr.io:', 'it must be host[:port]'],
    ['ghcr-.io', 'it must be host[:port]'],
    ['', 'it is empty'],
  ])('%j: %s', (host, why) => {
    expect(registryHostProblem(host)).toBe(why);
  });
  test('the error names the input and the fix', () => {
    expect(() => checkRegistryHost('--help', 'registry')).toThrow(
      "input 'registry': '--help' is not a registry host: it starts with '-'. Give host[:port] with no scheme or path, e.g. ghcr.io or 127.0.0.1:5000.",
    );
  });
});
