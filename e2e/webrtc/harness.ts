// What both WebRTC shard specs share: the reference output, the two browsers launched with the
// flags and prefs BROWSER_LAB.md gives for the network namespace (host candidates as plain
// addresses: mDNS names cannot be resolved there), and the shard page's API (e2e/pages/shard.ts).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chromium, expect, firefox, type Browser, type Page } from '@playwright/test';
import { chromiumArgs, firefoxPrefs } from '../../playwright.config.ts';
import type { RunOptions, RunResult } from '../pages/shard.ts';

export const ref = JSON.parse(readFileSync('test/fixtures/ref/stories260K-f32.json', 'utf8')) as { generated_text_only: string; generated_tokens: number[] };
const PORT = Number(process.env.TABSHARD_WEBRTC_PORT ?? 4273);
const BASE = `http://127.0.0.1:${PORT}/e2e/pages/shard.html`;

export interface Room {
  id: string;
  secret: string;
}

export const newRoom = (): Room => ({ id: randomBytes(6).toString('hex'), secret: randomBytes(24).toString('hex') });

export async function launchBrowsers(): Promise<{ cr: Browser; ff: Browser }> {
  const cr = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [...chromiumArgs, '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns'],
  });
  const ff = await firefox.launch({
    channel: 'moz-firefox', // WebDriver BiDi, as in the main config
    executablePath: '/usr/bin/firefox-esr',
    firefoxUserPrefs: { ...firefoxPrefs, 'media.peerconnection.ice.obfuscate_host_addresses': false, 'media.peerconnection.ice.loopback': true },
  });
  return { cr, ff };
}

/** A shard page in a fresh context, joined to `room` through `relay` (a ws:// URL or a libp2p multiaddr). */
export async function openPage(browser: Browser, relay: string, query: string, room: Room, mayFail = false): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', (e) => console.log(`[${query}] pageerror: ${e.message}`));
  await page.goto(`${BASE}?transport=webrtc&relay=${encodeURIComponent(relay)}&${query}#room=${room.id}&secret=${room.secret}`);
  await page.waitForFunction(() => {
    const s = (window as unknown as { shard?: { ready: boolean; error?: string } }).shard;
    return s?.ready || s?.error;
  });
  const err = await page.evaluate(() => (window as unknown as { shard: { error?: string } }).shard.error);
  if (!mayFail) expect(err).toBeUndefined();
  return page;
}

export const run = (page: Page, o: RunOptions): Promise<RunResult> =>
  page.evaluate((opts) => (window as unknown as { shard: { run(o: RunOptions): Promise<RunResult> } }).shard.run(opts), o);
export const state = (p: Page): Promise<string> => p.evaluate(() => (window as unknown as { shard: { state: string } }).shard.state);
