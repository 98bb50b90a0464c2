// The room attribute of <tabshard-helper>: the Share panel's whole join link, or only its fragment
// (with or without the '#'), so a page can paste either; spaces and line breaks around it (an
// attribute written across lines) are dropped. Kept apart from the element: testable without a DOM.
import { parseShareLink, type ShareInvite } from '../shard/share-link.ts';

/** The invite the attribute names; RoomError('bad-link') when it names none. */
export function parseRoomAttribute(value: string): ShareInvite {
  return parseShareLink(value.trim());
}
