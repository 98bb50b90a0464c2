// One place that decides whether bytes are the block a CID names. Everything that accepts a block
// from outside (gateway client, blockstore put, CAR import) calls verifyBlock; nothing else hashes.
// A block fetched by the gateway client and then stored is checked by both, and hashing is the
// bulk of a verified load's cost (sha2-256 runs at ~1.7 GB/s here, loopback HTTP at ~0.3 GB/s), so
// verifyBlock remembers which byte arrays it has already proven: a WeakMap from the array object to
// the multihash it hashed to. Only verifyBlock adds entries, so the proof cannot be forged by a
// caller; it is void if the array is changed afterwards, so the arrays it proves (the client's
// freshly read bodies) are handed only to the store and never written to.
import { base32 } from 'multiformats/bases/base32';
import { CID } from 'multiformats/cid';
import { identity } from 'multiformats/hashes/identity';
import { sha256, sha512 } from 'multiformats/hashes/sha2';
import type { MultihashHasher } from 'multiformats/hashes/interface';
import { InvalidCidError, IntegrityError, UnsupportedHashError } from './errors.ts';

const hashers = new Map<number, MultihashHasher>([
  [sha256.code, sha256],
  [sha512.code, sha512],
  [identity.code, identity],
]);

/** Codecs whose blocks we store and serve: dag-pb (0x70) and raw (0x55). */
export const DAG_PB = 0x70;
export const RAW = 0x55;

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether we have the CID's hash function (sha2-256, sha2-512, identity). */
export function canVerify(cid: CID): boolean {
  return hashers.has(cid.multihash.code);
}

/** True when `bytes` hash (with the CID's own multihash function) to the CID's digest. */
export async function isValidBlock(cid: CID, bytes: Uint8Array): Promise<boolean> {
  const hasher = hashers.get(cid.multihash.code);
  if (!hasher) throw new UnsupportedHashError(`cannot verify multihash 0x${cid.multihash.code.toString(16)} of ${cid}`);
  const digest = await hasher.digest(bytes);
  return equalBytes(digest.digest, cid.multihash.digest);
}

/** Throws IntegrityError (naming `source`, e.g. a gateway URL) unless `bytes` are the block `cid` names. */
export async function verifyBlock(cid: CID, bytes: Uint8Array, source?: string): Promise<void> {
  const proof = proven.get(bytes);
  if (proof && proof.length === bytes.length && equalBytes(proof.multihash, cid.multihash.bytes)) return;
  if (!(await isValidBlock(cid, bytes))) throw new IntegrityError(cid.toString(), source);
  proven.set(bytes, { multihash: cid.multihash.bytes, length: bytes.length });
}

/** Arrays verifyBlock has hashed, and what they hashed to (see the top of this file). */
const proven = new WeakMap<Uint8Array, { multihash: Uint8Array; length: number }>();

/** Parse a CID string (v0 or v1, any multibase multiformats knows); InvalidCidError otherwise. */
export function parseCid(input: string | CID): CID {
  if (typeof input !== 'string') return input;
  try {
    return CID.parse(input);
  } catch (err) {
    // base36 (`k51...`) and others need their decoder named; we only accept the defaults.
    throw new InvalidCidError(`not a CID: ${JSON.stringify(input.slice(0, 100))}`, { cause: err });
  }
}

/**
 * The key a block is stored under: its multihash in base32, without the CID's version and codec.
 * CIDv0 and CIDv1 (dag-pb or raw) of the same bytes therefore share one stored copy, and the key is
 * safe as a file name on case-insensitive file systems.
 */
export function blockKey(cid: CID): string {
  return base32.encode(cid.multihash.bytes).slice(1); // drop the multibase prefix 'b'
}
