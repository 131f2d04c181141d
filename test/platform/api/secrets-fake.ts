/** A SecretsApi for API tests: a few stored secrets, answers shaped like the secrets controller's. */
import { FizzError } from "../../../core/errors.ts";
import type { SecretsApi } from "../../../platform/api/routes-secrets.ts";

const summary = (name: string, version = 1) => ({ name, kind: "secret", version, versions: version, size: 7, project: name.includes("/") ? name.split("/")[0]! : null, grants: [], created: 1, updated: 1 });
const notFound = (p: string) => new FizzError({ code: "secrets.not_found", message: `no secret named ${p}`, status: 404 });

export class FakeSecrets implements SecretsApi {
  readonly names = new Set(["db_pw", "shop/secret/db"]);
  private has(p: string) {
    if (!this.names.has(p)) throw notFound(p);
  }
  list() {
    return [...this.names].map((n) => summary(n));
  }
  inspect(p: string) {
    this.has(p);
    return { ...summary(p), history: [{ v: 1, created: 1, size: 7, by: "test-node" }], labels: {}, usedBy: [] };
  }
  async create(p: string) {
    if (this.names.has(p)) throw new FizzError({ code: "secrets.exists", message: `secret ${p} already exists`, status: 409 });
    this.names.add(p);
    return summary(p);
  }
  async rotate(p: string) {
    this.has(p);
    return summary(p, 2);
  }
  async rollback(p: string) {
    this.has(p);
    return summary(p, 3);
  }
  /** Answers as if removed, keeping the example so later operations still find it. */
  remove(p: string) {
    this.has(p);
  }
  grant(p: string) {
    this.has(p);
    return summary(p);
  }
  async export(p: string) {
    this.has(p);
    return new TextEncoder().encode("-----BEGIN AGE ENCRYPTED FILE-----\n");
  }
  seal() {
    return { self: { node: "test-node", state: "unsealed", reason: "created the master key", threshold: 1, holders: 1, recovery: null }, nodes: [{ node: "test-node", state: "unsealed", reason: "created the master key", since: 1 }] };
  }
  async unseal() {
    return { node: "test-node", state: "sealed", reason: "1 of 3 recovery shares", threshold: 3, holders: 5, recovery: { have: 1, need: 3 } };
  }
  recovery(_t: number, n: number) {
    return Array.from({ length: n }, (_, i) => `fizzrecovery1example${i}`);
  }
  recipient() {
    return "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";
  }
  identities() {
    return [{ name: "team", recipient: this.recipient(), created: 1 }];
  }
  async importIdentity(name: string) {
    return { name, recipient: this.recipient() };
  }
  async removeIdentity(name: string) {
    if (name !== "team") throw new FizzError({ code: "secrets.not_found", message: `no identity named ${name}`, status: 404 });
  }
  async verify(items: { id: string }[]) {
    return items.map((i) => ({ id: i.id, ok: true }));
  }
  async upload(_p: string, items: { path: string }[]) {
    return items.map((i) => ({ path: i.path, changed: true, version: 1 }));
  }
}
