/**
 * Ordering a certificate from an ACME directory (RFC 8555) with HTTP-01,
 * through the well-kept `acme-client` package. The challenge tokens are
 * handed to `publish` (the ingress controller puts them in the replicated
 * state, so whichever node the CA asks answers) and withdrawn after. Keys
 * are P-256 ECDSA. Every call is bounded; an unreachable directory fails
 * with the cause in the message, for the event the controller records.
 */
import https from "node:https";
import type acmeModule from "acme-client";

type Acme = typeof acmeModule;
let loaded: Promise<Acme> | undefined;
/**
 * acme-client, loaded on first use: with axios, node-forge and @peculiar/x509
 * it was a third of an agent's start-up CPU (profiled), and most nodes never
 * order a certificate.
 */
const acmeClient = (): Promise<Acme> => (loaded ??= import("acme-client").then((m) => (m as { default?: Acme }).default ?? (m as unknown as Acme)));

export interface OrderOptions {
  readonly directoryUrl: string;
  /** The account key (PEM); make one with createAccountKey and keep it in the cluster state. */
  readonly accountKeyPem: string;
  readonly domain: string;
  readonly email?: string;
  /** Extra trust for the directory's own HTTPS (a test CA such as pebble's). */
  readonly directoryCa?: string;
  publish(token: string, keyAuthorization: string): Promise<void>;
  unpublish(token: string): Promise<void>;
  /** Bound on the whole order, ms. */
  readonly timeoutMs: number;
}

export interface Issued {
  /** The certificate chain, PEM, leaf first. */
  readonly certPem: string;
  readonly keyPem: string;
}

export async function createAccountKey(): Promise<string> {
  const acme = await acmeClient();
  return (await acme.crypto.createPrivateEcdsaKey("P-256")).toString();
}

let configuredCa: string | undefined;

function trust(acme: Acme, ca: string | undefined): void {
  if (ca === configuredCa) return;
  configuredCa = ca;
  // acme-client's one axios instance: its HTTPS agent carries the extra CA (or none).
  acme.axios.defaults.httpsAgent = ca ? new https.Agent({ ca, keepAlive: false }) : undefined;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** GET the directory once, bounded: an unreachable CA is named plainly (acme-client's retry path loses the cause). */
function probeDirectory(url: string, ca: string | undefined, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ...(ca ? { ca } : {}), timeout: timeoutMs }, (res) => {
      res.resume();
      if ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300) resolve();
      else reject(new Error(`the directory answered HTTP ${res.statusCode}`));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (e: Error & { code?: string }) => reject(new Error(`${e.code ? `${e.code}: ` : ""}${e.message}`)));
  });
}

/** Orders a certificate for one domain; rejects with a message naming the cause. */
export async function orderCertificate(o: OrderOptions): Promise<Issued> {
  const acme = await acmeClient();
  trust(acme, o.directoryCa);
  try {
    await probeDirectory(o.directoryUrl, o.directoryCa, Math.min(o.timeoutMs, 10_000));
  } catch (e) {
    throw new Error(`ACME order for ${o.domain}: the directory ${o.directoryUrl} is unreachable: ${(e as Error).message}`);
  }
  // Few, quick retries: a CA that does not answer is reported and retried later with backoff (core/ingress/acme-plan.ts).
  const client = new acme.Client({ directoryUrl: o.directoryUrl, accountKey: o.accountKeyPem, backoffAttempts: 5, backoffMin: 200, backoffMax: 2_000 });
  const defaults = acme.axios.defaults as unknown as { acmeSettings: Record<string, number> };
  defaults.acmeSettings = { ...defaults.acmeSettings, retryMaxAttempts: 1, retryDefaultDelay: 1 };
  const [key, csr] = await acme.crypto.createCsr({ commonName: o.domain, altNames: [o.domain] }, await acme.crypto.createPrivateEcdsaKey("P-256"));
  const published: string[] = [];
  try {
    const certPem = await withTimeout(
      client.auto({
        csr,
        ...(o.email ? { email: o.email } : {}),
        termsOfServiceAgreed: true,
        challengePriority: ["http-01"],
        // The CA checks it; a self-check would fetch through this very node and prove nothing more.
        skipChallengeVerification: true,
        challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
          if (challenge.type !== "http-01") throw new Error(`challenge type ${challenge.type} is not supported (HTTP-01 only)`);
          published.push(challenge.token);
          await o.publish(challenge.token, keyAuthorization);
        },
        challengeRemoveFn: async (_authz, challenge) => {
          await o.unpublish(challenge.token);
        },
      }),
      o.timeoutMs,
      `ordering a certificate for ${o.domain} from ${o.directoryUrl}`,
    );
    return { certPem, keyPem: key.toString() };
  } catch (e) {
    for (const t of published) await o.unpublish(t).catch(() => {});
    const err = e as { message?: string; code?: string };
    throw new Error(`ACME order for ${o.domain} at ${o.directoryUrl} failed: ${err.code ? `${err.code}: ` : ""}${err.message ?? String(e)}`);
  }
}
