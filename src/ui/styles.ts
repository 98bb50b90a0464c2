// Styles shared by the app's panels: one palette (light and dark, contrast ≥ 4.5:1 for text),
// visible keyboard focus, controls at touch size. Custom properties let a host page re-theme them.
import { css } from 'lit';

export const panelStyles = css`
  :host {
    display: block;
    --ts-fg: CanvasText;
    --ts-muted: color-mix(in srgb, CanvasText 72%, Canvas);
    --ts-border: color-mix(in srgb, CanvasText 30%, Canvas);
    --ts-accent: #1558c0;
    --ts-error: #b00020;
    --ts-ok: #1b6e20;
  }
  @media (prefers-color-scheme: dark) {
    :host { --ts-accent: #8ab4f8; --ts-error: #ff8a80; --ts-ok: #81c995; }
  }
  fieldset, section.card { border: 1px solid var(--ts-border); border-radius: 8px; margin: 0 0 1rem; padding: 0.75rem 1rem; min-width: 0; }
  legend, h2 { font-weight: 700; }
  h2 { font-size: 1.15rem; margin: 0 0 0.5rem; }
  label { font-weight: 600; }
  select, textarea, input, button { font: inherit; color: inherit; }
  input, select, textarea { background: Canvas; border: 1px solid var(--ts-border); border-radius: 6px; padding: 0.3rem 0.45rem; min-height: 2rem; box-sizing: border-box; max-width: 100%; }
  button { padding: 0.4rem 0.9rem; min-height: 2.25rem; border-radius: 6px; border: 1px solid var(--ts-accent); background: Canvas; color: var(--ts-accent); cursor: pointer; }
  button.primary { background: var(--ts-accent); color: Canvas; }
  button:disabled { opacity: 0.5; cursor: not-allowed; }
  :is(button, select, textarea, input, a, [tabindex]):focus-visible { outline: 3px solid var(--ts-accent); outline-offset: 2px; }
  .row { display: flex; gap: 0.5rem; flex-wrap: wrap; align-items: center; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(9rem, 1fr)); gap: 0.5rem 1rem; }
  .grid label { display: flex; flex-direction: column; gap: 0.2rem; font-size: 0.9em; }
  progress { width: 100%; height: 1rem; }
  .muted { color: var(--ts-muted); font-size: 0.9em; }
  .error { color: var(--ts-error); }
  .ok { color: var(--ts-ok); }
  .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;
