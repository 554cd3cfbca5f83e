import { ConfigurationError, Inputs, objectInputs } from '@kubeline/toolkit';

const inputs = (values: Record<string, string>) => new Inputs(objectInputs(values));

describe('Inputs', () => {
  test.each([
    ['true', true],
    ['False', false],
    ['', true],
    ['yes', true],
  ])('boolean %p', (value, expected) => {
    expect(inputs({ push: value }).boolean('push', true)).toBe(expected);
  });

  test('a bad boolean names the input and the valid values', () => {
    expect(() => inputs({ push: 'maybe' }).boolean('push', true)).toThrow("input 'push': 'maybe' is not a boolean. Use true or false.");
  });

  test('a bad choice lists the valid values', () => {
    expect(() => inputs({ shell: 'zsh' }).choice('shell', ['sh', 'bash'] as const, 'sh')).toThrow(
      "input 'shell': 'zsh' is not valid. Use one of: sh, bash.",
    );
  });

  test('integers are range-checked', () => {
    expect(inputs({ n: '12' }).integer('n', 1, 1, 20)).toBe(12);
    expect(() => inputs({ n: '99' }).integer('n', 1, 1, 20)).toThrow('out of range; use a number from 1 to 20');
    expect(() => inputs({ n: '1.5' }).integer('n', 1)).toThrow(ConfigurationError);
  });

  test('lists split on lines and commas, drop blanks and comments', () => {
    expect(inputs({ images: 'a/b, c/d\n\n# note\n e/f ' }).list('images')).toEqual(['a/b', 'c/d', 'e/f']);
    expect(inputs({ cache: 'type=registry,ref=x\ntype=gha' }).list('cache', { commas: false })).toEqual(['type=registry,ref=x', 'type=gha']);
  });

  test('key=value lines keep = inside values', () => {
    expect(inputs({ env: 'A=1\nB=x=y\n' }).keyValues('env')).toEqual([
      ['A', '1'],
      ['B', 'x=y'],
    ]);
    expect(() => inputs({ env: 'NOVALUE' }).keyValues('env')).toThrow("input 'env': 'NOVALUE' is not of the form key=value.");
  });

  test('required names what is missing', () => {
    expect(() => inputs({}).required('image', 'Pass the image output.')).toThrow("input 'image': is required but was empty. Pass the image output.");
  });
});

describe('renamed inputs', () => {
  const renamed = (values: Record<string, string>) => new Inputs(objectInputs(values), { 'kube-context': 'context' });
  const warnings = (fn: () => void): string[] => {
    const seen: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => (typeof chunk === 'string' && chunk.startsWith('::warning') && seen.push(chunk), true)) as typeof process.stdout.write;
    try {
      fn();
    } finally {
      process.stdout.write = write;
    }
    return seen;
  };

  test('the old name still works, with a warning that names the new one', () => {
    let value = '';
    const seen = warnings(() => {
      const read = renamed({ context: 'staging' });
      value = read.string('kube-context');
      read.string('kube-context');
    });
    expect(value).toBe('staging');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toContain("input 'context' is deprecated");
    expect(seen[0]).toContain("use 'kube-context' instead");
  });

  test('the new name wins over the old one, silently', () => {
    let value = '';
    const seen = warnings(() => (value = renamed({ context: 'old', 'kube-context': 'new' }).string('kube-context')));
    expect(value).toBe('new');
    expect(seen).toEqual([]);
  });
});
