// `npm run bench -- shard-webrtc [--tokens 200] [--repeat 4] [--pings 200] [--no-firefox] [--dist DIR]`
// (also run by `npm run bench -- shard --webrtc`, which puts this result beside the Node figures):
// what a WebRTC hop costs between real browsers, on the demo model (stories260K: n_embd 64, so a
// hop carries 256 bytes of f32 activations and is almost pure latency).
//
// It runs itself inside a network namespace made by bench/netns.sh (unshare -n + a veth pair + a
// default route, as e2e/webrtc/run.sh and BROWSER_LAB.md do), so ICE sees only the namespace's
// addresses and nothing touches the machine's real interface; without root it is skipped and says
// why. Inside, it serves the built app (scripts/serve.ts, as the e2e runs do), starts both relays
// (`tabshard relay` and `tabshard relay --libp2p`, as child processes), and drives headless Chromium
// (and Firefox) pages of e2e/pages/shard.html (window.shard; CPU backends, see that page) as the
// coordinator and the participants:
//   - decode ms/token with the coordinator alone (it holds all 5 layers: no hop), and with 1 and 2
//     remote Chromium participants (the coordinator keeps a range too; even split, so N remotes =
//     N round trips per token), and with 1 Firefox participant, over (a) WebRTC signaled by the
//     WebSocket relay and (b) js-libp2p WebRTC (signaled through circuit relay v2);
//   - time added per hop: (ms/token with N remotes − ms/token alone) / N;
//   - a bare round trip: the shard protocol's ping over each link (a small JSON message each way);
//   - the loss of one of 2 Chromium participants: its page is closed mid-answer (pagehide →
//     goodbye), and the time from the coordinator seeing the loss to the next token (re-plan, load
//     of the moved ranges, re-prefill of their KV caches), against the median gap; every page has
//     room for 3 of the 5 layers, so the survivors stay a pipeline; the text is checked against one
//     device.
// Timing: every answer runs to --tokens without stopping at end-of-text (so every configuration
// decodes the same positions); per configuration --repeat answers on the same pages and links, the
// first one a warm-up, and the figure is the best of the others' median token gaps (the machine
// has 2 cores shared with the browsers, so single gaps are noisy).
// Why a suite of its own: it needs root, the system browsers and a built dist/ (`npx vite build`),
// none of which the Node part of `bench shard` needs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, firefox, type Browser, type Page } from 'playwright-core';
import type { RunOptions, RunResult } from '../e2e/pages/shard.ts';
import { chromiumArgs, firefoxPrefs } from '../playwright.config.ts';
import { serve } from '../scripts/serve.ts';

const opt = (args: string[], name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : dflt;
};

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

const gaps = (times: readonly number[]): number[] => times.slice(1).map((t, i) => t - times[i]!);

const SKIP_NOT_ROOT = 'needs root: it makes its own network namespace (unshare -n, a veth pair) so WebRTC never touches the real interface';

