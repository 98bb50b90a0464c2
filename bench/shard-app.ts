// `npm run bench -- shard --app [--tokens 60] [--reps 3] [--kill-at 20] [--losses 3] [--no-build]` (also
// `npm run bench -- shard-app`): sharding as a person does it, through the app's own pages in
// headless Chromium. The built app (dist/, built first unless --no-build) is served with the demo
// model behind the local gateway (scripts/serve.ts, as `npm start` and the e2e runs do); a coordinator
// tab opens index.html, loads the demo model (stories260K) and answers alone, then presses Share
// (tabs of this browser: BroadcastChannel) and helper tabs open its join link one at a time, each
// with a store of its own (a `db=` in its link, so it fetches from the gateway as another device
// would), choose the CPU backend and press Join. Measured side by side in this one run:
//   - decode tokens/s (1000 / median token gap, best of --reps answers) and time to first token
//     (median) with the coordinator alone, and with 1, 2 and 3 helpers (even split, the Share
//     panel's default; the coordinator keeps the embedding and the head);
//   - what a join costs: seconds from opening the link to serving (the header read + the secret
//     proved), gateway blocks and bytes for the header and then for its range (counted where they
//     leave the browser), and the first answer after the join (it plans and loads the ranges);
//   - the gap in the token stream when a participant is lost: with 3 helpers, one tab navigates
//     away (pagehide: a goodbye, as a closed tab) right after token --kill-at, told through a
//     BroadcastChannel of the bench's own so the moment is exact; the gap to the next token
//     (re-plan, survivors fetch and load the lost range, re-prefill) against the median gap.
// Every room answer is checked against the single-device text for the same prompt (greedy).
// Figures on this machine are CPU-only (2 cores shared by every tab): read the ratios.
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { chromiumArgs } from '../playwright.config.ts';
import { serve } from '../scripts/serve.ts';

const opt = (args: string[], name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : dflt;
};

const PROMPTS = ['Once upon a time', 'The little dog', 'Lily and Tom went', 'One day a bird', 'The sun was'];

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

const gaps = (t: readonly number[]): number[] => t.slice(1).map((x, i) => x - t[i]!);

interface Answer { ttftMs: number; gapsMs: number[]; text: string; tokens: number; killedAfter?: number }

/** One answer through the app's engine (the chat's path: the room's generateVia once Share is on). */
async function answer(page: Page, prompt: string, maxTokens: number, kill?: { after: number; target: string }): Promise<Answer> {
  const r = await page.evaluate(async ({ prompt, maxTokens, kill }) => {
    type Gen = (o: { prompt: string; maxTokens: number }, onToken: () => void) => Promise<{ text: string }>;
    const engine = (window as unknown as { __tabshardEngine: { generate: Gen } }).__tabshardEngine;
    const bc = new BroadcastChannel('tabshard-bench-kill');
    const times: number[] = [];
    const t0 = performance.now();
    const res = await engine.generate({ prompt, maxTokens }, () => {
      times.push(performance.now());
      if (kill && times.length === kill.after) bc.postMessage(kill.target);
    });
    bc.close();
    return { t0, times, text: res.text };
  }, { prompt, maxTokens, kill });
  return { ttftMs: r.times[0]! - r.t0, gapsMs: gaps(r.times), text: r.text, tokens: r.times.length, killedAfter: kill?.after };
}

interface Timed { ttftMs: number; tokPerS: number; medianGapMs: number; sameText: boolean; answers: number }

/** `reps` answers after `warmups` untimed ones, prompts from PROMPTS[first] on (a new prompt each time, so no answer reuses the last one's cache). */
async function timed(page: Page, reps: number, maxTokens: number, reference: Map<string, string>, warmups: number, first: number): Promise<Timed> {
  const runs: Answer[] = [];
  for (let i = 0; i < warmups + reps; i++) {
    const prompt = PROMPTS[(first + i) % PROMPTS.length]!;
    const a = await answer(page, prompt, maxTokens);
    if (!reference.has(prompt)) reference.set(prompt, a.text);
    if (i >= warmups) runs.push({ ...a, text: a.text === reference.get(prompt) ? 'same' : 'DIFFERENT' });
  }
  const bestGap = Math.min(...runs.map((a) => median(a.gapsMs)));
  return { ttftMs: median(runs.map((a) => a.ttftMs)), tokPerS: 1000 / bestGap, medianGapMs: bestGap, sameText: runs.every((a) => a.text === 'same'), answers: runs.length };
}

interface GatewayUse { blocks: number; bytes: number }

/** Counts the /ipfs/ responses a page received (blocks and body bytes), from now on. */
function countGateway(page: Page): () => GatewayUse {
  const use = { blocks: 0, bytes: 0 };
  page.on('requestfinished', (req) => {
    if (!new URL(req.url()).pathname.startsWith('/ipfs/')) return;
    use.blocks++;
    void req.response().then((r) => r?.body()).then((b) => (use.bytes += b?.length ?? 0), () => undefined);
  });
  return () => ({ ...use });
}

