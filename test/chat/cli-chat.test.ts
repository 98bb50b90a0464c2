// `tabshard chat` as a user runs it: a child process driven through stdin (two turns, then /reset),
// Ctrl-C (SIGINT) during an answer, and the non-interactive --messages --json mode.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const MODEL = 'test/fixtures/stories260K-f32.gguf';
const BASE = ['bin/tabshard.js', 'chat', '--model', MODEL, '--backend', 'cpu'];

interface Child { stdout: string; stderr: string; code: number | null; write(s: string): void; end(): void; signal(): void; waitFor(re: RegExp, where?: 'stdout' | 'stderr'): Promise<void>; done: Promise<void> }

function start(args: string[]): Child {
  const p = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const c: Child = {
    stdout: '', stderr: '', code: null,
    write: (s) => { p.stdin.write(s); },
    end: () => { p.stdin.end(); },
    signal: () => { p.kill('SIGINT'); },
    waitFor: (re, where = 'stderr') => new Promise((resolve) => {
      const check = (): void => { if (re.test(c[where])) { p.stdout.off('data', check); p.stderr.off('data', check); resolve(); } };
      p.stdout.on('data', check);
      p.stderr.on('data', check);
      check();
    }),
    done: new Promise((resolve) => p.on('close', (code) => { c.code = code; resolve(); })),
  };
  p.stdout.on('data', (d: Buffer) => { c.stdout += d.toString(); });
  p.stderr.on('data', (d: Buffer) => { c.stderr += d.toString(); });
  return c;
}

const summaries = (stderr: string) => [...stderr.matchAll(/\[(\d+) prompt tokens: (\d+) reused, (\d+) prefilled.*?\((\w+)\)/g)]
  .map((m) => ({ prompt: Number(m[1]), reused: Number(m[2]), prefilled: Number(m[3]), stoppedBy: m[4] }));

describe('tabshard chat', () => {
  it('two turns through stdin, then /reset: turn 2 reuses turn 1, the reset conversation starts over', async () => {
    const c = start([...BASE, '--max-tokens', '10', '--system', 'Stories.']);
    c.write('Once upon a time\nThe cat sat\n/reset\nOnce upon a time\n');
    c.end();
    await c.done;
    expect(c.code).toBe(0);
    const s = summaries(c.stderr);
    expect(s).toHaveLength(3);
    expect(s[1]!.reused).toBeGreaterThan(s[0]!.prompt);
    expect(s[1]!.prefilled).toBe(s[1]!.prompt - s[1]!.reused);
    expect(c.stderr).toContain('(conversation reset)');
    expect(s[2]!.prompt).toBe(s[0]!.prompt);
    const answers = c.stdout.split('\n').filter(Boolean);
    expect(answers).toHaveLength(3);
    expect(answers[2]).toBe(answers[0]);
  });

  it('Ctrl-C stops the answer, not the program', async () => {
    const c = start([...BASE, '--max-tokens', '480', '--ctx', '512']);
    c.write('Once upon a time\n');
    await c.waitFor(/\S/, 'stdout');
    c.signal();
    await c.waitFor(/\(abort\)/);
    c.write('The end\n');
    c.end();
    await c.done;
    expect(c.code).toBe(0);
    const s = summaries(c.stderr);
    expect(s.map((x) => x.stoppedBy)).toEqual(['abort', expect.stringMatching(/max|eos/)]);
  });

  it('--messages FILE.json --json answers one conversation', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tabshard-chat-')), 'm.json');
    writeFileSync(file, JSON.stringify({ messages: [{ role: 'user', content: 'Once upon a time' }] }));
    const c = start([...BASE, '--messages', file, '--json', '--max-tokens', '5']);
    c.end();
    await c.done;
    expect(c.code).toBe(0);
    const r = JSON.parse(c.stdout) as { text: string; tokens: number[]; format: string; messages: Array<{ role: string; content: string }> };
    expect(r.tokens).toHaveLength(5);
    expect(r.format).toBe('plain');
    expect(r.messages.at(-1)).toEqual({ role: 'assistant', content: r.text });
  });

  it('chat and template answer --help', async () => {
    for (const cmd of ['chat', 'template']) {
      const c = start(['bin/tabshard.js', cmd, '--help']);
      c.end();
      await c.done;
      expect(c.code).toBe(0);
      expect(c.stdout).toMatch(new RegExp(`^usage: tabshard ${cmd}`));
    }
  });
});
