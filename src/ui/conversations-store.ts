// Saved conversations, in their own IndexedDB database beside the block store's (`<db>-conversations`):
// a conversation is small, written after every turn, and must never share a version upgrade or a
// transaction with the model blocks. Each record names the model it was held with (root CID and
// label): its KV-cache and template assumptions hold only for that model, so the chat continues it
// only with that model loaded.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { ConversationStoreError } from './errors.ts';

/** What a turn's answer cost; shown under it and kept with it. */
export interface TurnStats {
  tokens: number;
  stoppedBy: string;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  reusedTokens: number;
  promptTokens: number;
  /** 'template' (the model's own) or the built-in format used instead. */
  format?: string;
}

export interface SavedTurn {
  prompt: string;
  /** The answer as the model wrote it (a stopped answer is kept as far as it got). */
  text: string;
  stats?: TurnStats;
  error?: string;
}

export interface ConversationModel {
  root: string;
  label: string;
}

export interface SavedConversation {
  id: string;
  title: string;
  model: ConversationModel;
  system: string;
  turns: SavedTurn[];
  /** Milliseconds since the epoch. */
  created: number;
  updated: number;
}

export const CONVERSATIONS_STORE = 'conversations';
const VERSION = 1;

/** The database's name for the app's block-store database name (the app's ?db= parameter). */
export function conversationsDbName(dbName = 'tabshard'): string {
  return `${dbName}-conversations`;
}

interface ConversationsDB extends DBSchema {
  conversations: { key: string; value: SavedConversation; indexes: { updated: number } };
}

function newId(): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** A title from the first prompt: its first line, cut at a word near 48 characters. */
export function titleFor(prompt: string): string {
  const line = prompt.trim().split('\n')[0] ?? '';
  if (line.length <= 48) return line || 'New conversation';
  const cut = line.slice(0, 48);
  return `${cut.slice(0, cut.lastIndexOf(' ') > 24 ? cut.lastIndexOf(' ') : 48)}…`;
}

async function guard<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw new ConversationStoreError(`${what}: ${(err as Error)?.message ?? err}`, { cause: err });
  }
}

export class ConversationStore {
  private readonly db: IDBPDatabase<ConversationsDB>;

  private constructor(db: IDBPDatabase<ConversationsDB>) {
    this.db = db;
  }

  /** Throws ConversationStoreError where IndexedDB is unavailable (an opaque origin, some private modes). */
  static open(dbName?: string): Promise<ConversationStore> {
    return guard('cannot open the saved conversations', async () => {
      if (!globalThis.indexedDB) throw new Error('IndexedDB is not available here');
      const db = await openDB<ConversationsDB>(conversationsDbName(dbName), VERSION, {
        upgrade(d) {
          d.createObjectStore(CONVERSATIONS_STORE, { keyPath: 'id' }).createIndex('updated', 'updated');
        },
      });
      return new ConversationStore(db);
    });
  }

  /** Every saved conversation, most recently used first. */
  list(): Promise<SavedConversation[]> {
    return guard('cannot list the saved conversations', async () => (await this.db.getAllFromIndex(CONVERSATIONS_STORE, 'updated')).reverse());
  }

  get(id: string): Promise<SavedConversation | undefined> {
    return guard('cannot read the conversation', () => this.db.get(CONVERSATIONS_STORE, id));
  }

  /** A new, empty conversation (not stored until it is saved with its first turn). */
  static create(model: ConversationModel, system: string): SavedConversation {
    const now = Date.now();
    return { id: newId(), title: 'New conversation', model, system, turns: [], created: now, updated: now };
  }

  /** Store it as it is now; `updated` becomes now. */
  async save(c: SavedConversation): Promise<SavedConversation> {
    // Structured clone refuses lit's proxies or class instances: store plain data only.
    const record: SavedConversation = JSON.parse(JSON.stringify({ ...c, updated: Date.now() })) as SavedConversation;
    await guard('cannot save the conversation', () => this.db.put(CONVERSATIONS_STORE, record));
    return record;
  }

  async rename(id: string, title: string): Promise<void> {
    const c = await this.get(id);
    if (!c) throw new ConversationStoreError(`no saved conversation ${id}`);
    await guard('cannot rename the conversation', () => this.db.put(CONVERSATIONS_STORE, { ...c, title: title.trim() || c.title }));
  }

  delete(id: string): Promise<void> {
    return guard('cannot delete the conversation', () => this.db.delete(CONVERSATIONS_STORE, id));
  }

  close(): void {
    this.db.close();
  }
}
