// Block exchange through the app itself (index.html) over a libp2p room, inside the network
// namespace run.sh makes: `tabshard relay --libp2p` is started here (its fresh peer id is read from
// its output) and its multiaddr is the app's relay, so the room is a js-libp2p one and bitswap runs
// on each page's node over its IndexedDB store. A Chromium coordinator loads the demo model and
// shares it; a Firefox page in its own profile (no shared store) joins from the link. Its header
// comes from the gateway before it joins (there is no room yet); the layers it is then assigned
// come over bitswap from the coordinator: the page's own HTTP requests for /ipfs/ blocks after
// Join are counted (0), and the answer still equals one device's text.
// A lying coordinator: the app has no way to make one, so the spec (not src/) flips a byte in every
// block of the coordinator's IndexedDB after its room is open (its own embedding and head are
// loaded by then); its bitswap then serves wrong bytes, which the participant catches, bans the
// coordinator for (the join panel says so) and fetches its layers from the gateway instead, and
// the answer is still one device's text. The same chain is covered in Node in
// test/shard/slice-peers.test.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { launchBrowsers, ref } from './harness.ts';

let cr: Browser;
let ff: Browser;
let relayProc: ChildProcess;
let relay: string;

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

function logErrors(page: Page, who: string): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`[${who}] pageerror: ${e.name}: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`[${who}] console.error: ${m.text()}`); });
  return errors;
}

const isBlockRequest = (url: string): boolean => new URL(url).pathname.startsWith('/ipfs/');

/** Test-only: flips a byte in every stored block of the page's IndexedDB (Chromium stores bytes, not Blobs). */
const corruptStore = (page: Page): Promise<number> => page.evaluate(async () => {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const r = indexedDB.open('tabshard');
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  let n = 0;
  await new Promise<void>((resolve, reject) => {
    const tx = db.transaction('blocks', 'readwrite');
    const cursor = tx.objectStore('blocks').openCursor();
    cursor.onsuccess = () => {
      const c = cursor.result;
      if (!c) return;
      if (c.value instanceof Uint8Array) {
        const b = (c.value as Uint8Array).slice();
        b[b.length >> 1] ^= 0x5a;
        c.update(b);
        n++;
      }
      c.continue();
    };
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
  db.close();
  return n;
});

interface Joined { fox: Page; errors: string[]; afterJoin: string[]; single: string; text: string }

/** The coordinator loads, answers alone, opens a room (then `afterOpen`), the Firefox page joins, and the room answers. */
async function shareAndJoin(afterOpen: (coord: Page) => Promise<void>): Promise<Joined> {
  const coord = await (await cr.newContext()).newPage();
  const errors = logErrors(coord, 'coordinator');
  await coord.goto(`./?nosw&relay=${encodeURIComponent(relay)}`);
  await coord.getByTestId('load').click();
  await expect(coord.getByTestId('model-info')).toBeVisible({ timeout: 60_000 });
  await coord.getByTestId('generate').click();
  await expect(coord.getByTestId('stats')).toBeVisible({ timeout: 60_000 });
  const single = (await coord.getByTestId('output').textContent())!;
  expect(single).toBe(ref.generated_text_only);

  await coord.getByTestId('transport-webrtc').check();
  await expect(coord.getByTestId('relay')).toHaveValue(relay);
  await coord.getByTestId('start-room').click();
  const map = coord.locator('tabshard-shard-map');
  const link = (await map.getByTestId('join-link').textContent())!;
  expect(link).toContain(`relay=${encodeURIComponent(relay)}`);
  await afterOpen(coord);

  const fox = await (await ff.newContext()).newPage();
  const foxErrors = logErrors(fox, 'firefox');
  let requests = 0;
  let joined = false;
  const afterJoin: string[] = [];
  fox.on('request', (r) => {
    if (!isBlockRequest(r.url())) return;
    requests++;
    if (joined) afterJoin.push(r.url());
  });
  await fox.goto(link);
  await expect(fox.getByTestId('join-model')).toHaveText('stories260k@1.0.0');
  await expect(fox.getByTestId('join-fits')).toContainText('5 of 5 layers');
  // The header came from the gateway (no room yet): the counter sees the page's requests.
  expect(requests).toBeGreaterThan(0);
  await fox.getByTestId('join-backend').selectOption('cpu');
  joined = true;
  await fox.getByTestId('join-room').click();
  await expect(fox.getByTestId('join-status')).toHaveAttribute('data-state', 'serving', { timeout: 60_000 });
  await expect(map.locator('tr.ready')).toHaveCount(1);

  await coord.getByTestId('new-chat').click();
  await coord.getByTestId('prompt').fill('Once upon a time');
  await coord.getByTestId('generate').click();
  await expect(coord.getByTestId('stats')).toBeVisible({ timeout: 120_000 });
  const text = (await coord.getByTestId('output').textContent())!;
  await expect(map.locator('tr.serving')).toHaveCount(1);
  const holds = (await fox.getByTestId('holds').textContent())!;
  expect(holds).toMatch(/Holding layers \d–\d of 5/);
  console.log(`firefox: ${holds}; ${await fox.getByTestId('join-blocks').textContent()}; block requests before Join ${requests - afterJoin.length}, after ${afterJoin.length}`);
  return { fox, errors: [...errors, ...foxErrors], afterJoin, single, text };
}

test("a Firefox participant loads its layers over bitswap from the app's coordinator: 0 gateway requests for them, the single-device answer", async () => {
  test.setTimeout(240_000);
  const r = await shareAndJoin(async () => undefined);
  expect(r.text).toBe(r.single);
  // Its layers' blocks came from the coordinator over bitswap, and none from the gateway.
  expect(Number(await r.fox.getByTestId('join-blocks').getAttribute('data-peers'))).toBeGreaterThan(0);
  expect(r.afterJoin).toEqual([]);
  await expect(r.fox.getByTestId('join-banned')).toHaveCount(0);
  expect(r.errors).toEqual([]);
});

test('a coordinator serving corrupted blocks is caught and banned by the Firefox participant, whose layers then come from the gateway: the single-device answer', async () => {
  test.setTimeout(240_000);
  let corrupted = 0;
  const r = await shareAndJoin(async (coord) => { corrupted = await corruptStore(coord); });
  console.log(`corrupted ${corrupted} blocks in the coordinator's store`);
  expect(corrupted).toBeGreaterThan(0);
  expect(r.text).toBe(r.single);
  await expect(r.fox.getByTestId('join-banned')).toContainText('failed verification');
  expect(Number(await r.fox.getByTestId('join-blocks').getAttribute('data-peers'))).toBe(0);
  expect(r.afterJoin.length).toBeGreaterThan(0);
  expect(r.errors).toEqual([]);
});
