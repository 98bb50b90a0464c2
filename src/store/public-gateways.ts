// The well-known public IPFS trustless gateways the app offers by default (one list, here, and in
// the README's "Deploy" section). Each serves `/ipfs/{cid}?format=raw` (and CAR) with CORS, so a
// page on any static host can fetch blocks from it; none is trusted: every block is verified.
// Tests never use these: they configure loopback gateways only.
export const PUBLIC_GATEWAYS: readonly string[] = [
  'https://trustless-gateway.link',
  'https://ipfs.io',
  'https://dweb.link',
];
