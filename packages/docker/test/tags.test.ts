import { ConfigurationError, type RunContext } from '@kubeline/toolkit';
import { computeMetadata, parseSemver, sanitizeTag, type MetadataRequest } from '../src/tags';

const MERGE_SHA = '1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const HEAD_SHA = '2222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const NOW = new Date('2024-03-26T23:30:00Z');
const COMMIT_DATE = new Date('2024-01-02T03:04:05Z');

function ctx(over: Partial<RunContext> = {}): RunContext {
  return {
    eventName: 'push',
    sha: MERGE_SHA,
    commitSha: MERGE_SHA,
    ref: 'refs/heads/main',
    defaultBranch: 'main',
    repository: 'Org/App',
    serverUrl: 'https://github.com',
    runUrl: 'https://github.com/Org/App/actions/runs/1',
    commitDate: COMMIT_DATE,
    repoLicense: 'MIT',
    repoDescription: 'The app',
    ...over,
  };
}
const push = (branch: string) => ctx({ ref: `refs/heads/${branch}` });
const tagPush = (tag: string) => ctx({ ref: `refs/tags/${tag}` });
const pr = (over: Partial<RunContext> = {}) =>
  ctx({ eventName: 'pull_request', ref: 'refs/pull/42/merge', sha: MERGE_SHA, commitSha: HEAD_SHA, prNumber: 42, headRef: 'feature/x', ...over });
const schedule = () => ctx({ eventName: 'schedule' });

function meta(over: Partial<MetadataRequest> & { context: RunContext }) {
  return computeMetadata({ images: ['ghcr.io/Org/App'], tags: '', flavor: '', shaLength: 7, now: NOW, warn: () => {}, ...over });
}

const SEMVER_TAGS = `
type=semver,pattern={{version}}
type=semver,pattern={{major}}.{{minor}}
type=semver,pattern={{major}}
type=ref,event=branch
type=ref,event=pr
type=sha`;

