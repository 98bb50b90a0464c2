// Shard rooms over js-libp2p between two real engines: `tabshard relay --libp2p` (started here, so
// its fresh peer id can be read from its output) runs WebSockets + circuit relay v2 + the room
// directory; a Chromium page and a Firefox page dial it over ws://, reserve relay slots, and connect
// to each other with @libp2p/webrtc (signaled through the relay, then direct), all inside the
// network namespace run.sh makes. Pages run the CPU backend (see e2e/pages/shard.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { launchBrowsers, newRoom, openPage, ref, run, state, type Room } from './harness.ts';

let cr: Browser;
let ff: Browser;
let relayProc: ChildProcess;
let relay: string;

/** Starts the CLI's libp2p relay on a free port and resolves with the multiaddr it prints. */
function startRelay(): Promise<{ proc: ChildProcess; addr: string }> {
  const proc = spawn(process.execPath, ['bin/tabshard.js', 'relay', '--libp2p', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`the libp2p relay printed no address within 30 s: ${out}`)), 30_000);
    proc.once('exit', (code) => reject(new Error(`the libp2p relay exited (${code}): ${out}`)));
    proc.stdout!.on('data', (d: Buffer) => {
      out += String(d);
      const m = /listening on (\/ip4\/\S+\/ws\/p2p\/\S+)/.exec(out);
      if (m) { clearTimeout(t); resolve({ proc, addr: m[1] }); }
    });
  });
}

test.beforeAll(async () => {
  ({ proc: relayProc, addr: relay } = await startRelay());
  ({ cr, ff } = await launchBrowsers());
});
test.afterAll(async () => { await cr?.close(); await ff?.close(); relayProc?.kill('SIGTERM'); });

const open = (browser: Browser, query: string, room: Room, mayFail = false): Promise<Page> => openPage(browser, relay, query, room, mayFail);

type Links = { peer: string; addrs: string[]; limited: boolean[] }[];
const links = (p: Page): Promise<Links> => p.evaluate(() => (window as unknown as { shard: { links(): Links } }).shard.links());
/** Failed dial attempts a page retried past (logged: they show how often a first WebRTC attempt fails). */
async function logDialFailures(...pages: Page[]): Promise<void> {
  for (const p of pages) {
    const f = await p.evaluate(() => (window as unknown as { shard: { dialFailures(): string[] } }).shard.dialFailures());
    if (f.length) console.log(`retried dials: ${JSON.stringify(f)}`);
  }
}

test('a Chromium coordinator and a Firefox participant as libp2p peers give the single-device greedy text', async () => {
  const room = newRoom();
  const coord = await open(cr, 'role=coordinator&id=chromium-c', room);
  const peer = await open(ff, 'role=participant&id=firefox-p', room);
  // The shard stream rides a direct WebRTC connection (signaled through the relay), not the relayed
  // circuit: a libp2p 'limited' connection is the relay's, and it must carry no activations.
  await expect.poll(async () => (await links(coord)).length).toBe(1);
  for (const [p, other] of [[coord, 'firefox-p'], [peer, 'chromium-c']] as const) {
    const l = await links(p);
    console.log(`links to ${other}: ${JSON.stringify(l)}`);
    expect(l.map((x) => x.peer)).toEqual([other]);
    expect(l[0].addrs.length).toBeGreaterThan(0);
    for (const a of l[0].addrs) expect(a).toMatch(/\/webrtc\/p2p\/12D3Koo\w+$/); // the dialer sees <relay>/p2p-circuit/webrtc/p2p/<id>
    expect(l[0].limited).not.toContain(true);
  }
  const res = await run(coord, { participants: 1, self: true, even: true });
  expect(res.stages).toEqual(['chromium-c:0-3', 'firefox-p:3-5']);
  expect(res.text).toBe(ref.generated_text_only);
  expect(res.tokens).toEqual(ref.generated_tokens);
  expect(res.lost).toEqual([]);
  expect(await peer.evaluate(() => (window as unknown as { shard: { served: number } }).shard.served)).toBeGreaterThanOrEqual(60); // prefill + 59 decode steps
  await logDialFailures(coord, peer);
});

test('over libp2p, a peer without the room secret is refused and one sending corrupted activations is dropped', async () => {
  const room = newRoom();
  const coord = await open(ff, 'role=coordinator&id=firefox-c&cap=3', room);
  const intruder = await open(cr, 'role=participant&id=intruder', { id: room.id, secret: 'guessed-secret-0000' }, true);
  await expect.poll(() => state(intruder)).toBe('refused');
  // Flips payload bits after the checksum was computed: caught as a FrameError on arrival.
  const liar = await open(cr, 'role=participant&id=chromium-liar&cap=3&corrupt=garbage&corruptAfter=4', room);
  const ok = await open(cr, 'role=participant&id=chromium-ok&cap=3', room);
  const res = await run(coord, { participants: 2, self: true, even: true });
  await logDialFailures(coord, intruder, liar, ok);
  expect(res.refused).toEqual(['intruder']);
  expect(res.lost).toEqual([{ participant: 'chromium-liar', reason: 'frame' }]);
  expect(res.text).toBe(ref.generated_text_only);
  expect(res.stages.join(' ')).not.toMatch(/intruder|liar/);
  await expect.poll(() => state(liar)).toBe('dropped');
});
