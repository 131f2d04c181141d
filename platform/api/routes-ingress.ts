/**
 * GET /v1/ingress: what this node's ingress listens on, routes, and to which
 * replicas, and the state of TLS for each host (fizz ingress, fizz why).
 * /v1/ingress/certs…: certificates users add (fizz cert): PEM in, sealed into
 * the cluster state; no response carries a private key.
 */
import { httpError } from "./errors.ts";
import { empty, json, type RequestContext } from "./reply.ts";
import type { RouteModule } from "./router.ts";
import { badInput, expectObject, noQuery, optString } from "./validate.ts";

export interface IngressApi {
  /** The node's ingress view, JSON-serialisable. */
  ingressStatus(): unknown;
  /** Certificates in the cluster (ACME-issued and user-added), without keys. */
  certificates(): unknown;
  addCertificate(name: string, certPem: string, keyPem: string): unknown;
  /** False when there is no such user certificate. */
  removeCertificate(name: string): boolean;
}

const NAME = /^[A-Za-z0-9._-]{1,63}$/;
/** A chain of a few certificates and a key fit easily. */
const MAX_PEM = 64 * 1024;

function nameOf(c: RequestContext): string {
  const n = c.params.name!;
  if (!NAME.test(n)) throw httpError(400, "api.bad_name", `'${n.slice(0, 80)}' is not a certificate name: letters, digits, '.', '_' and '-', at most 63`);
  return n;
}

export function ingressRoutes(api: IngressApi): RouteModule {
  return (r) => {
    r.get("/v1/ingress", (c) => {
      noQuery(c);
      return json(api.ingressStatus());
    });
    r.get("/v1/ingress/certs", (c) => {
      noQuery(c);
      return json({ certificates: api.certificates() });
    });
    r.put("/v1/ingress/certs/:name", async (c) => {
      noQuery(c);
      const name = nameOf(c);
      const body = await c.body();
      if (body === undefined) throw badInput("body", 'expected {"cert": "<PEM chain>", "key": "<PEM private key>"}');
      const b = expectObject(body, "body", ["cert", "key"]);
      const cert = optString(b, "cert", "body", MAX_PEM);
      const key = optString(b, "key", "body", MAX_PEM);
      if (!cert || !cert.includes("-----BEGIN CERTIFICATE-----")) throw badInput("body.cert", "required: the PEM certificate chain, leaf first");
      if (!key || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) throw badInput("body.key", "required: the PEM private key");
      return json(api.addCertificate(name, cert, key));
    });
    r.delete("/v1/ingress/certs/:name", (c) => {
      noQuery(c);
      const name = nameOf(c);
      if (!api.removeCertificate(name)) throw httpError(404, "ingress.cert_not_found", `no certificate named ${name} (fizz cert ls lists them)`);
      return empty();
    });
  };
}
