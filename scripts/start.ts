// `npm start`: build the app and serve it on localhost, printing the URL.
// (The demo model joins once the local gateway and engine land; see README.)
import { build, preview } from 'vite';

const port = Number(process.env.PORT ?? 8080);
await build({ logLevel: 'warn' });
const server = await preview({ preview: { port, host: '127.0.0.1', strictPort: false } });
const url = server.resolvedUrls?.local[0] ?? `http://localhost:${port}/`;
console.log(`tabshard is running at ${url.replace('127.0.0.1', 'localhost')}  (Ctrl-C to stop)`);
