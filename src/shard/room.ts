// Rooms: who may take a range of the model. A room is an id and a secret, shared as a link whose
// fragment carries both (`#room=ID&secret=S`): browsers never send a fragment to a server, so the
// page host, the gateway and the signaling relay see at most the room id. Before a peer gets a
// range it proves it holds the secret with HMAC-SHA-256 over a challenge the coordinator chose
// (not the relay: a relay cannot pick a nonce it has seen answered before), the room id and the
// peer's own id (so a proof cannot be replayed by another peer). The coordinator proves the same
// back over the peer's nonce, so a participant never computes for someone outside the room.
import { RoomError } from './errors.ts';
import { nextMessage, type PeerInfo, type PeerMessage, type Pipe } from './transports/pipe.ts';

export interface Room {
  readonly id: string;
  /** Keep out of logs, URLs sent anywhere, and error messages. */
  readonly secret: string;
}

const enc = new TextEncoder();

function randomToken(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

export function createRoom(): Room {
  return { id: randomToken(8), secret: randomToken(32) };
}

/** The join link: `base` with the room in its fragment (any fragment `base` had is replaced). */
export function roomLink(base: string, room: Room): string {
  const u = new URL(base);
  u.hash = new URLSearchParams({ room: room.id, secret: room.secret }).toString();
  return u.toString();
}

/** Reads `#room=ID&secret=S` from a URL or a bare fragment; a RoomError('bad-link') if incomplete. */
export function parseRoomLink(urlOrHash: string): Room {
  const hash = urlOrHash.includes('#') ? urlOrHash.slice(urlOrHash.indexOf('#') + 1) : urlOrHash;
  const p = new URLSearchParams(hash);
  const id = p.get('room') ?? '';
  const secret = p.get('secret') ?? '';
  if (!/^[\w-]{1,64}$/.test(id)) throw new RoomError('bad-link', 'the link has no valid room id');
  if (secret.length < 8) throw new RoomError('bad-link', `room ${id}: the link has no secret (or one too short)`);
  return { id, secret };
}

async function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

function proofMessage(role: 'peer' | 'coordinator', room: string, nonce: string, peer: string): Uint8Array<ArrayBuffer> {
  // Role-tagged so a coordinator's proof can never be replayed as a peer's and vice versa.
  return enc.encode(`tabshard-room-v1\n${role}\n${room}\n${nonce}\n${peer}`);
}

function hex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (x) => x.toString(16).padStart(2, '0')).join('');
}

function unhex(s: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^([0-9a-f]{2})*$/.test(s)) return undefined;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export async function prove(room: Room, role: 'peer' | 'coordinator', nonce: string, peer: string): Promise<string> {
  return hex(await crypto.subtle.sign('HMAC', await hmacKey(room.secret), proofMessage(role, room.id, nonce, peer)));
}

/** Constant-time check (crypto.subtle.verify) of a proof. */
export async function checkProof(room: Room, role: 'peer' | 'coordinator', nonce: string, peer: string, mac: string): Promise<boolean> {
  const sig = unhex(mac);
  if (!sig || sig.length !== 32) return false;
  return crypto.subtle.verify('HMAC', await hmacKey(room.secret), sig, proofMessage(role, room.id, nonce, peer));
}

export interface Admitted {
  readonly id: string;
  readonly info: PeerInfo;
}

function validInfo(i: PeerInfo | undefined): boolean {
  return !!i && Number.isFinite(i.memoryBytes) && i.memoryBytes > 0 && Number.isFinite(i.speed) && i.speed > 0 &&
    Array.isArray(i.wire) && typeof i.label === 'string';
}

/**
 * Coordinator side: challenges the peer on `pipe`, checks its proof, and admits it (with the
 * coordinator's own proof) or refuses it and closes the pipe. RoomError('refused') on a bad proof.
 */
export async function admit(pipe: Pipe, room: Room, timeoutMs = 10_000): Promise<Admitted> {
  const nonce = randomToken(16);
  pipe.send({ t: 'challenge', room: room.id, nonce });
  let proof: Extract<PeerMessage, { t: 'proof' }>;
  try {
    proof = await nextMessage(pipe, (m) => (m.t === 'proof' ? m : undefined), timeoutMs);
  } catch (e) {
    pipe.close();
    throw new RoomError(pipe.closed ? 'closed' : 'timeout', `peer ${pipe.remote} gave no proof: ${(e as Error).message}`, pipe.remote);
  }
  const ok = proof.peer === pipe.remote && validInfo(proof.info) && (await checkProof(room, 'peer', nonce, pipe.remote, proof.mac));
  if (!ok) {
    pipe.send({ t: 'refused', reason: 'wrong room secret' });
    pipe.close();
    throw new RoomError('refused', `peer ${pipe.remote} does not hold the room secret`, pipe.remote);
  }
  pipe.send({ t: 'admitted', mac: await prove(room, 'coordinator', proof.nonce, pipe.remote) });
  return { id: pipe.remote, info: proof.info };
}

/**
 * Participant side: answers the coordinator's challenge as `self`, then checks the coordinator's
 * proof. RoomError('refused') if the coordinator refused us, 'bad-proof' if it cannot prove the secret.
 */
export async function join(pipe: Pipe, room: Room, self: string, info: PeerInfo, timeoutMs = 10_000): Promise<void> {
  const wait = <T>(accept: (m: PeerMessage) => T | undefined): Promise<T> =>
    nextMessage(pipe, accept, timeoutMs).catch((e: unknown) => {
      throw new RoomError(pipe.closed ? 'closed' : 'timeout', `coordinator ${pipe.remote}: ${(e as Error).message}`, pipe.remote);
    });
  const ch = await wait((m) => (m.t === 'challenge' ? m : undefined));
  if (ch.room !== room.id) throw new RoomError('refused', `challenge for another room`, pipe.remote);
  const nonce = randomToken(16);
  pipe.send({ t: 'proof', peer: self, mac: await prove(room, 'peer', ch.nonce, self), nonce, info });
  const ans = await wait((m) => (m.t === 'admitted' || m.t === 'refused' ? m : undefined));
  if (ans.t === 'refused') throw new RoomError('refused', `coordinator ${pipe.remote} refused us: ${ans.reason}`, pipe.remote);
  if (!(await checkProof(room, 'coordinator', nonce, self, ans.mac))) {
    pipe.close();
    throw new RoomError('bad-proof', `coordinator ${pipe.remote} does not hold the room secret`, pipe.remote);
  }
}
