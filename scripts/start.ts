// `npm start`: build the app, then serve it and the demo model through the local gateway.
import { build } from 'vite';
import { serve } from './serve.ts';

const port = Number(process.env.PORT ?? 8080);
await build({ logLevel: 'warn' });
const { gateway, entry } = await serve(port);
console.log(`demo model ${entry.name}@${entry.version}: /ipfs/${entry.cid}`);
console.log(`tabshard is running at http://localhost:${gateway.port}/  (Ctrl-C to stop)`);
