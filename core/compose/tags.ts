/**
 * The compose merge tags: `!reset` (drop the value inherited from earlier
 * files or an extended service) and `!override` (replace it instead of
 * merging). They travel through interpolation and merge as marker objects and
 * are removed by `stripTags` once everything is merged.
 */
export class ResetTag {
  readonly tag = "!reset";
}
export class OverrideTag {
  readonly tag = "!override";
  constructor(readonly value: unknown) {}
}

export function isTag(v: unknown): v is ResetTag | OverrideTag {
  return v instanceof ResetTag || v instanceof OverrideTag;
}

/** Final form: `!reset` values disappear, `!override` values are unwrapped. */
export function stripTags(v: unknown): unknown {
  if (v instanceof OverrideTag) return stripTags(v.value);
  if (Array.isArray(v)) return v.filter((x) => !(x instanceof ResetTag)).map(stripTags);
  if (typeof v === "object" && v !== null && !(v instanceof ResetTag)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (!(x instanceof ResetTag)) out[k] = stripTags(x);
    return out;
  }
  return v;
}
