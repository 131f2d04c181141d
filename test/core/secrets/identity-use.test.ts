/**
 * `fizz secret identity rm` refuses while a deployment's age file opens only
 * with that identity: which deployments and files need it, and which do not
 * (also encrypted to the cluster, or to another imported identity).
 */
import { expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { jsAead } from "../../../core/secrets/aead-js.ts";
import { identityFromScalar } from "../../../core/secrets/keys.ts";
import { identityNeededBy } from "../../../core/secrets/identity-use.ts";
import type { Project, SecretDef } from "../../../core/compose/model.ts";
import { encryptAge } from "../../../platform/secrets/age-encrypt.ts";

const key = () => identityFromScalar(Uint8Array.from(randomBytes(32)));
const cluster = key();
const team = key();
const ops = key();

async function ageDef(file: string, recipients: string[]): Promise<SecretDef> {
  const data = Buffer.from(await encryptAge(new TextEncoder().encode("s3cret"), recipients, { aead: jsAead })).toString("base64");
  return { name: file, file, external: false, labels: {}, extensions: {}, sealed: { kind: "age", data } };
}

function project(name: string, secrets: Record<string, SecretDef>, configs: Record<string, SecretDef> = {}): Project {
  return { name, services: {}, secrets, configs } as unknown as Project;
}

test("a deployment whose file only the identity opens needs it; one also encrypted to the cluster or another identity does not", async () => {
  const shop = project("shop", { db: await ageDef("/srv/shop/db.age", [team.recipient]), api: await ageDef("/srv/shop/api.age", [team.recipient, cluster.recipient]) }, { conf: await ageDef("/srv/shop/conf.age", [team.recipient]) });
  const blog = project("blog", { key: await ageDef("/srv/blog/key.age", [team.recipient, ops.recipient]) });
  const plain = project("plain", { pw: { name: "pw", file: "/srv/pw", external: false, labels: {}, extensions: {}, sealed: { kind: "stored", path: "plain/secret/pw" } } });
  const needs = await identityNeededBy([shop, blog, plain], team.identity, [cluster.identity, ops.identity], jsAead);
  expect(needs.map((n) => ({ deployment: n.deployment, uses: n.uses.map((u) => `${u.id} ${u.file}`) }))).toEqual([{ deployment: "shop", uses: ["secrets.db /srv/shop/db.age", "configs.conf /srv/shop/conf.age"] }]);
  // Without ops imported, blog's file needs team too.
  expect((await identityNeededBy([blog], team.identity, [cluster.identity], jsAead)).map((n) => n.deployment)).toEqual(["blog"]);
  // Removing an identity nothing was encrypted to is fine.
  expect(await identityNeededBy([shop, blog], ops.identity, [cluster.identity, team.identity], jsAead)).toEqual([]);
});
