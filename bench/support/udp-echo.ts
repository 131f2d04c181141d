/**
 * Fizz's UDP socket layer alone, for bench/dns.ts --echo: the resolver's
 * own listener (platform/dns/udp.ts, the same implementation and batching)
 * answering every query with the same three A records (svc7.bench's
 * addresses) without looking anything up: the question copied, the header
 * flipped to a response, three 16-byte records pointing at the question's
 * name. Every query is answered in JavaScript (nothing is remembered: no
 * tableVersion here), so on the native socket the difference between this
 * row and Fizz's is the socket's thread answering repeated questions by
 * itself; this row against dnsmasq is the socket layer's with a wake-up of
 * JavaScript per burst. Prints "ready impl=<...>".
 */
import { listenUdp } from "../../platform/dns/udp.ts";

const port = Number(process.argv[2]);
const RECORDS = new Uint8Array(48);
for (let k = 0; k < 3; k++) {
  // name pointer to offset 12, type A, class IN, TTL 5, length 4, 10.208.7.(11+k)
  RECORDS.set([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 10, 208, 7, 11 + k], 16 * k);
}
const l = await listenUdp("127.0.0.1", port, (q, p, a, via) => {
  // The question ends after its name's labels and 4 bytes of type and class.
  let end = 12;
  while (end < q.length && q[end] !== 0) end += 1 + q[end]!;
  end += 5;
  if (end > q.length) return;
  const out = new Uint8Array(end + 48);
  out.set(q.subarray(0, end));
  out[2] = 0x84 | (q[2]! & 0x01);
  out[3] = 0x80;
  out[7] = 3;
  out[10] = 0;
  out[11] = 0; // an EDNS OPT record in the query is not echoed
  out.set(RECORDS, end);
  via.reply(out, p, a);
});
console.log(`ready impl=${l.impl}`);
