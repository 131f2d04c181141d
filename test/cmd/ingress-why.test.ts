import { describe, expect, test } from "bun:test";
import { ingressWhy, ingressWhyText } from "../../cmd/ingress-why.ts";
import type { IngressStatusView } from "../../platform/api/client.ts";

const st: IngressStatusView = {
  node: "node0000aaaa",
  enabled: true,
  clustered: true,
  routed_by: ["node0000aaaa", "node1111bbbb", "node2222cccc"],
  relay: { port: 7948, connections: 0 },
  listeners: [],
  l4: [
    { port: 8080, protocol: "tcp", project: "shop", service: "web", target: 80, proxy_protocol: null, from: "services.web.ports[0]" },
    { port: 9000, protocol: "tcp", project: "shop", service: "echo", target: 9000, proxy_protocol: 1, from: "services.echo.x-fizz.ingress[0]" },
  ],
  http: [{ port: 443, tls: true, routes: [{ hosts: ["shop.test"], path: "/", project: "shop", service: "web", target: 80, from: "services.web.x-fizz.ingress[0]" }] }],
  targets: [
    { key: "shop/web:80", label: "shop/web:80", replicas: [
      { key: "shop/web/0@node0000aaaa", state: "ready", outstanding: 0, ejected: false, address: "172.18.0.2:80" },
      { key: "shop/web/1@node1111bbbb", state: "draining", outstanding: 1, ejected: false, address: "10.99.0.11:7948" },
    ] },
    { key: "shop/echo:9000", label: "shop/echo:9000", replicas: [] },
  ],
  conflicts: [],
};

describe("fizz why: the ingress part", () => {
  test("the service's ports and routes, the nodes accepting them, and where this node sends them", () => {
    const w = ingressWhy(st, "shop", "web")!;
    expect(w.routed_by).toHaveLength(3);
    expect(w.routes.map((r) => `${r.listen} ${r.match}`)).toEqual(["8080/tcp *", "443/https shop.test/"]);
    expect(w.routes[0]!.replicas).toEqual([
      { replica: "web#1", node: "node0000aaaa", address: "172.18.0.2:80", via: "here", state: "ready", ejected: false },
      { replica: "web#2", node: "node1111bbbb", address: "10.99.0.11:7948", via: "relay", state: "draining", ejected: false },
    ]);
    const text = ingressWhyText(w, st.node);
    expect(text).toContain("accepted on every alive node: node0000, node1111, node2222");
    expect(text).toContain("8080/tcp * -> port 80 (services.web.ports[0]): web#1 on node0000 (172.18.0.2:80), web#2 on node1111 (through its relay 10.99.0.11:7948) draining");
    expect(ingressWhyText(ingressWhy(st, "shop", "echo")!, st.node)).toContain("no ready replica");
  });

  test("a service without ingress, or ingress off: nothing", () => {
    expect(ingressWhy(st, "shop", "db")).toBeUndefined();
    expect(ingressWhy({ ...st, enabled: false }, "shop", "web")).toBeUndefined();
  });
});
