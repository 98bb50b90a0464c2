// The signaling relay (Node, `ws`): rooms of WebSockets; forwards offers, answers and ICE candidates
// between two peers of the same room. Listens on loopback unless told otherwise; stateless beyond
// the open sockets. Used by `tabshard relay` and by the WebRTC e2e runs.
import { WebSocketServer, type WebSocket } from 'ws';
import { ID_PATTERN, MAX_SIGNAL_BYTES, type FromRelay, type ToRelay } from './signal-protocol.ts';
import type { PeerRole } from './pipe.ts';

interface Member {
  readonly ws: WebSocket;
  readonly peer: string;
  readonly role: PeerRole;
}

export interface RunningRelay {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

function send(ws: WebSocket, m: FromRelay): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
}

function parse(raw: string): ToRelay | undefined {
  try {
    const m = JSON.parse(raw) as ToRelay;
    if (m.type === 'join' && ID_PATTERN.test(m.room) && ID_PATTERN.test(m.peer) && (m.role === 'coordinator' || m.role === 'participant')) return m;
    if (m.type === 'signal' && ID_PATTERN.test(m.to) && m.data && typeof m.data === 'object') return m;
  } catch { /* not JSON */ }
  return undefined;
}

export function startSignalRelay(o: { port?: number; host?: string; log?: (line: string) => void } = {}): Promise<RunningRelay> {
  const rooms = new Map<string, Map<string, Member>>();
  const log = o.log ?? (() => {});
  const wss = new WebSocketServer({ port: o.port ?? 0, host: o.host ?? '127.0.0.1', maxPayload: MAX_SIGNAL_BYTES });
  wss.on('connection', (ws) => {
    let me: { room: string; member: Member } | undefined;
    ws.on('message', (data, isBinary) => {
      const m = isBinary ? undefined : parse(String(data));
      if (!m) return send(ws, { type: 'error', message: 'malformed message' });
      if (m.type === 'join') {
        if (me) return send(ws, { type: 'error', message: 'already joined' });
        const room = rooms.get(m.room) ?? new Map<string, Member>();
        rooms.set(m.room, room);
        if (room.has(m.peer)) return send(ws, { type: 'error', message: `peer id ${m.peer} is taken in this room` });
        send(ws, { type: 'peers', peers: [...room.values()].map((x) => ({ peer: x.peer, role: x.role })) });
        for (const x of room.values()) send(x.ws, { type: 'joined', peer: m.peer, role: m.role });
        me = { room: m.room, member: { ws, peer: m.peer, role: m.role } };
        room.set(m.peer, me.member);
        log(`room ${m.room}: ${m.peer} (${m.role}) joined, ${room.size} present`);
        return;
      }
      if (!me) return send(ws, { type: 'error', message: 'join a room first' });
      const to = rooms.get(me.room)?.get(m.to);
      if (!to) return send(ws, { type: 'error', message: `no peer ${m.to} in this room` });
      send(to.ws, { type: 'signal', from: me.member.peer, data: m.data });
    });
    ws.on('close', () => {
      if (!me) return;
      const room = rooms.get(me.room);
      room?.delete(me.member.peer);
      for (const x of room?.values() ?? []) send(x.ws, { type: 'left', peer: me.member.peer });
      if (room && room.size === 0) rooms.delete(me.room);
      log(`room ${me.room}: ${me.member.peer} left`);
    });
  });
  return new Promise((resolve, reject) => {
    wss.once('error', reject);
    wss.once('listening', () => {
      const port = (wss.address() as { port: number }).port;
      resolve({
        port,
        url: `ws://${o.host ?? '127.0.0.1'}:${port}`,
        close: () => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }),
      });
    });
  });
}