describe('computeMetadata: tag names', () => {
  const cases: Array<{ name: string; context: RunContext; tags?: string; flavor?: string; shaLength?: number; want: string[]; version?: string }> = [
    // Defaults (metadata-action's: schedule, ref branch/tag/pr)
    { name: 'push to main, default rules', context: push('main'), want: ['main'] },
    { name: 'push to another branch, default rules', context: push('feature/login'), want: ['feature-login'] },
    { name: 'tag v1.2.3, default rules: the tag and latest', context: tagPush('v1.2.3'), want: ['v1.2.3', 'latest'] },
    { name: 'pull request, default rules', context: pr(), want: ['pr-42'] },
    { name: 'schedule, default rules: nightly', context: schedule(), want: ['nightly', 'main'] },
    // Semver
    { name: 'tag v1.2.3, semver rules', context: tagPush('v1.2.3'), tags: SEMVER_TAGS, want: ['1.2.3', '1.2', '1', 'sha-1111111', 'latest'] },
    { name: 'prerelease tag: only {{version}}, no latest', context: tagPush('v1.2.3-rc.1'), tags: SEMVER_TAGS, want: ['1.2.3-rc.1', 'sha-1111111'] },
    { name: 'prerelease with {{raw}}', context: tagPush('v2.0.8-beta.67'), tags: 'type=semver,pattern={{raw}}', want: ['v2.0.8-beta.67'] },
    { name: 'prerelease with v{{major}}: still {{version}}', context: tagPush('v2.0.8-beta.67'), tags: 'type=semver,pattern=v{{major}}', want: ['2.0.8-beta.67'] },
    { name: 'semver build metadata is dropped from {{version}}', context: tagPush('v9.5.7+fork.3'), tags: 'type=semver,pattern={{version}}', want: ['9.5.7', 'latest'] },
    { name: 'semver {{raw}}, v{{major}}, {{minor}}, {{patch}}', context: tagPush('v1.2.3'), tags: 'type=semver,pattern={{raw}}\ntype=semver,pattern=v{{major}}\ntype=semver,pattern={{minor}}\ntype=semver,pattern={{patch}}', want: ['v1.2.3', 'v1', '2', '3', 'latest'] },
    { name: 'semver on a branch push adds nothing', context: push('main'), tags: 'type=semver,pattern={{version}}', want: [] },
    { name: 'semver value= override on a branch push', context: push('main'), tags: 'type=semver,pattern={{major}}.{{minor}},value=v3.4.5', want: ['3.4', 'latest'] },
    { name: 'non-semver tag: semver adds nothing, ref tag still applies', context: tagPush('release1'), tags: 'type=semver,pattern={{version}}\ntype=ref,event=tag', want: ['release1', 'latest'] },
    { name: 'semver with a rule prefix', context: tagPush('v1.0.0'), tags: 'type=semver,pattern={{version}},prefix=api-', want: ['api-1.0.0', 'latest'] },
    // Match
    { name: 'match with a group', context: tagPush('p1/v1.2.3'), tags: 'type=match,pattern=p1/v(\\d.\\d.\\d),group=1', want: ['1.2.3', 'latest'] },
    // Pull requests: head sha, not the merge commit
    { name: 'pull request: sha tag is the PR head', context: pr(), tags: SEMVER_TAGS, want: ['pr-42', 'sha-2222222'] },
    { name: 'pull request: {{sha}} is the PR head', context: pr(), tags: 'type=ref,event=pr,suffix=-{{sha}}', want: ['pr-42-2222222'] },
    { name: 'pull_request_target uses the PR ref', context: pr({ eventName: 'pull_request_target', ref: 'refs/heads/main' }), tags: 'type=ref,event=pr\ntype=ref,event=branch', want: ['pr-42'] },
    { name: 'pr with custom prefix', context: pr(), tags: 'type=ref,event=pr,prefix=pull-', want: ['pull-42'] },
    // sha
    { name: 'sha: configurable length', context: push('main'), tags: 'type=sha', shaLength: 12, want: ['sha-1111111aaaaa'] },
    { name: 'sha: format=long, no prefix', context: push('main'), tags: 'type=sha,format=long,prefix=', want: [MERGE_SHA] },
    // edge / raw / schedule
    { name: 'edge on the default branch', context: push('main'), tags: 'type=edge\ntype=sha', want: ['edge', 'sha-1111111'] },
    { name: 'edge not on another branch', context: push('dev'), tags: 'type=edge', want: [] },
    { name: 'edge,branch=dev on dev', context: push('dev'), tags: 'type=edge,branch=dev', want: ['edge'] },
    { name: 'raw lines, bare and type=raw,<value>', context: push('main'), tags: 'stable\ntype=raw,v2\ntype=raw,value=x-{{branch}}-{{sha}}', want: ['stable', 'v2', 'x-main-1111111'] },
    { name: 'raw latest only on the default branch (main)', context: push('main'), tags: 'type=raw,value=latest,enable={{is_default_branch}}\ntype=ref,event=branch', want: ['main', 'latest'] },
    { name: 'raw latest only on the default branch (dev)', context: push('dev'), tags: 'type=raw,value=latest,enable={{is_default_branch}}\ntype=ref,event=branch', want: ['dev'] },
    { name: 'is_not_default_branch', context: push('dev'), tags: 'type=raw,value=preview,enable={{is_not_default_branch}}', want: ['preview'] },
    { name: 'schedule with a date pattern', context: schedule(), tags: "type=schedule,pattern={{date 'YYYYMMDD'}}", want: ['20240326'] },
    { name: 'schedule date in a time zone', context: schedule(), tags: "type=schedule,pattern={{date 'YYYYMMDD-HHmm' tz='Asia/Tokyo'}}", want: ['20240327-0830'] },
    { name: 'schedule rule off schedule', context: push('main'), tags: 'type=schedule', want: [] },
    { name: 'raw with commit_date and [literal]', context: push('main'), tags: "type=raw,value={{commit_date 'YYYY.MM.DD[T]HH'}}", want: ['2024.01.02T03'] },
    // enable / priority
    { name: 'enable=false drops a rule', context: tagPush('v1.2.3'), tags: 'type=semver,pattern={{version}}\ntype=semver,pattern={{major}},enable=false', want: ['1.2.3', 'latest'] },
    { name: 'priority puts sha first (and decides latest)', context: tagPush('v1.2.3'), tags: 'type=semver,pattern={{version}}\ntype=sha,priority=1001', want: ['sha-1111111', '1.2.3'], version: 'sha-1111111' },
    { name: 'equal priorities keep written order', context: push('main'), tags: 'b\na\nc', want: ['b', 'a', 'c'] },
    { name: 'duplicate values collapse', context: push('main'), tags: 'type=ref,event=branch\ntype=raw,value=main\ntype=raw,value={{branch}}', want: ['main'] },
    { name: 'quoted CSV field keeps its comma (then sanitised)', context: push('main'), tags: 'type=raw,"value=a,b"', want: ['a-b'] },
    { name: 'comments and blank lines', context: push('main'), tags: '# main builds\n\ntype=ref,event=branch\n', want: ['main'] },
    // flavor
    { name: 'flavor latest=true on a branch', context: push('main'), flavor: 'latest=true', want: ['main', 'latest'] },
    { name: 'flavor latest=false on a tag', context: tagPush('v1.2.3'), flavor: 'latest=false', want: ['v1.2.3'] },
    { name: 'flavor prefix/suffix, not on latest', context: tagPush('v1.2.3'), tags: 'type=semver,pattern={{version}}', flavor: 'prefix=app-\nsuffix=-alpine', want: ['app-1.2.3-alpine', 'latest'] },
    { name: 'flavor suffix onlatest=true', context: tagPush('v1.2.3'), tags: 'type=semver,pattern={{version}}', flavor: 'suffix=-alpine,onlatest=true', want: ['1.2.3-alpine', 'latest-alpine'] },
    { name: 'rule prefix wins over flavor prefix', context: tagPush('v1.2.3'), tags: 'type=semver,pattern={{version}}\ntype=sha', flavor: 'prefix=app-', want: ['app-1.2.3', 'sha-1111111', 'latest'] },
    // sanitising
    { name: 'invalid characters become -', context: push('feat/Über#1'), want: ['feat-ber-1'] },
    { name: 'no leading . or -', context: push('main'), tags: 'type=raw,value=.hidden\ntype=raw,value=--x', want: ['hidden', 'x'] },
  ];

  test.each(cases)('$name', ({ context, tags, flavor, shaLength, want, version }) => {
    const m = meta({ context, tags: tags ?? '', flavor: flavor ?? '', shaLength: shaLength ?? 7 });
    expect(m.tagNames).toEqual(want);
    expect(m.tags).toEqual(want.map((t) => `ghcr.io/org/app:${t}`));
    expect(m.version).toBe(version ?? want[0] ?? '');
  });
});

