// widget.js: the entry a page loads (<script type="module" src=".../widget.js">) or imports.
// It defines <tabshard-chat> and <tabshard-helper>; defaults (registry, gateway) are resolved beside this file.
import { TabshardChat, defineTabshardChat, setAssetBase } from './tabshard-chat.ts';
import { TabshardHelper, defineTabshardHelper } from './tabshard-helper.ts';

// Not new URL('./', import.meta.url): Vite would treat that as an asset to bundle.
setAssetBase(import.meta.url.replace(/[^/]*$/, ''));
defineTabshardChat();
defineTabshardHelper();

export { TabshardChat, TabshardHelper, setAssetBase };
export { sharedEngine } from './shared-engine.ts';
