// Shard rooms across tabs of one browser context (BroadcastChannel transport): a 3-way split gives
// the single-device greedy text; a tab closed mid-answer, a tab without the room secret, and a tab
// sending corrupted activations are each handled. Pages run the CPU backend (see shard.ts: SwiftShader
// WebGPU would make these minutes long); Chromium only, since the transport code is the same in
// every engine and the WebRTC run covers Firefox.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import type { RunOptions, RunResult } from './pages/shard.ts';
import { artifact, watchErrors } from './helpers.ts';

const ref = JSON.parse(readFileSync('test/fixtures/ref/stories260K-f32.json', 'utf8')) as { generated_text_only: string; generated_tokens: number[] };

interface Room { id: string; secret: string }
const newRoom = (): Room => ({ id: randomBytes(6).toString('hex'), secret: randomBytes(24).toString('hex') });
const fragment = (r: Room): string => `#room=${r.id}&secret=${r.secret}`;

async function open(ctx: BrowserContext, query: string, room: Room): Promise<Page> {
  const page = await ctx.newPage();
  await page.goto(`e2e/pages/shard.html?${query}${fragment(room)}`);
  await page.waitForFunction(() => (window as unknown as { shard?: { ready: boolean; error?: string } }).shard?.ready || (window as unknown as { shard?: { error?: string } }).shard?.error);
  return page;
}

function run(page: Page, o: RunOptions): Promise<RunResult> {
  return page.evaluate((opts) => (window as unknown as { shard: { run(o: RunOptions): Promise<RunResult> } }).shard.run(opts), o);
}

const state = (p: Page): Promise<string> => p.evaluate(() => (window as unknown as { shard: { state: string } }).shard.state);

test.beforeEach(({ browserName }) => test.skip(browserName !== 'chromium', 'tabs transport: Chromium covers it; Firefox runs in the WebRTC suite'));

test('three tabs split the demo model three ways and give the single-device greedy text', async ({ context }, info) => {
  const room = newRoom();
  const coord = await open(context, 'role=coordinator&id=c0&cap=2', room);
  const errors = watchErrors(coord);
  const parts = [await open(context, 'role=participant&id=p1&cap=2', room), await open(context, 'role=participant&id=p2&cap=2', room)];
  const res = await run(coord, { participants: 2, self: true });
  expect(res.stages).toHaveLength(3); // the planner needs all three: each tab has room for 2 of 5 layers
  expect(res.text).toBe(ref.generated_text_only);
  expect(res.tokens).toEqual(ref.generated_tokens);
  expect(res.lost).toEqual([]);
  for (const p of parts) expect(await p.evaluate(() => (window as unknown as { shard: { served: number } }).shard.served)).toBeGreaterThan(0);
  await coord.bringToFront(); // a background tab paints no frames, so a screenshot of it would wait
  await expect(coord.getByTestId('output')).toHaveText(ref.generated_text_only);
  await expect(coord.locator('tabshard-shard-map').getByTestId('qr')).toBeVisible();
  await expect(coord.locator('tabshard-shard-map').getByTestId('join-link')).toContainText(`room=${room.id}`);
  await artifact(coord, info, 'shard-map');
  expect(errors).toEqual([]);
});

test('a tab closed mid-answer: the answer completes with the same text', async ({ context }) => {
  const room = newRoom();
  const coord = await open(context, 'role=coordinator&id=c0&cap=3', room);
  // Slowed a little per layers call, so the answer is still running when the tab goes.
  const p1 = await open(context, 'role=participant&id=p1&cap=3&delay=20', room);
  await open(context, 'role=participant&id=p2&cap=3&delay=20', room);
  const answer = run(coord, { participants: 2, self: true, even: true });
  await coord.waitForFunction(() => (window as unknown as { shard: { tokens: number } }).shard.tokens >= 10);
  await p1.close({ runBeforeUnload: true });
  const res = await answer;
  expect(res.text).toBe(ref.generated_text_only);
  expect(res.lost).toHaveLength(1);
  expect(res.lost[0]!.participant).toBe('p1');
  expect(['bye', 'closed']).toContain(res.lost[0]!.reason);
  expect(res.stats.replans).toBe(1);
  expect(res.stages.join(' ')).not.toContain('p1');
});

test('a tab without the room secret is refused and never gets a range', async ({ context }) => {
  const room = newRoom();
  const coord = await open(context, 'role=coordinator&id=c0', room);
  const good = await open(context, 'role=participant&id=p1', room);
  const bad = await open(context, 'role=participant&id=intruder', { id: room.id, secret: 'guessed-secret-0000' });
  await expect.poll(() => state(bad)).toBe('refused');
  const res = await run(coord, { participants: 1, maxTokens: 8 });
  expect(res.refused).toEqual(['intruder']);
  expect(res.stages.join(' ')).not.toContain('intruder');
  expect(res.text).toBe(ref.generated_text_only.slice(0, res.text.length));
  expect(await state(good)).toBe('dropped'); // the run ended: the coordinator said goodbye
  await expect(bad.getByTestId('status')).toContainText('refused');
});

test('a tab sending corrupted activations is dropped and its range re-planned', async ({ context }) => {
  const room = newRoom();
  const coord = await open(context, 'role=coordinator&id=c0&cap=3', room);
  const liar = await open(context, 'role=participant&id=p1&cap=3&corrupt=nan&corruptAfter=5', room);
  await open(context, 'role=participant&id=p2&cap=3', room);
  const res = await run(coord, { participants: 2, self: true, even: true });
  expect(res.text).toBe(ref.generated_text_only);
  expect(res.lost).toEqual([{ participant: 'p1', reason: 'frame' }]);
  expect(res.stages.join(' ')).not.toContain('p1');
  await expect.poll(() => state(liar)).toBe('dropped');
});
