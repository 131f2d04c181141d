/**
 * Bearer-token check for TCP listeners. Both sides are hashed first so the
 * comparison is constant-time over equal-length digests regardless of what
 * the client sent (timingSafeEqual refuses unequal lengths, which would leak
 * the token's length).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { httpError } from "./errors.ts";

export class TokenCheck {
  private readonly digest: Buffer;

  constructor(token: string) {
    if (token.length < 16) throw new Error("API token must be at least 16 characters");
    this.digest = createHash("sha256").update(token, "utf8").digest();
  }

  /** Throws 401 unless `authorization` is `Bearer <token>`. */
  check(authorization: string | undefined): void {
    if (!authorization) throw httpError(401, "api.unauthorized", "missing bearer token", "send 'Authorization: Bearer <token>' (fizz reads FIZZ_TOKEN)");
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    const given = createHash("sha256")
      .update(m ? m[1]! : "", "utf8")
      .digest();
    if (!m || !timingSafeEqual(given, this.digest)) throw httpError(401, "api.unauthorized", "invalid bearer token");
  }
}
