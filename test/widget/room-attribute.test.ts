// <tabshard-helper room="…">: a whole join link, its fragment with or without '#', all read alike;
// a link missing the secret or the model is refused with the shard room's typed error.
import { describe, expect, it } from 'vitest';
import { createRoom } from '../../src/shard/room.ts';
import { shareLink } from '../../src/shard/share-link.ts';
import { parseRoomAttribute } from '../../src/widget/room-attribute.ts';

const room = createRoom();
const invite = { room, model: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy', label: 'stories260k@1.0.0', size: 1054304, nCtx: 512, transport: 'tabs' as const };
const link = shareLink('http://localhost:4173/?nosw', invite);

describe('parseRoomAttribute', () => {
  it('reads a link, its fragment and the fragment without #, the same', () => {
    const frag = link.slice(link.indexOf('#'));
    for (const v of [link, frag, frag.slice(1), `\n   ${link}\n `]) {
      const got = parseRoomAttribute(v);
      expect(got.room).toEqual(room);
      expect(got).toMatchObject({ model: invite.model, label: invite.label, size: invite.size, nCtx: 512, transport: 'tabs' });
    }
  });

  it('refuses a link without the secret or the model (RoomError)', () => {
    const noSecret = link.replace(/&?secret=[0-9a-f]+/, '');
    const noModel = link.replace(/&?model=[a-z0-9]+/, '');
    for (const v of [noSecret, noModel, '', 'http://localhost:4173/']) {
      let err: unknown;
      try {
        parseRoomAttribute(v);
      } catch (e) {
        err = e;
      }
      expect((err as Error | undefined)?.name, v).toBe('RoomError');
    }
  });
});
