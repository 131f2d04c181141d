/**
 * Image references as the engines accept them (distribution's reference
 * grammar): `[domain[:port]/]path[:tag][@digest]`, path components lower-case
 * alphanumerics joined by `.`, `_`, `__` or dashes, at most 255 characters of
 * name. `imageRefProblem` says what is wrong with one, so `fizz validate` and
 * the agent's API refuse it before anything is stored, instead of the engine
 * failing at create time (issue 18 item 4).
 */

const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const MAX_NAME = 255;

/** Why `ref` is not an image reference an engine accepts, or undefined when it is. */
export function imageRefProblem(ref: string): string | undefined {
  if (ref === "") return "it is empty";
  if (/\s/.test(ref)) return "it contains white space";
  let rest = ref;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const digest = rest.slice(at + 1);
    if (!DIGEST.test(digest)) return `'${digest.slice(0, 80)}' is not a digest (algorithm:hex, e.g. sha256:<64 hex digits>)`;
    rest = rest.slice(0, at);
  }
  // A tag follows the last ':' after the last '/' (a ':' before it belongs to a registry port).
  const slash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > slash) {
    const tag = rest.slice(colon + 1);
    if (tag === "") return "the tag after ':' is empty (a variable that is not set?)";
    if (!TAG.test(tag)) return `tag '${tag.slice(0, 80)}' must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'`;
    rest = rest.slice(0, colon);
  }
  if (rest === "") return "it has no name";
  if (rest.length > MAX_NAME) return `the name is ${rest.length} characters, over 255`;
  const parts = rest.split("/");
  // Like the engines: the first part is a registry when it has '.' or ':', is localhost, or has upper case.
  const first = parts[0]!;
  const isDomain = parts.length > 1 && (/[.:]/.test(first) || first === "localhost" || first !== first.toLowerCase());
  if (isDomain && !DOMAIN.test(first)) return `'${first.slice(0, 80)}' is not a registry host[:port]`;
  for (const p of isDomain ? parts.slice(1) : parts) {
    if (p === "") return "it has an empty path component ('//' or a trailing '/')";
    if (p !== p.toLowerCase()) return `repository name '${p.slice(0, 80)}' must be lower-case`;
    if (!PATH_COMPONENT.test(p)) return `'${p.slice(0, 80)}' is not a repository name (lower-case letters and digits, joined by '.', '_', '__' or '-')`;
  }
  return undefined;
}