interface LossRun { victimHolds: string; tokens: number; gapMs: number; medianGapMs: number; survivorsFetchedBlocks: number; sameText: boolean }

interface Join { helper: number; toServingS: number; header: GatewayUse; range: GatewayUse; firstAnswerTtftMs: number; holds: string }

async function openHelper(context: BrowserContext, link: string, n: number): Promise<{ page: Page; gateway: () => GatewayUse; toServingS: number; id: string }> {
  const u = new URL(link);
  u.searchParams.set('db', `bench-helper-${n}-${Date.now()}`);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`[helper ${n}] pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') console.log(`[helper ${n}] console.error: ${m.text()}`); });
  // Tabs of one browser share its HTTP cache; another device would not: each helper goes to the gateway.
  await (await context.newCDPSession(page)).send('Network.setCacheDisabled', { cacheDisabled: true });
  const gateway = countGateway(page);
  const t0 = performance.now();
  await page.goto(u.toString());
  await page.getByTestId('join-backend').selectOption('cpu');
  await page.getByTestId('join-room').click({ timeout: 60_000 });
  await page.getByTestId('join-status').and(page.locator('[data-state="serving"]')).waitFor({ timeout: 60_000 });
  const toServingS = (performance.now() - t0) / 1000;
  // The bench's own channel: "navigate away now" (a pagehide, as when the tab is closed).
  const id = `helper-${n}`;
  await page.evaluate((me) => {
    const bc = new BroadcastChannel('tabshard-bench-kill');
    (window as unknown as { __benchKill: BroadcastChannel }).__benchKill = bc;
    bc.onmessage = (e) => { if (e.data === me) location.href = 'about:blank'; };
  }, id);
  return { page, gateway, toServingS, id };
}

const pad = (s: string | number, n: number): string => String(s).padStart(n);

const HELP = `npm run bench -- shard --app [--tokens 60] [--reps 3] [--kill-at 20] [--losses 3] [--no-build]
  Sharding through the app's pages in headless Chromium (index.html + helper tabs over tabs):
  tokens/s and time to first token alone and with 1, 2, 3 helpers, what each join costs (seconds,
  gateway blocks and bytes), and the token gap when a helper is lost. JSON under bench/results.
  --tokens N    tokens per answer (greedy)          --reps N     timed answers per configuration
  --kill-at N   the lost helper goes after token N  --no-build   use dist/ as built
  --losses N    losses measured (a new helper joins after each)`;

export async function run(args: string[] = []): Promise<unknown> {
  if (args.includes('--help')) {
    console.log(HELP);
    return { help: true };
  }
  const maxTokens = Number(opt(args, '--tokens', '60'));
  const reps = Number(opt(args, '--reps', '3'));
  const killAt = Number(opt(args, '--kill-at', '20'));
  const lossReps = Number(opt(args, '--losses', '3'));
  const lossPrompt = PROMPTS[4]!;
  if (!args.includes('--no-build')) {
    const b = spawnSync('npx', ['vite', 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
    if (b.status !== 0) throw new Error(`vite build exited with ${b.status}`);
  }
  const { gateway: server } = await serve(0);
  const base = `http://localhost:${server.port}/`;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs });
  try {
    const context = await browser.newContext();
    const coord = await context.newPage();
    coord.on('pageerror', (e) => console.log(`[coordinator] pageerror: ${e.message}`));
    await coord.goto(`${base}?nosw`);
    await coord.getByTestId('load').click({ timeout: 60_000 });
    await coord.getByTestId('model-info').waitFor({ timeout: 60_000 });
    const loadedAs = (await coord.getByTestId('model-info').textContent())?.replace(/\s+/g, ' ').trim() ?? '';
    const reference = new Map<string, string>();
    console.log(`shard --app: demo model, ${maxTokens} tokens per answer, best of ${reps}; helpers on the CPU backend (f32 KV), the coordinator alone as the app loads it:\n  ${loadedAs}`);
    const single = await timed(coord, reps, maxTokens, reference, 1, 0);
    // The loss answer's prompt, on one device too (its text is what the room must give).
    reference.set(lossPrompt, (await answer(coord, lossPrompt, maxTokens)).text);

    await coord.getByTestId('start-room').click();
    const link = (await coord.locator('tabshard-shard-map').getByTestId('join-link').textContent())!.trim();
    const helpers: Awaited<ReturnType<typeof openHelper>>[] = [];
    const joins: Join[] = [];
    const rooms: Array<Timed & { helpers: number }> = [];
    for (let n = 1; n <= 3; n++) {
      const h = await openHelper(context, link, n);
      helpers.push(h);
      const header = h.gateway();
      await coord.bringToFront();
      // The first answer after a join plans over the new set of helpers and loads their ranges.
      const first = await answer(coord, PROMPTS[0]!, maxTokens).catch(async (e: unknown) => {
        console.log(`the first answer with ${n} helpers failed; the room's log:\n${await coord.getByTestId('room-log').innerText()}`);
        for (const [i, x] of helpers.entries()) console.log(`  helper ${i + 1}: ${x.page.isClosed() ? 'closed' : await x.page.getByTestId('join-status').innerText()}`);
        throw e;
      });
      if (first.text !== reference.get(PROMPTS[0]!)) console.log(`  !! ${n} helpers: the first answer differs from one device's`);
      const all = h.gateway();
      const holds = (await h.page.getByTestId('holds').textContent())?.trim() ?? '';
      joins.push({ helper: n, toServingS: h.toServingS, header, range: { blocks: all.blocks - header.blocks, bytes: all.bytes - header.bytes }, firstAnswerTtftMs: first.ttftMs, holds });
      rooms.push({ helpers: n, ...(await timed(coord, reps, maxTokens, reference, 0, 1)) });
    }

    // Losses: a helper's tab goes away right after token `killAt` of an answer; then a new helper
    // joins (and an answer plans it in), so the next loss is again one of 3. The first loss may
    // make survivors fetch the lost range's blocks; later ones may find them in their stores.
    const losses: LossRun[] = [];
    for (let r = 0; r < lossReps; r++) {
      const victim = helpers[1]!;
      const victimHolds = (await victim.page.getByTestId('holds').textContent())?.replace(/ \(.*/, '').trim() ?? '';
      const before = helpers.filter((h) => h !== victim).map((h) => h.gateway().blocks);
      const lost = await answer(coord, lossPrompt, maxTokens, { after: killAt, target: victim.id });
      const others = lost.gapsMs.filter((_, i) => i !== killAt - 1);
      const fetched = helpers.filter((h) => h !== victim).reduce((n, h, i) => n + h.gateway().blocks - before[i]!, 0);
      losses.push({
        victimHolds, tokens: lost.tokens, gapMs: lost.gapsMs[killAt - 1] ?? NaN, medianGapMs: median(others),
        survivorsFetchedBlocks: fetched, sameText: lost.text === reference.get(lossPrompt),
      });
      await victim.page.close();
      helpers.splice(1, 1);
      if (r + 1 < lossReps) {
        helpers.push(await openHelper(context, link, 4 + r));
        await coord.bringToFront();
        await answer(coord, PROMPTS[0]!, maxTokens);
      }
    }
    const replanned = (await coord.getByTestId('room-log').textContent())?.includes('re-planned') ?? false;
    const loss = { killedAfterToken: killAt, runs: losses, medianGapMs: median(losses.map((l) => l.gapMs)), replanned };

    console.log('\n  participants            TTFT ms   tok/s   vs alone   vs 1 helper   same text');
    const one = rooms[0]!;
    const row = (label: string, t: Timed) => console.log(`  ${label.padEnd(22)} ${pad(t.ttftMs.toFixed(1), 8)} ${pad(t.tokPerS.toFixed(1), 7)} ${pad((t.tokPerS / single.tokPerS).toFixed(2) + 'x', 10)} ${pad((t.tokPerS / one.tokPerS).toFixed(2) + 'x', 13)}   ${t.sameText ? 'yes' : 'NO'}`);
    row('coordinator alone', single);
    for (const r of rooms) row(`room, ${r.helpers} helper${r.helpers > 1 ? 's' : ''}`, r);
    console.log('\n  join     to serving s   header blocks/bytes   range blocks/bytes   1st answer TTFT ms   holds');
    for (const j of joins) console.log(`  helper ${j.helper} ${pad(j.toServingS.toFixed(2), 13)} ${pad(`${j.header.blocks} / ${j.header.bytes}`, 21)} ${pad(`${j.range.blocks} / ${j.range.bytes}`, 20)} ${pad(j.firstAnswerTtftMs.toFixed(0), 20)}   ${j.holds.replace(/ \(.*/, '')}`);
    console.log(`\n  loss after token ${killAt} (1 of 3 helpers)   gap ms   median gap ms   ratio   survivors fetched   same text`);
    for (const l of losses) console.log(`  ${`"${l.victimHolds}"`.padEnd(34)} ${pad(l.gapMs.toFixed(0), 8)} ${pad(l.medianGapMs.toFixed(1), 15)} ${pad((l.gapMs / l.medianGapMs).toFixed(0) + 'x', 7)} ${pad(l.survivorsFetchedBlocks + ' blocks', 19)}   ${l.sameText ? 'yes' : 'NO'}`);
    console.log(`  median loss gap ${loss.medianGapMs.toFixed(0)} ms; the room log says re-planned: ${replanned ? 'yes' : 'NO'}`);
    return { maxTokens, reps, coordinatorAlone: loadedAs, single, rooms, joins, loss, loadAverage: loadavg() };
  } finally {
    await browser.close();
    await server.close();
  }
}