describe('computeMetadata: images, labels, annotations', () => {
  test('multiple images: every image × tag, lowercased, deduplicated', () => {
    const m = meta({
      context: tagPush('v1.2.3'),
      images: ['ghcr.io/Org/App', '127.0.0.1:5000/demo', 'GHCR.io/org/app'],
      tags: 'type=semver,pattern={{version}}\ntype=semver,pattern={{major}}',
    });
    expect(m.tags).toEqual([
      'ghcr.io/org/app:1.2.3',
      'ghcr.io/org/app:1',
      'ghcr.io/org/app:latest',
      '127.0.0.1:5000/demo:1.2.3',
      '127.0.0.1:5000/demo:1',
      '127.0.0.1:5000/demo:latest',
    ]);
  });

  test("metadata-action's image syntax: comma list and name=,enable=", () => {
    expect(meta({ context: push('main'), images: ['a/b, localhost:5000/c'] }).tags).toEqual(['a/b:main', 'localhost:5000/c:main']);
    expect(meta({ context: push('main'), images: ['name=a/b', 'name=c/d,enable=false'] }).tags).toEqual(['a/b:main']);
  });

  test('no matching rule: no tags, empty version', () => {
    const m = meta({ context: push('main'), tags: 'type=ref,event=tag' });
    expect(m).toMatchObject({ version: '', tags: [], tagNames: [] });
    expect(m.labels['org.opencontainers.image.version']).toBe('');
  });

  test('OCI labels and annotations', () => {
    const m = meta({ context: tagPush('v1.2.3'), tags: 'type=semver,pattern={{version}}' });
    const oci = {
      'org.opencontainers.image.created': NOW.toISOString(),
      'org.opencontainers.image.description': 'The app',
      'org.opencontainers.image.licenses': 'MIT',
      'org.opencontainers.image.revision': MERGE_SHA,
      'org.opencontainers.image.source': 'https://github.com/Org/App',
      'org.opencontainers.image.title': 'App',
      'org.opencontainers.image.url': 'https://github.com/Org/App',
      'org.opencontainers.image.version': '1.2.3',
    };
    expect(m.labels).toEqual(oci);
    expect(m.annotations).toEqual(oci);
    expect(Object.keys(m.labels)).toEqual(Object.keys(oci).sort());
  });

  test('pull request: revision is the PR head sha', () => {
    expect(meta({ context: pr() }).labels['org.opencontainers.image.revision']).toBe(HEAD_SHA);
  });

  test('user labels override and extend; OCI ones also reach annotations', () => {
    const m = meta({
      context: push('main'),
      labels: ['org.opencontainers.image.title=Custom', 'maintainer=team@example.com', 'built.from={{branch}}@{{sha}}', 'eq=a=b', '# comment'],
    });
    expect(m.labels).toMatchObject({ 'org.opencontainers.image.title': 'Custom', maintainer: 'team@example.com', 'built.from': 'main@1111111', eq: 'a=b' });
    expect(m.annotations['org.opencontainers.image.title']).toBe('Custom');
    expect(m.annotations).not.toHaveProperty('maintainer');
  });

  test('a tag that is not semver warns', () => {
    const warnings: string[] = [];
    meta({ context: tagPush('1.2'), tags: 'type=semver,pattern={{version}}', warn: (w) => warnings.push(w) });
    expect(warnings).toEqual([expect.stringContaining("'1.2' is not a valid semantic version")]);
  });

  test('tags are at most 128 characters', () => {
    const m = meta({ context: push('main'), tags: `type=raw,value=${'x'.repeat(200)}` });
    expect(m.tagNames[0]).toHaveLength(128);
  });
});

