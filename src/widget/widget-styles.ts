// The widget's look, all inside its shadow root. A host page themes it with custom properties
// (they inherit through the shadow boundary) or styles its parts with ::part(frame|answer|…).
import { css } from 'lit';

export const widgetStyles = css`
  :host {
    display: block;
    font-family: var(--tabshard-font, system-ui, sans-serif);
    color: var(--tabshard-fg, CanvasText);
    max-width: var(--tabshard-max-width, 40rem);
  }
  .frame { background: var(--tabshard-bg, Canvas); border: 1px solid var(--tabshard-border, color-mix(in srgb, CanvasText 30%, Canvas)); border-radius: var(--tabshard-radius, 10px); padding: 0.75rem; display: grid; gap: 0.5rem; }
  .head { display: flex; justify-content: space-between; gap: 0.5rem; flex-wrap: wrap; font-size: 0.9em; }
  .name { font-weight: 700; }
  .status { color: var(--tabshard-muted, color-mix(in srgb, CanvasText 70%, Canvas)); }
  progress { width: 100%; height: 0.6rem; accent-color: var(--tabshard-accent, #1558c0); }
  .answer { white-space: pre-wrap; min-height: 3rem; overflow-wrap: anywhere; line-height: 1.45; }
  pre.code { font-family: var(--tabshard-mono, ui-monospace, monospace); white-space: pre; overflow-x: auto; margin: 0.4rem 0; padding: 0.4rem 0.5rem; border-radius: 6px; background: color-mix(in srgb, CanvasText 7%, Canvas); }
  ol.turns { list-style: none; margin: 0; padding: 0; display: grid; gap: 0.35rem; max-height: var(--tabshard-history-height, 16rem); overflow-y: auto; }
  ol.turns li { white-space: pre-wrap; overflow-wrap: anywhere; }
  ol.turns li.user { font-weight: 600; }
  .error { color: var(--tabshard-error, #b00020); margin: 0; }
  .form { display: flex; gap: 0.5rem; align-items: flex-end; }
  textarea { flex: 1; font: inherit; color: inherit; background: transparent; border: 1px solid var(--tabshard-border, color-mix(in srgb, CanvasText 30%, Canvas)); border-radius: 6px; padding: 0.35rem 0.5rem; resize: vertical; min-width: 0; }
  button { font: inherit; min-height: 2.25rem; padding: 0.35rem 0.9rem; border-radius: 6px; border: 0; background: var(--tabshard-accent, #1558c0); color: var(--tabshard-on-accent, #fff); cursor: pointer; }
  button:disabled { opacity: 0.5; cursor: not-allowed; }
  :is(button, textarea):focus-visible { outline: 3px solid var(--tabshard-accent, #1558c0); outline-offset: 2px; }
  .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;
