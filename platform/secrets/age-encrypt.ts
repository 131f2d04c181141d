/**
 * Writing age files. The age-encryption package makes the header (file key,
 * recipient stanzas, MAC) from an empty plaintext, with a recipient of our
 * own that only notes the file key; the payload is then sealed here
 * (core/secrets/age-stream.ts) with the native AEAD and a fresh nonce. An
 * empty age file is `header || nonce || 16-byte tag`, so the header is all but
 * its last 32 bytes. Here rather than in core/ because it draws randomness.
 */
import { randomBytes } from "node:crypto";
import { Encrypter, armor, type Recipient } from "age-encryption";
import { encryptPayload, NONCE, TAG, type Aead } from "../../core/secrets/age-stream.ts";
import { FizzError } from "../../core/errors.ts";
import { nativeAead } from "./aead.ts";

const ACCEPTED = "an age recipient: age1… (X25519, as age-keygen -y or fizz secret recipient prints it) or age1pq1… (post-quantum)";

/**
 * Every recipient checked before anything is encrypted: the first one that is
 * not an age recipient is named, with the forms that are (400,
 * secrets.bad_recipient). Used by `fizz secret encrypt` and by export.
 */
export function checkRecipients(recipients: readonly (string | Recipient)[]): void {
  for (const r of recipients) {
    if (typeof r !== "string") continue;
    const shown = r.length > 80 ? `${r.slice(0, 77)}…` : r;
    let why: string | undefined;
    if (/^(ssh-|ecdsa-sha2-|sk-ssh-)/.test(r)) why = "SSH public keys are not supported as recipients here";
    else {
      try {
        new Encrypter().addRecipient(r);
      } catch (e) {
        why = r.startsWith("age1") ? `it is not a valid age recipient (${e instanceof Error ? e.message : String(e)})` : "it is not an age recipient";
      }
    }
    if (why) throw new FizzError({ code: "secrets.bad_recipient", message: `cannot encrypt to '${shown}': ${why}`, hint: `give ${ACCEPTED}`, status: 400 });
  }
}

export interface EncryptOptions {
  /** ASCII armor (PEM-like text) instead of binary. */
  readonly armor?: boolean;
  readonly aead?: Aead;
}

/** Encrypts `plaintext` to every recipient (age1…, age1pq1…, or a Recipient object). */
export async function encryptAge(plaintext: Uint8Array, recipients: readonly (string | Recipient)[], o: EncryptOptions = {}): Promise<Uint8Array> {
  if (recipients.length === 0) throw new RangeError("encrypting needs at least one recipient");
  checkRecipients(recipients);
  let fileKey: Uint8Array | undefined;
  const e = new Encrypter();
  e.addRecipient({
    wrapFileKey(k: Uint8Array) {
      fileKey = Uint8Array.from(k);
      return [];
    },
  });
  for (const r of recipients) e.addRecipient(r);
  const empty = await e.encrypt(new Uint8Array(0));
  if (!fileKey) throw new Error("age-encryption did not hand out the file key");
  const header = empty.subarray(0, empty.length - NONCE - TAG);
  const out = encryptPayload(fileKey, Uint8Array.from(randomBytes(NONCE)), plaintext, o.aead ?? nativeAead(), header);
  fileKey.fill(0);
  return o.armor ? new TextEncoder().encode(armor.encode(out)) : out;
}