describe('computeMetadata: bad inputs', () => {
  const cases: Array<{ name: string; req: Partial<MetadataRequest>; input: string; message: RegExp }> = [
    { name: 'unknown type', req: { tags: 'type=semvar,pattern={{version}}' }, input: 'tags', message: /unknown type 'semvar' in 'type=semvar,pattern=\{\{version\}\}'\. Use one of: schedule, semver, match, edge, ref, raw, sha/ },
    { name: 'pep440', req: { tags: 'type=pep440,pattern={{version}}' }, input: 'tags', message: /pep440 is not supported/ },
    { name: 'semver without pattern', req: { tags: 'type=semver' }, input: 'tags', message: /type=semver needs pattern= in 'type=semver'/ },
    { name: 'ref without event', req: { tags: 'type=ref' }, input: 'tags', message: /type=ref needs event=/ },
    { name: 'ref with unknown event', req: { tags: 'type=ref,event=push' }, input: 'tags', message: /unknown event 'push' .*Use one of: branch, tag, pr/ },
    { name: 'sha with unknown format', req: { tags: 'type=sha,format=medium' }, input: 'tags', message: /unknown format 'medium' .*Use one of: short, long/ },
    { name: 'raw without value', req: { tags: 'type=raw' }, input: 'tags', message: /type=raw needs a value/ },
    { name: 'attribute of another type', req: { tags: 'type=sha,pattern=x' }, input: 'tags', message: /attribute 'pattern' is not valid for type=sha .*Valid attributes: type, enable, priority, prefix, suffix, format/ },
    { name: 'bare value on sha', req: { tags: 'type=sha,foo' }, input: 'tags', message: /a bare value \('foo'\) is not valid for type=sha/ },
    { name: 'bad enable', req: { tags: 'type=raw,value=x,enable=maybe' }, input: 'tags', message: /enable='maybe' .*must be true or false/ },
    { name: 'bad priority', req: { tags: 'type=raw,value=x,priority=high' }, input: 'tags', message: /priority='high' .*whole number/ },
    { name: 'bad match group', req: { tags: 'type=match,pattern=v(.*),group=one' }, input: 'tags', message: /group='one'/ },
    { name: 'bad match regex', req: { tags: 'type=match,pattern=v(' }, input: 'tags', message: /not a valid regular expression/ },
    { name: 'unknown expression', req: { tags: 'type=raw,value={{brnch}}' }, input: 'tags', message: /unknown expression \{\{brnch\}\} .*Use one of: \{\{branch\}\}, \{\{tag\}\}, \{\{sha\}\}/ },
    { name: 'unknown semver expression', req: { tags: 'type=semver,pattern={{branch}}', context: tagPush('v1.0.0') }, input: 'tags', message: /unknown expression \{\{branch\}\} .*Use one of: \{\{raw\}\}, \{\{version\}\}/ },
    { name: 'unclosed expression', req: { tags: 'type=raw,value={{branch' }, input: 'tags', message: /'\{\{' without '\}\}'/ },
    { name: 'expression with arguments it does not take', req: { tags: "type=raw,value={{sha 'x'}}" }, input: 'tags', message: /takes no arguments/ },
    { name: 'date without format', req: { tags: 'type=raw,value={{date}}' }, input: 'tags', message: /needs one quoted format/ },
    { name: 'unsupported date token', req: { tags: "type=raw,value={{date 'Qo'}}" }, input: 'tags', message: /date token 'Q'/ },
    { name: 'unknown time zone', req: { tags: "type=raw,value={{date 'YYYY' tz='Mars/Olympus'}}" }, input: 'tags', message: /unknown time zone 'Mars\/Olympus'/ },
    { name: 'attribute without a name', req: { tags: 'type=raw,=x' }, input: 'tags', message: /no attribute name/ },
    { name: 'unterminated quote', req: { tags: 'type=raw,"value=a' }, input: 'tags', message: /unterminated quote/ },
    { name: 'flavor latest', req: { flavor: 'latest=sometimes' }, input: 'flavor', message: /latest='sometimes' .*Use one of: auto, true, false/ },
    { name: 'flavor unknown key', req: { flavor: 'prefx=a-' }, input: 'flavor', message: /unknown flavor 'prefx' .*Use one of: latest, prefix, suffix, onlatest/ },
    { name: 'flavor onlatest alone', req: { flavor: 'onlatest=true' }, input: 'flavor', message: /must follow prefix= or suffix=/ },
    { name: 'flavor onlatest value', req: { flavor: 'suffix=-a,onlatest=yes' }, input: 'flavor', message: /onlatest='yes'/ },
    { name: 'flavor entry without =', req: { flavor: 'latest' }, input: 'flavor', message: /'latest' .*not of the form key=value/ },
    { name: 'no images', req: { images: [] }, input: 'repositories', message: /no image given/ },
    { name: 'image with a tag', req: { images: ['ghcr.io/org/app:v1'] }, input: 'repositories', message: /includes a tag or digest/ },
    { name: 'image with a digest', req: { images: ['ghcr.io/org/app@sha256:abc'] }, input: 'repositories', message: /includes a tag or digest/ },
    { name: 'invalid image', req: { images: ['ghcr.io/my app'] }, input: 'repositories', message: /'ghcr.io\/my app' is not a valid image repository/ },
    { name: 'image enable', req: { images: ['name=a/b,enable=maybe'] }, input: 'repositories', message: /enable='maybe'/ },
    { name: 'image unknown attribute', req: { images: ['name=a/b,tag=x'] }, input: 'repositories', message: /unknown attribute 'tag'/ },
    { name: 'typo in a rule that does not apply to this event', req: { tags: 'type=raw,value={{tga}},enable=false\ntype=ref,event=branch' }, input: 'tags', message: /unknown expression \{\{tga\}\}/ },
    { name: 'typo in a flavor expression', req: { flavor: 'prefix={{brnch}}-' }, input: 'flavor', message: /unknown expression \{\{brnch\}\} in 'prefix=\{\{brnch\}\}-'/ },
    { name: 'label without =', req: { labels: ['maintainer'] }, input: 'labels', message: /'maintainer' is not of the form key=value/ },
  ];

  test.each(cases)('$name', ({ req, input, message }) => {
    let caught: unknown;
    try {
      meta({ context: push('main'), ...req });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigurationError);
    expect((caught as ConfigurationError).input).toBe(input);
    expect((caught as ConfigurationError).message).toMatch(message);
    expect((caught as ConfigurationError).message).toMatch(new RegExp(`^input '${input}': `));
  });

  test('short sha length must be positive', () => {
    expect(() => meta({ context: push('main'), shaLength: 0 })).toThrow(ConfigurationError);
  });
});

describe('helpers', () => {
  test.each([
    ['v1.2.3', '1.2.3', []],
    ['1.2.3-rc.1', '1.2.3-rc.1', ['rc', '1']],
    ['v2.0.8-beta.67+build.5', '2.0.8-beta.67', ['beta', '67']],
  ])('parseSemver(%s)', (raw, version, prerelease) => {
    expect(parseSemver(raw)).toMatchObject({ raw, version, prerelease });
  });

  test.each(['1.2', 'v1.2.3.4', '01.2.3', '1.2.3-', 'V1.2.3', 'v1.2.3rc2', 'latest'])('parseSemver rejects %s', (raw) => {
    expect(parseSemver(raw)).toBeUndefined();
  });

  test.each([
    ['feature/x', 'feature-x'],
    ['a  b', 'a-b'],
    ['-.x', 'x'],
    ['ok_1.2-3', 'ok_1.2-3'],
  ])('sanitizeTag(%s) = %s', (input, want) => {
    expect(sanitizeTag(input)).toBe(want);
  });
});
