// Errors across a comlink boundary with their name, message, cause and own properties intact.
// Comlink's built-in 'throw' handler keeps only name/message/stack and revives a plain Error, so a
// QuotaError would arrive as "Error" without its cause. Both ends (the page and every worker) call
// installWireHandlers() before the first message; it replaces 'throw' (errors a call throws) and
// adds 'error' (Error values passed or returned).
import { transferHandlers, type TransferHandler } from 'comlink';

const MARK = '__tabshardError';
const MAX_DEPTH = 6;

export interface WireError {
  [MARK]: 1;
  name: string;
  message: string;
  stack?: string;
  cause?: unknown;
  /** Own enumerable properties (e.g. cid, gateway, status, causes), themselves encoded. */
  props: Record<string, unknown>;
}

/** An error revived from the other side: a real Error whose `name` is the original class name. */
export class RemoteError extends Error {
  override name = 'RemoteError';
  [key: string]: unknown;
}

function isError(v: unknown): v is Error {
  return v instanceof Error || (typeof DOMException !== 'undefined' && v instanceof DOMException);
}

function isWireError(v: unknown): v is WireError {
  return typeof v === 'object' && v !== null && (v as Record<string, unknown>)[MARK] === 1;
}

/** Replace every Error inside `value` (arrays, plain objects, causes) by a structured-clone-safe form. */
export function toWire(value: unknown, depth = 0, seen = new Set<object>()): unknown {
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return typeof value === 'function' ? undefined : value;
  if (seen.has(value)) return undefined; // a cycle: drop the back-reference rather than recurse
  seen.add(value);
  try {
    if (isError(value)) {
      const props: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) if (k !== 'name' && k !== 'message' && k !== 'cause') props[k] = toWire(v, depth + 1, seen);
      const out: WireError = { [MARK]: 1, name: value.name, message: value.message, stack: value.stack, props };
      if ('cause' in value && value.cause !== undefined) out.cause = toWire(value.cause, depth + 1, seen);
      return out;
    }
    if (Array.isArray(value)) return value.map((v) => toWire(v, depth + 1, seen));
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return value; // typed arrays, Dates, Maps: cloneable as is
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toWire(v, depth + 1, seen)]));
  } finally {
    seen.delete(value);
  }
}

/** The inverse of toWire: WireError records become RemoteError instances, recursively. */
export function fromWire(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH + 1) return value;
  if (isWireError(value)) {
    const cause = value.cause === undefined ? undefined : fromWire(value.cause, depth + 1);
    const err = new RemoteError(value.message, cause === undefined ? undefined : { cause });
    err.name = value.name;
    for (const [k, v] of Object.entries(value.props)) err[k] = fromWire(v, depth + 1);
    // Keep the thrower's stack (where it failed) above ours (where it was awaited).
    if (value.stack) err.stack = `${value.stack}\n    --- across worker boundary ---\n${err.stack ?? ''}`;
    return err;
  }
  if (Array.isArray(value)) return value.map((v) => fromWire(v, depth + 1));
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromWire(v, depth + 1)]));
}

let installed = false;

/** Register the handlers (idempotent). Must run on both ends of every comlink channel. */
export function installWireHandlers(): void {
  if (installed) return;
  installed = true;
  const builtin = transferHandlers.get('throw');
  if (!builtin) throw new Error('comlink has no "throw" transfer handler to replace');
  const thrown: TransferHandler<unknown, { value: unknown }> = {
    // Comlink marks thrown values with a private symbol; its own handler knows how to recognise it.
    canHandle: (v): v is unknown => builtin.canHandle(v),
    serialize: (v) => [{ value: toWire((v as { value: unknown }).value) }, []],
    deserialize: (s) => {
      throw fromWire(s.value);
    },
  };
  const errorValue: TransferHandler<Error, unknown> = {
    canHandle: (v): v is Error => isError(v),
    serialize: (v) => [toWire(v), []],
    deserialize: (s) => fromWire(s) as Error,
  };
  transferHandlers.set('throw', thrown as TransferHandler<unknown, unknown>);
  transferHandlers.set('error', errorValue as TransferHandler<unknown, unknown>);
}
