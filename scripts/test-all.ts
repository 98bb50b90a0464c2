// The whole test suite: Vitest in Node (unit + kernel tests on Dawn), the Vite build, Playwright e2e
// in Chromium and Firefox, and WebKitGTK through WebDriver under Xvfb. Every step runs even when an
// earlier one fails, so one run shows every failure; the exit code is non-zero if anything failed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, readFileSync } from 'node:fs';

interface Step {
  name: string;
  cmd: string[];
  env?: Record<string, string>;
  count?: () => { passed: number; failed: number; flaky?: number };
}

// Stale reports from an earlier run must never count.
for (const f of ['vitest.json', 'playwright.json', 'webkit.json']) rmSync(`test-results/${f}`, { force: true });
mkdirSync('test-results', { recursive: true });

function vitestCounts() {
  const j = JSON.parse(readFileSync('test-results/vitest.json', 'utf8')) as { numPassedTests: number; numFailedTests: number };
  return { passed: j.numPassedTests, failed: j.numFailedTests };
}

function playwrightCounts() {
  const j = JSON.parse(readFileSync('test-results/playwright.json', 'utf8')) as { stats: { expected: number; unexpected: number; flaky: number } };
  return { passed: j.stats.expected + j.stats.flaky, failed: j.stats.unexpected, flaky: j.stats.flaky };
}

const only = process.argv.slice(2);
const steps: Step[] = [
  { name: 'typecheck (tsc)', cmd: ['npx', 'tsc', '--noEmit', '-p', '.'] },
  {
    name: 'unit+kernels (vitest, Dawn in Node)',
    cmd: ['npx', 'vitest', 'run', '--reporter=default', '--reporter=json', '--outputFile.json=test-results/vitest.json'],
    count: vitestCounts,
  },
  { name: 'build (vite)', cmd: ['npx', 'vite', 'build', '--logLevel', 'warn'] },
  {
    name: 'e2e chromium+firefox (playwright)',
    cmd: ['npx', 'playwright', 'test', '--reporter=list,json'],
    env: { PLAYWRIGHT_JSON_OUTPUT_NAME: 'test-results/playwright.json' },
    count: playwrightCounts,
  },
  // WebRTC between Chromium and Firefox, inside a network namespace the script makes (needs root).
  { name: 'e2e webrtc (netns)', cmd: ['bash', 'e2e/webrtc/run.sh'] },
  {
    name: 'e2e webkitgtk (webdriver)',
    cmd: ['xvfb-run', '-a', 'node', 'e2e/webkit/run.ts'],
    count: () => JSON.parse(readFileSync('test-results/webkit.json', 'utf8')) as { passed: number; failed: number },
  },
];

let passed = 0;
let failed = 0;
const lines: string[] = [];
for (const s of steps) {
  if (only.length && !only.some((o) => s.name.includes(o))) continue;
  const t0 = Date.now();
  console.log(`\n=== ${s.name}: ${s.cmd.join(' ')}`);
  const r = spawnSync(s.cmd[0], s.cmd.slice(1), { stdio: 'inherit', env: { ...process.env, ...s.env } });
  const ok = r.status === 0;
  let c: { passed: number; failed: number; flaky?: number } = { passed: ok ? 1 : 0, failed: ok ? 0 : 1 };
  if (s.count) {
    try {
      c = s.count();
      if (!ok && c.failed === 0) c.failed = 1; // the runner failed without a failing test (e.g. crashed)
    } catch {
      // no report written: the step counts as one failure
    }
  }
  passed += c.passed;
  failed += c.failed;
  lines.push(`${ok ? 'ok  ' : 'FAIL'} ${s.name}: ${c.passed} passed${c.flaky ? ` (${c.flaky} flaky: failed once, passed on the retry)` : ''}, ${c.failed} failed (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}
console.log(`\n${lines.join('\n')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