export async function run(args: string[]): Promise<unknown> {
  if (process.env.TABSHARD_BENCH_NETNS === '1') return measure(args);
  if (process.getuid?.() !== 0) {
    console.log(`shard-webrtc: skipped: ${SKIP_NOT_ROOT}`);
    return { skipped: SKIP_NOT_ROOT };
  }
  // The measuring process itself lives in the namespace (the servers, relays and browsers it starts
  // inherit it); it hands its result back through a file.
  const dir = mkdtempSync(join(tmpdir(), 'tabshard-shard-webrtc-'));
  try {
    const out = join(dir, 'result.json');
    const r = spawnSync('bash', ['bench/netns.sh', process.execPath, fileURLToPath(import.meta.url), '--result', out, ...args], {
      stdio: 'inherit', env: { ...process.env, TABSHARD_BENCH_NETNS: '1' },
    });
    if (r.status !== 0) throw new Error(`shard-webrtc in its network namespace exited with ${r.status ?? r.signal}`);
    return JSON.parse(readFileSync(out, 'utf8')) as unknown;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts `tabshard relay [--libp2p] --port 0` and resolves with the address it prints. */
function startRelay(libp2p: boolean): Promise<{ proc: ChildProcess; addr: string }> {
  const proc = spawn(process.execPath, ['bin/tabshard.js', 'relay', '--port', '0', '--quiet', ...(libp2p ? ['--libp2p'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const re = libp2p ? /listening on (\/ip4\/127\.0\.0\.1\/\S+\/ws\/p2p\/\S+)/ : /listening on (ws:\/\/\S+)/;
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => { proc.kill('SIGTERM'); reject(new Error(`the relay printed no address within 30 s: ${out}`)); }, 30_000);
    proc.once('exit', (code) => reject(new Error(`the relay exited (${code}): ${out}`)));
    proc.stdout!.on('data', (d: Buffer) => {
      out += String(d);
      const m = re.exec(out);
      if (m) { clearTimeout(t); resolve({ proc, addr: m[1]! }); }
    });
  });
}

interface Ctx { base: string; cr: Browser; ff: Browser | undefined }
interface Room { id: string; secret: string }
const newRoom = (): Room => ({ id: randomBytes(6).toString('hex'), secret: randomBytes(24).toString('hex') });

async function open(ctx: Ctx, browser: Browser, relay: string, query: string, room: Room): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', (e) => console.log(`[${query}] pageerror: ${e.message}`));
  await page.goto(`${ctx.base}?transport=webrtc&relay=${encodeURIComponent(relay)}&${query}#room=${room.id}&secret=${room.secret}`);
  await page.waitForFunction(() => {
    const s = (window as unknown as { shard?: { ready: boolean; error?: string } }).shard;
    return s?.ready || s?.error;
  }, undefined, { timeout: 60_000 });
  const err = await page.evaluate(() => (window as unknown as { shard: { error?: string } }).shard.error);
  if (err) throw new Error(`[${query}] ${err}`);
  return page;
}

const runOn = (page: Page, o: RunOptions): Promise<RunResult> =>
  page.evaluate((opts) => (window as unknown as { shard: { run(o: RunOptions): Promise<RunResult> } }).shard.run(opts), o);

interface Config { label: string; transport: 'none' | 'websocket' | 'libp2p'; remotes: ('chromium' | 'firefox')[] }

/** Opens the pages of one configuration, runs `o` on the coordinator (and `during` meanwhile), closes them. */
async function withRoom(ctx: Ctx, relay: string, remotes: Config['remotes'], o: RunOptions, during?: (coord: Page, parts: Page[]) => Promise<void>, extra = ''): Promise<{ res: RunResult; serveMs: number[][] }> {
  const room = newRoom();
  const pages: Page[] = [];
  try {
    const coord = await open(ctx, ctx.cr, relay, `role=coordinator&id=c0${extra}`, room);
    pages.push(coord);
    const parts: Page[] = [];
    for (const [i, b] of remotes.entries()) {
      const browser = b === 'firefox' ? ctx.ff! : ctx.cr;
      parts.push(await open(ctx, browser, relay, `role=participant&id=p${i + 1}-${b}${extra}`, room));
    }
    pages.push(...parts);
    const answer = runOn(coord, o);
    await during?.(coord, parts);
    const res = await answer;
    const serveMs: number[][] = [];
    for (const p of parts) {
      if (p.isClosed()) continue;
      const ms = await p.evaluate(() => (window as unknown as { shard: { serveMs?: number[] } }).shard.serveMs);
      if (!ms) throw new Error('the participant page has no serveMs: rebuild dist/ (`npx vite build`)');
      serveMs.push(ms);
    }
    return { res, serveMs };
  } finally {
    for (const p of pages) await p.context().close().catch(() => undefined);
  }
}

interface Row {
  label: string;
  transport: Config['transport'];
  remotes: Config['remotes'];
  hops: number;
  stages?: string[];
  msPerToken?: number;
  tokensPerSecond?: number;
  /** Median gap of each answer (the first is the warm-up). */
  answerMedians?: number[];
  pingMs?: { median: number; p10: number; p90: number; n: number };
  /** Sum over the remotes of the median time a layers call took inside the participant page. */
  remoteComputeMs?: number;
  sameTextAsOneDevice?: boolean;
  error?: string;
}

/** One configuration's row, and the text of its last answer (the reference, for the one-device row). */
async function measureConfig(ctx: Ctx, relays: Record<'websocket' | 'libp2p', string>, c: Config, o: { tokens: number; repeat: number; pings: number }, refText: string | undefined): Promise<{ row: Row; text?: string }> {
  const row: Row = { label: c.label, transport: c.transport, remotes: c.remotes, hops: c.remotes.length };
  try {
    const relay = relays[c.transport === 'libp2p' ? 'libp2p' : 'websocket'];
    const { res, serveMs } = await withRoom(ctx, relay, c.remotes, {
      participants: c.remotes.length, self: true, even: true, maxTokens: o.tokens, stopAtEog: false,
      repeat: o.repeat, pings: c.remotes.length === 1 ? o.pings : 0,
    });
    row.stages = res.stages;
    // Per token, each remote answers one layers call: the median of its answers is its compute.
    row.remoteComputeMs = serveMs.reduce((n, ms) => n + median(ms), 0);
    row.answerMedians = res.answers.map((a) => median(gaps(a.tokenTimes)));
    const timed = row.answerMedians.length > 1 ? row.answerMedians.slice(1) : row.answerMedians;
    row.msPerToken = Math.min(...timed);
    row.tokensPerSecond = 1000 / row.msPerToken;
    const ping = res.pings[0]?.ms ?? [];
    if (ping.length) row.pingMs = { median: median(ping), p10: quantile(ping, 0.1), p90: quantile(ping, 0.9), n: ping.length };
    row.sameTextAsOneDevice = refText === undefined ? true : res.text === refText;
    if (res.lost.length) row.error = `lost ${JSON.stringify(res.lost)} during a plain run`;
    return { row, text: res.text };
  } catch (e) {
    row.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return { row };
  }
}

interface LossRow {
  transport: 'websocket' | 'libp2p';
  msFromLossToNextToken?: number;
  gapAcrossLossMs?: number;
  medianGapMs?: number;
  reason?: string;
  stagesAfter?: string[];
  replans?: number;
  rebuiltTokens?: number;
  sameTextAsOneDevice?: boolean;
  error?: string;
}

/**
 * Two Chromium participants; p1's page is closed once `closeAt` tokens are out. Every page may hold
 * 3 of the 5 layers (`cap=3`), so the re-plan must keep the surviving remote in the pipeline (with
 * room for everything, the planner would take the whole model home to the coordinator, and the
 * figure would say nothing about the transport).
 */
async function measureLoss(ctx: Ctx, relay: string, transport: LossRow['transport'], tokens: number, closeAt: number, refText: string | undefined): Promise<LossRow> {
  const row: LossRow = { transport };
  try {
    const { res } = await withRoom(ctx, relay, ['chromium', 'chromium'], { participants: 2, self: true, even: true, maxTokens: tokens, stopAtEog: false }, async (coord, parts) => {
      await coord.waitForFunction((n) => (window as unknown as { shard: { tokens: number } }).shard.tokens >= n, closeAt, { polling: 2, timeout: 120_000 });
      await parts[0]!.close({ runBeforeUnload: true });
    }, '&cap=3');
    const times = res.answers[0]!.tokenTimes;
    const loss = res.lossTimes[0];
    if (!loss) throw new Error(`no loss seen (the answer ended first? ${times.length} tokens)`);
    const next = times.findIndex((t) => t > loss.at);
    if (next < 1) throw new Error(`no token after the loss (${times.length} tokens)`);
    row.msFromLossToNextToken = times[next]! - loss.at;
    row.gapAcrossLossMs = times[next]! - times[next - 1]!;
    row.medianGapMs = median(gaps(times));
    row.reason = res.lost[0]!.reason;
    row.stagesAfter = res.stages;
    row.replans = res.stats.replans;
    row.rebuiltTokens = res.stats.rebuiltTokens;
    row.sameTextAsOneDevice = refText === undefined ? undefined : res.text === refText;
  } catch (e) {
    row.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  }
  return row;
}

const f = (x: number | undefined, d = 2): string => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));

