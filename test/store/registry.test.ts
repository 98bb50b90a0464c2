import { describe, expect, it } from 'vitest';
import {
  addEntry, emptyRegistry, exportRegistry, importRegistry, list, parseSpec, resolve, search, type Registry, type RegistryEntry,
} from '../../src/store/registry.ts';
import { compareVersions, parseVersion, satisfies } from '../../src/store/semver.ts';

function entry(name: string, version: string, tags: string[] = [], arch = 'llama'): RegistryEntry {
  return {
    name, version, tags, cid: `bafy-${name}-${version}`, size: 1, sha256: '0'.repeat(64), format: 'gguf',
    publishedAt: '2026-01-01T00:00:00.000Z',
    gguf: { architecture: arch, modelName: undefined, parameterCount: 1, contextLength: 8, tensorTypes: {} },
  };
}

function registry(): Registry {
  let r = emptyRegistry();
  for (const v of ['0.9.0', '1.0.0', '1.2.0', '1.2.7', '1.3.0-rc.1', '2.0.0-beta.2', '1.10.1']) r = addEntry(r, entry('tiny', v));
  r = addEntry(r, entry('qwen', '0.2.3', ['stable'], 'qwen2'));
  r = addEntry(r, entry('qwen', '0.3.0', [], 'qwen2'));
  return r;
}

describe('semver', () => {
  it('orders versions, prereleases before their release', () => {
    const sorted = ['1.0.0', '1.0.0-rc.1', '1.0.0-alpha', '1.0.0-alpha.1', '0.9.9', '1.0.0-rc.10', '1.0.0-rc.2', '10.0.0', '2.0.0']
      .map((s) => parseVersion(s)!)
      .sort(compareVersions)
      .map((v) => v.raw);
    expect(sorted).toEqual(['0.9.9', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-rc.1', '1.0.0-rc.2', '1.0.0-rc.10', '1.0.0', '2.0.0', '10.0.0']);
    expect(parseVersion('1.2')).toBeUndefined();
    expect(parseVersion('01.2.3')).toBeUndefined();
  });

  it('matches ^ ~ x-ranges and exact versions', () => {
    const cases: Array<[string, string, boolean]> = [
      ['1.2.3', '1.2.3', true], ['1.2.4', '1.2.3', false], ['1.2.3', '=1.2.3', true],
      ['1.9.0', '^1', true], ['2.0.0', '^1', false], ['1.2.3', '^1.2', true], ['1.1.9', '^1.2', false],
      ['1.5.0', '^1.2.3', true], ['1.2.2', '^1.2.3', false],
      ['0.2.9', '^0.2.3', true], ['0.3.0', '^0.2.3', false], ['0.0.3', '^0.0.3', true], ['0.0.4', '^0.0.3', false],
      ['0.2.0', '^0.2', true], ['0.3.0', '^0.2', false],
      ['1.2.9', '~1.2', true], ['1.3.0', '~1.2', false], ['1.2.5', '~1.2.3', true], ['1.3.0', '~1.2.3', false], ['1.9.0', '~1', true],
      ['1.4.0', '1.x', true], ['2.0.0', '1.x', false], ['1.2.8', '1.2.x', true], ['1.3.0', '1.2.*', false], ['7.0.0', '*', true],
      ['1.3.0-rc.1', '^1', false], ['1.3.0-rc.1', '1.3.0-rc.1', true],
    ];
    for (const [v, r, want] of cases) expect(satisfies(parseVersion(v)!, r), `${v} in ${r}`).toBe(want);
  });
});

describe('registry', () => {
  it('resolves names, exact versions, ranges, latest and tags', () => {
    const r = registry();
    expect(resolve(r, 'tiny').version).toBe('1.10.1'); // newest release, not a prerelease
    expect(resolve(r, 'tiny@latest').version).toBe('1.10.1');
    expect(resolve(r, 'tiny@1.2.0').version).toBe('1.2.0');
    expect(resolve(r, 'tiny@^1').version).toBe('1.10.1');
    expect(resolve(r, 'tiny@~1.2').version).toBe('1.2.7');
    expect(resolve(r, 'tiny@1.2.x').version).toBe('1.2.7');
    expect(resolve(r, 'tiny@^0').version).toBe('0.9.0');
    expect(resolve(r, 'tiny@2.0.0-beta.2').version).toBe('2.0.0-beta.2');
    expect(resolve(r, 'qwen@stable').version).toBe('0.2.3');
    expect(resolve(r, 'qwen@^0.2').version).toBe('0.2.3');
    const tagged = addEntry(r, entry('tiny', '0.9.1', ['latest']));
    expect(resolve(tagged, 'tiny@latest').version).toBe('0.9.1'); // an explicit latest tag wins
  });

  it('fails clearly: unknown name/range/tag is NotFoundError, malformed spec is RegistryError', () => {
    const r = registry();
    expect(() => resolve(r, 'nope')).toThrow(expect.objectContaining({ name: 'NotFoundError' }));
    expect(() => resolve(r, 'tiny@^3')).toThrow(expect.objectContaining({ name: 'NotFoundError' }));
    expect(() => resolve(r, 'tiny@nightly')).toThrow(expect.objectContaining({ name: 'NotFoundError' }));
    expect(() => resolve(r, 'tiny@!!')).toThrow(expect.objectContaining({ name: 'RegistryError' }));
    expect(() => resolve(r, 'Bad Name')).toThrow(expect.objectContaining({ name: 'RegistryError' }));
    expect(parseSpec('@org/model@^1')).toEqual({ name: '@org/model', selector: { kind: 'range', range: '^1' } });
  });

  it('moves tags, refuses a conflicting republish, lists and searches', () => {
    let r = registry();
    r = addEntry(r, entry('qwen', '0.3.0', ['stable'], 'qwen2')); // same cid: update, tag moves
    expect(resolve(r, 'qwen@stable').version).toBe('0.3.0');
    expect(resolve(r, 'qwen@0.2.3').tags).toEqual([]);
    expect(() => addEntry(r, { ...entry('qwen', '0.3.0'), cid: 'bafy-other' })).toThrow(expect.objectContaining({ name: 'RegistryError' }));
    expect(list(r, 'qwen').map((e) => e.version)).toEqual(['0.3.0', '0.2.3']);
    expect(list(r).map((e) => e.name)[0]).toBe('qwen');
    expect(search(r, 'QWEN2').map((e) => `${e.name}@${e.version}`)).toEqual(['qwen@0.3.0']);
    expect(search(r, 'llama').map((e) => e.name)).toEqual(['tiny']);
  });

  it('exports and imports JSON losslessly, and rejects garbage', () => {
    const r = registry();
    const back = importRegistry(exportRegistry(r));
    expect(list(back)).toEqual(list(r));
    expect(() => importRegistry('{')).toThrow(expect.objectContaining({ name: 'RegistryError' }));
    expect(() => importRegistry({ schema: 'other', entries: [] })).toThrow(expect.objectContaining({ name: 'RegistryError' }));
    expect(() => importRegistry({ schema: 'tabshard-registry/1', entries: [{ name: 'x', version: 'one' }] }))
      .toThrow(expect.objectContaining({ name: 'RegistryError' }));
  });
});
