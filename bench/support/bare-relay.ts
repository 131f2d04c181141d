/**
 * The floor under Fizz's ingress, for bench/ingress.ts: the same socket layer
 * (platform/ingress/sockets.ts: Bun's native sockets on Bun) relaying bytes
 * with no HTTP at all. Each client connection gets its own upstream
 * connection (backends taken in turn) and the bytes are passed as they come,
 * with the same backpressure. Whatever this relay cannot beat, no HTTP code
 * on top of the socket layer can.
 * Usage: bun bench/support/bare-relay.ts PORT BACKEND_PORT…
 */
import { connectTcp, listenTcp, type Conn } from "../../platform/ingress/sockets.ts";

const [port, ...backends] = process.argv.slice(2).map(Number);
let next = 0;

function pipe(from: Conn, to: Conn): void {
  from.setHandlers({
    onData: (d) => {
      if (!to.write(d)) from.pause();
    },
    onDrain: () => to.resume(),
    onEnd: () => to.end(),
    onClose: () => to.destroy(),
  });
}

const l = await listenTcp("127.0.0.1", port!, (client) => {
  client.pause();
  connectTcp("127.0.0.1", backends[next++ % backends.length]!, 2_000).then(
    (up) => {
      pipe(client, up);
      pipe(up, client);
      client.resume();
    },
    () => client.destroy(),
  );
});
console.log("ready");
process.on("SIGTERM", () => {
  l.close();
  process.exit(0);
});
