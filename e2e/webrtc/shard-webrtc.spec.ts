// WebRTC shard rooms between two real engines: a Chromium coordinator and a Firefox participant
// meet through the signaling relay (`tabshard relay`) and exchange activations over a data channel,
// inside the network namespace run.sh makes. Pages run the CPU backend (see e2e/pages/shard.ts).
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { chromium, expect, firefox, test, type Browser, type Page } from '@playwright/test';
import { chromiumArgs, firefoxPrefs } from '../../playwright.config.ts';
import type { RunOptions, RunResult } from '../pages/shard.ts';

const ref = JSON.parse(readFileSync('test/fixtures/ref/stories260K-f32.json', 'utf8')) as { generated_text_only: string; generated_tokens: number[] };
const PORT = Number(process.env.TABSHARD_WEBRTC_PORT ?? 4273);
const RELAY = `ws://127.0.0.1:${Number(process.env.TABSHARD_RELAY_PORT ?? 4280)}`;
const BASE = `http://127.0.0.1:${PORT}/e2e/pages/shard.html`;

let cr: Browser;
let ff: Browser;

test.beforeAll(async () => {
  // Flags and prefs from BROWSER_LAB.md: host candidates as plain addresses (mDNS names cannot be
  // resolved in the namespace).
  cr = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [...chromiumArgs, '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns'],
  });
  ff = await firefox.launch({
    channel: 'moz-firefox', // WebDriver BiDi, as in the main config
    executablePath: '/usr/bin/firefox-esr',
    firefoxUserPrefs: { ...firefoxPrefs, 'media.peerconnection.ice.obfuscate_host_addresses': false, 'media.peerconnection.ice.loopback': true },
  });
});
test.afterAll(async () => { await cr?.close(); await ff?.close(); });

const newRoom = () => ({ id: randomBytes(6).toString('hex'), secret: randomBytes(24).toString('hex') });

async function open(browser: Browser, query: string, room: { id: string; secret: string }, mayFail = false): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', (e) => console.log(`[${query}] pageerror: ${e.message}`));
  await page.goto(`${BASE}?transport=webrtc&relay=${encodeURIComponent(RELAY)}&${query}#room=${room.id}&secret=${room.secret}`);
  await page.waitForFunction(() => {
    const s = (window as unknown as { shard?: { ready: boolean; error?: string } }).shard;
    return s?.ready || s?.error;
  });
  const err = await page.evaluate(() => (window as unknown as { shard: { error?: string } }).shard.error);
  if (!mayFail) expect(err).toBeUndefined();
  return page;
}

const run = (page: Page, o: RunOptions): Promise<RunResult> =>
  page.evaluate((opts) => (window as unknown as { shard: { run(o: RunOptions): Promise<RunResult> } }).shard.run(opts), o);
const state = (p: Page): Promise<string> => p.evaluate(() => (window as unknown as { shard: { state: string } }).shard.state);

test('a Chromium coordinator and a Firefox participant over WebRTC give the single-device greedy text', async () => {
  const room = newRoom();
  const coord = await open(cr, 'role=coordinator&id=chromium-c', room);
  const peer = await open(ff, 'role=participant&id=firefox-p', room);
  const res = await run(coord, { participants: 1, self: true, even: true });
  expect(res.stages).toEqual(['chromium-c:0-3', 'firefox-p:3-5']);
  expect(res.text).toBe(ref.generated_text_only);
  expect(res.tokens).toEqual(ref.generated_tokens);
  expect(res.lost).toEqual([]);
  expect(await peer.evaluate(() => (window as unknown as { shard: { served: number } }).shard.served)).toBeGreaterThanOrEqual(60); // prefill + 59 decode steps
});

test('over WebRTC, a peer without the secret is refused and one sending corrupted activations is dropped', async () => {
  const room = newRoom();
  const coord = await open(cr, 'role=coordinator&id=chromium-c&cap=3', room);
  const intruder = await open(cr, 'role=participant&id=intruder', { id: room.id, secret: 'guessed-secret-0000' }, true);
  await expect.poll(() => state(intruder)).toBe('refused');
  // Flips payload bits after the checksum was computed: caught as a FrameError on arrival.
  const liar = await open(ff, 'role=participant&id=firefox-liar&cap=3&corrupt=garbage&corruptAfter=4', room);
  await open(ff, 'role=participant&id=firefox-ok&cap=3', room);
  const res = await run(coord, { participants: 2, self: true, even: true });
  expect(res.refused).toEqual(['intruder']);
  expect(res.lost).toEqual([{ participant: 'firefox-liar', reason: 'frame' }]);
  expect(res.text).toBe(ref.generated_text_only);
  expect(res.stages.join(' ')).not.toMatch(/intruder|liar/);
  await expect.poll(() => state(liar)).toBe('dropped');
});
