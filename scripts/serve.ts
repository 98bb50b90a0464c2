// Serve the built app (dist/) and the demo model through one local IPFS trustless gateway on
// loopback: the model is published into a blockstore (.store/demo, made once), its registry entry is
// written to dist/registry.json (the app's seed registry), and the gateway serves both /ipfs/ blocks
// and the static app. Used by `npm start` and by the e2e runs. dist/share.json tells the app's Share
// panel the peer relay's address (empty when none runs: the user types one).
import { writeFileSync } from 'node:fs';
import { publish } from '../src/store/publish.ts';
import { startGateway } from '../src/store/gateway-server.ts';
import { emptyRegistry, addEntry, exportRegistry } from '../src/store/registry.ts';

export const DEMO_MODEL = 'public/models/stories260K.gguf';

export async function serve(port: number, dist = 'dist', storeDir = '.store/demo', relay = '') {
  const { entry } = await publish(DEMO_MODEL, { name: 'stories260k', version: '1.0.0', tags: ['demo'], storeDir });
  const registry = addEntry(emptyRegistry(), entry);
  writeFileSync(`${dist}/registry.json`, exportRegistry(registry));
  writeFileSync(`${dist}/share.json`, JSON.stringify({ relay }));
  const gw = await startGateway({ port, host: '127.0.0.1', store: storeDir, staticDir: dist });
  return { gateway: gw, entry };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.env.PORT ?? process.argv[2] ?? 8080);
  const { gateway, entry } = await serve(port);
  console.log(`demo model ${entry.name}@${entry.version}: /ipfs/${entry.cid}`);
  console.log(`tabshard is running at http://localhost:${gateway.port}/  (Ctrl-C to stop)`);
}
