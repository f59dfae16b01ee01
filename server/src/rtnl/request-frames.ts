import type { RtnlRequest } from './rtnl-socket';

const NLM_F_REQUEST = 0x01;
const NLM_F_ACK = 0x04;
const HEADER_BYTES = 16;

const align4 = (n: number): number => (n + 3) & ~3;

/**
 * One send's requests as consecutive netlink messages in one Buffer: each a 16-byte header
 * (length, type, REQUEST | its flags, sequence number `seqs[j]`, `port`) and its payload, the
 * next starting at a 4-byte boundary (NLMSG_ALIGN; the padding is zero). Only the last
 * message asks for an acknowledgement (NLM_F_ACK), when it is a change (`expect: 'ack'`).
 * The same bytes as npm netlink's formatMessage for each message, without its per-message
 * buffers.
 */
export function frameRequests(requests: readonly RtnlRequest[], seqs: readonly number[], port: number): Buffer {
  let total = 0;
  for (const req of requests) {
    let len = HEADER_BYTES;
    for (const part of req.payload) len += part.length;
    total = align4(total) + len;
  }
  const buf = Buffer.alloc(total);
  const last = requests.length - 1;
  let at = 0;
  requests.forEach((req, j) => {
    const start = at;
    at += HEADER_BYTES;
    for (const part of req.payload) {
      buf.set(part, at);
      at += part.length;
    }
    const ack = req.expect === 'ack' && j === last ? NLM_F_ACK : 0;
    buf.writeUInt32LE(at - start, start);
    buf.writeUInt16LE(req.type, start + 4);
    buf.writeUInt16LE(NLM_F_REQUEST | ack | req.flags, start + 6);
    buf.writeUInt32LE((seqs[j] ?? 0) >>> 0, start + 8);
    buf.writeUInt32LE(port >>> 0, start + 12);
    at = align4(at);
  });
  return buf;
}
