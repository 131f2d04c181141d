import { expect, test } from "bun:test";
import { enginePortsOnNode, hostPortsShown, readIngressShown } from "../../../core/ingress/shown-ports.ts";
import type { Service } from "../../../core/compose/model.ts";

test("engine bindings are shown on their node, IPv4 and IPv6 of one binding once; unpublished ports as they are", () => {
  expect(enginePortsOnNode(["0.0.0.0:9090->90/tcp", ":::9090->90/tcp", "127.0.0.1:7070->70/udp", "80/tcp"], "h1")).toEqual(["h1:9090->90/tcp", "h1/127.0.0.1:7070->70/udp", "80/tcp"]);
});

test("mode: host ports only, with the host address when bound to one", () => {
  const svc = { ports: [{ target: 80, published: "8080", protocol: "tcp", mode: "ingress" }, { target: 90, published: "9090", protocol: "tcp", mode: "host" }, { target: 91, published: "9091", host_ip: "10.0.0.1", protocol: "udp", mode: "host" }] } as unknown as Service;
  expect(hostPortsShown(svc, "h2")).toEqual(["h2:9090->90/tcp", "h2/10.0.0.1:9091->91/udp"]);
});

test("an ingress port reads back; a node's binding does not", () => {
  expect(readIngressShown("0.0.0.0:8080->80/tcp")).toEqual({ published: 8080, target: 80, protocol: "tcp" });
  expect(readIngressShown("h1:8080->80/tcp")).toBeUndefined();
});
