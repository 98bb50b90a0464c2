// The saved-conversation store's pure parts in Node (its IndexedDB side runs in e2e/chat.spec.ts
// and the WebKitGTK chat case): titles from the first prompt, and the typed error where there is no
// IndexedDB (Node, like an opaque-origin frame).
import { describe, expect, it } from 'vitest';
import { ConversationStore, conversationsDbName, titleFor } from '../../src/ui/conversations-store.ts';

describe('saved conversations', () => {
  it('titles a conversation by its first prompt line, cut at a word', () => {
    expect(titleFor('Once upon a time')).toBe('Once upon a time');
    expect(titleFor('  \n')).toBe('New conversation');
    expect(titleFor('First line\nsecond line')).toBe('First line');
    const long = titleFor('Write a story about a little girl named Lily who finds a big red ball in the park');
    expect(long.endsWith('…')).toBe(true);
    expect(long.length).toBeLessThanOrEqual(49);
    expect(long).toBe('Write a story about a little girl named Lily…');
  });

  it('keeps conversations beside the block store, per database name', () => {
    expect(conversationsDbName()).toBe('tabshard-conversations');
    expect(conversationsDbName('e2e-1')).toBe('e2e-1-conversations');
  });

  it('fails with ConversationStoreError where there is no IndexedDB', async () => {
    await expect(ConversationStore.open()).rejects.toMatchObject({ name: 'ConversationStoreError' });
  });

  it('creates an empty conversation tied to its model', () => {
    const c = ConversationStore.create({ root: 'bafy-root', label: 'stories260k@1.0.0' }, 'Be brief.');
    expect(c).toMatchObject({ title: 'New conversation', model: { root: 'bafy-root', label: 'stories260k@1.0.0' }, system: 'Be brief.', turns: [] });
    expect(c.id).not.toBe(ConversationStore.create(c.model, '').id);
  });
});