async function measure(args: string[]): Promise<unknown> {
  const tokens = Number(opt(args, '--tokens', '200'));
  const repeat = Number(opt(args, '--repeat', '4'));
  const pings = Number(opt(args, '--pings', '200'));
  const withFirefox = !args.includes('--no-firefox');
  const dist = opt(args, '--dist', 'dist');
  if (!existsSync(join(dist, 'e2e/pages/shard.html'))) throw new Error(`${dist}/e2e/pages/shard.html is missing: run \`npx vite build\` first (or pass --dist DIR)`);
  // Everything started here is stopped in `finally`, also when a later start fails (a relay left
  // running would keep the namespace alive).
  const cleanup: (() => Promise<unknown> | void)[] = [];
  try {
    const { gateway } = await serve(0, dist);
    cleanup.push(() => gateway.close());
    const ws = await startRelay(false);
    cleanup.push(() => { ws.proc.kill('SIGTERM'); });
    const lp = await startRelay(true);
    cleanup.push(() => { lp.proc.kill('SIGTERM'); });
    const relays = { websocket: ws.addr, libp2p: lp.addr };
    // Flags and prefs from BROWSER_LAB.md (as the e2e/webrtc specs use): host candidates as plain
    // addresses, since mDNS names cannot be resolved in the namespace.
    const cr = await chromium.launch({ executablePath: '/usr/bin/chromium', args: [...chromiumArgs, '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns'] });
    cleanup.push(() => cr.close());
    const ff = withFirefox
      ? await firefox.launch({
        channel: 'moz-firefox', executablePath: '/usr/bin/firefox-esr',
        firefoxUserPrefs: { ...firefoxPrefs, 'media.peerconnection.ice.obfuscate_host_addresses': false, 'media.peerconnection.ice.loopback': true },
      })
      : undefined;
    if (ff) cleanup.push(() => ff.close());
    const ctx: Ctx = { base: `http://127.0.0.1:${gateway.port}/e2e/pages/shard.html`, cr, ff };
    const t0 = performance.now();
    const o = { tokens, repeat, pings };
    const { row: alone, text: refText } = await measureConfig(ctx, relays, { label: 'one device (Chromium)', transport: 'none', remotes: [] }, o, undefined);
    console.log(`one device: ${f(alone.msPerToken)} ms/token${alone.error ? ` (${alone.error})` : ''}`);
    const rows: Row[] = [alone];
    const losses: LossRow[] = [];
    for (const transport of ['websocket', 'libp2p'] as const) {
      const name = transport === 'websocket' ? 'WebRTC (WebSocket relay)' : 'js-libp2p WebRTC';
      const configs: Config[] = [
        { label: `${name}, 1 Chromium participant`, transport, remotes: ['chromium'] },
        { label: `${name}, 2 Chromium participants`, transport, remotes: ['chromium', 'chromium'] },
        ...(ff ? [{ label: `${name}, 1 Firefox participant`, transport, remotes: ['firefox'] } as Config] : []),
      ];
      for (const c of configs) {
        const { row: r } = await measureConfig(ctx, relays, c, o, refText);
        rows.push(r);
        console.log(`${c.label}: ${f(r.msPerToken)} ms/token${r.pingMs ? `, ping ${f(r.pingMs.median, 3)} ms` : ''}${r.error ? ` (${r.error})` : ''}`);
      }
      const l = await measureLoss(ctx, relays[transport], transport, tokens, 20, refText);
      losses.push(l);
      console.log(`${name}, loss: ${f(l.msFromLossToNextToken, 1)} ms to the next token${l.error ? ` (${l.error})` : ''}`);
    }
    const single = alone.msPerToken ?? NaN;
    const table = rows.map((r) => ({
      ...r,
      ratioToOneDevice: (r.msPerToken ?? NaN) / single,
      addedMsPerHop: r.hops ? ((r.msPerToken ?? NaN) - single) / r.hops : 0,
    }));
    console.log(`\nstories260K, CPU backends in the pages, ${tokens} tokens per answer, best of ${Math.max(1, repeat - 1)} answers after a warm-up (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    console.log('(remote ms: the participants\' own time per layers call, summed over the remotes; ping: the median bare round trip)');
    console.log(`${'configuration'.padEnd(50)} ${'hops'.padStart(4)} ${'ms/token'.padStart(9)} ${'tok/s'.padStart(6)} ${'× alone'.padStart(8)} ${'+ms/hop'.padStart(8)} ${'remote ms'.padStart(9)} ${'ping ms'.padStart(8)}  same text`);
    for (const r of table) {
      console.log(`${r.label.padEnd(50)} ${String(r.hops).padStart(4)} ${f(r.msPerToken).padStart(9)} ${f(r.tokensPerSecond, 0).padStart(6)} ${f(r.ratioToOneDevice).padStart(8)} ${f(r.addedMsPerHop, 3).padStart(8)} ${f(r.remoteComputeMs, 3).padStart(9)} ${f(r.pingMs?.median, 3).padStart(8)}  ${r.error ? `ERROR ${r.error}` : r.sameTextAsOneDevice ? 'yes' : 'NO'}`);
    }
    console.log(`\nloss: 2 Chromium participants, p1's page closed after 20 of ${tokens} tokens (every page has room for 3 of 5 layers)`);
    console.log(`${'transport'.padEnd(10)} ${'loss→next ms'.padStart(12)} ${'gap ms'.padStart(8)} ${'median gap'.padStart(10)}  reason, re-plans, rebuilt tokens, stages after, same text`);
    console.log('(loss→next: from the coordinator seeing the loss to the next token: re-plan, range loads, KV re-prefill; gap: the token gap across the loss, which adds the wait for the closing page while a call to it was in flight)');
    for (const l of losses) {
      console.log(`${l.transport.padEnd(10)} ${f(l.msFromLossToNextToken, 1).padStart(12)} ${f(l.gapAcrossLossMs, 1).padStart(8)} ${f(l.medianGapMs).padStart(10)}  ${l.error ? `ERROR ${l.error}` : `${l.reason}, ${l.replans}, ${l.rebuiltTokens}, ${l.stagesAfter?.join(' ')}, ${l.sameTextAsOneDevice ? 'yes' : 'NO'}`}`);
    }
    return {
      model: 'stories260K (f32, 5 layers, n_embd 64), CPU backends in headless browser pages, coordinator in Chromium holding a range itself, even split',
      network: 'private network namespace (bench/netns.sh): loopback + veth pair 10.213.7.1/2, host ICE candidates only',
      tokensPerAnswer: tokens, answersPerConfig: repeat, pings,
      oneDeviceMsPerToken: single,
      rows: table,
      loss: losses,
      seconds: (performance.now() - t0) / 1000,
      loadAverage: loadavg(), // other work on this 2-core machine shows up in every figure
    };
  } finally {
    for (const c of cleanup.reverse()) await Promise.resolve(c()).catch(() => undefined);
  }
}

// The inner process (started by run() above inside the namespace): measure, write the result file.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--result');
  const out = args.splice(i, 2)[1]!;
  writeFileSync(out, JSON.stringify(await measure(args)));
  process.exit(0);
}
