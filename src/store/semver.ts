// A minimal semver: parse/compare x.y.z[-pre][+build] and match exact, ^, ~, x-ranges and `*`.
// Hand-written because no semver package is installed and the registry needs only this much.
// Prereleases only match a range that names the same x.y.z with a prerelease (npm's rule, simplified).

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  prerelease: string[];
  raw: string;
}

const VERSION = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-.]+)?$/;

export function parseVersion(text: string): SemVer | undefined {
  const m = VERSION.exec(text.trim());
  if (!m) return undefined;
  return { major: +m[1]!, minor: +m[2]!, patch: +m[3]!, prerelease: m[4] ? m[4].split('.') : [], raw: text.trim() };
}

function comparePre(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return b.length - a.length; // a release sorts after its prereleases
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny && +x !== +y) return +x - +y;
    if (nx !== ny) return nx ? -1 : 1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export function compareVersions(a: SemVer, b: SemVer): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch || comparePre(a.prerelease, b.prerelease);
}

/** A range as half-open bounds on (major, minor, patch). */
interface Bounds {
  lo: SemVer;
  hi: SemVer | undefined;
  /** Exact version (incl. prerelease) for `1.2.3-rc.1`. */
  exact: SemVer | undefined;
}

const v = (major: number, minor: number, patch: number, prerelease: string[] = []): SemVer =>
  ({ major, minor, patch, prerelease, raw: `${major}.${minor}.${patch}` });

const WILD = new Set(['x', 'X', '*']);

function partialBounds(op: '' | '^' | '~', text: string): Bounds | undefined {
  const full = parseVersion(text);
  if (full) {
    const { major: M, minor: m, patch: p } = full;
    if (op === '') return { lo: full, hi: undefined, exact: full };
    const hi = op === '~' ? v(M, m + 1, 0) : M > 0 ? v(M + 1, 0, 0) : m > 0 ? v(0, m + 1, 0) : v(0, 0, p + 1);
    return { lo: full, hi, exact: undefined };
  }
  const parts = text.replace(/^v/, '').split('.');
  if (parts.length > 3 || parts.some((s) => !/^\d+$/.test(s) && !WILD.has(s))) return undefined;
  const nums: number[] = [];
  for (const s of parts) {
    if (WILD.has(s)) break;
    nums.push(+s);
  }
  const [M, m] = nums;
  if (M === undefined) return { lo: v(0, 0, 0), hi: undefined, exact: undefined };
  if (m === undefined) return { lo: v(M, 0, 0), hi: v(M + 1, 0, 0), exact: undefined };
  // `1.2`, `~1.2`, `1.2.x`; `^0.2` stays within 0.2, `^1.2` within 1.
  const hi = op === '^' && M > 0 ? v(M + 1, 0, 0) : v(M, m + 1, 0);
  return { lo: v(M, m, 0), hi, exact: undefined };
}

export function parseRange(text: string): Bounds | undefined {
  const t = text.trim();
  if (t === '' || t === '*' || t === 'x' || t === 'X') return { lo: v(0, 0, 0), hi: undefined, exact: undefined };
  const op = t[0] === '^' || t[0] === '~' ? (t[0] as '^' | '~') : '';
  const rest = op ? t.slice(1) : t.replace(/^=/, '');
  return partialBounds(op, rest);
}

export function satisfies(version: SemVer, range: string): boolean {
  const b = parseRange(range);
  if (!b) return false;
  if (b.exact) return compareVersions(version, b.exact) === 0;
  if (version.prerelease.length > 0) return false;
  return compareVersions(version, b.lo) >= 0 && (!b.hi || compareVersions(version, b.hi) < 0);
}

export function isValidRange(text: string): boolean {
  return parseRange(text) !== undefined;
}
