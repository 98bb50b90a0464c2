// Errors of the app's own UI state. Callers branch on `err.name`, as elsewhere in tabshard.

/** Saved conversations cannot be read or written (no IndexedDB here, a bad record, a full disk). */
export class ConversationStoreError extends Error {
  override name = 'ConversationStoreError';
}
