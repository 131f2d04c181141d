/**
 * Values the schema takes as strings but the engine parses further: image
 * references, `stop_signal`, `user`, and `tmpfs` options. Checked here so
 * `fizz validate` and `fizz up` name the file and line, instead of the engine
 * refusing the container at create time ("Invalid signal: SIGFOO") or a pull
 * of `busybox:` reaching a registry.
 */
import { imageRefProblem } from "../deploy/image-ref.ts";
import type { Diags } from "./diagnostics.ts";
import type { Service } from "./model.ts";
import { parseBytes } from "./units.ts";

/** Linux signal names (without SIG), as the engines accept them. */
const SIGNALS = new Set(
  "HUP INT QUIT ILL TRAP ABRT IOT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO POLL PWR SYS RTMIN RTMAX".split(" "),
);

/** Why `s` is not a signal the engines accept (a name with or without SIG, RTMIN+n, RTMAX-n, or 1-64), or undefined. */
export function signalProblem(s: string): string | undefined {
  if (/^\d+$/.test(s)) return Number(s) >= 1 && Number(s) <= 64 ? undefined : `signal number ${s} is not between 1 and 64`;
  const name = s.toUpperCase().replace(/^SIG/, "");
  if (SIGNALS.has(name)) return undefined;
  const rt = /^RTM(IN\+|AX-)(\d+)$/.exec(name);
  if (rt && Number(rt[2]) >= 0 && Number(rt[2]) <= 30) return undefined;
  return `'${s.slice(0, 40)}' is not a signal`;
}

/** Why `u` is not `user|uid[:group|gid]`, or undefined. */
export function userProblem(u: string): string | undefined {
  if (u === "") return "it is empty";
  const parts = u.split(":");
  if (parts.length > 2) return `'${u.slice(0, 80)}' has more than one ':' (it is user[:group])`;
  if (parts.some((p) => p === "")) return `'${u.slice(0, 80)}' has an empty user or group`;
  if (parts.some((p) => /\s/.test(p))) return `'${u.slice(0, 80)}' contains white space`;
  return undefined;
}

/** Why a short-syntax tmpfs entry (`/path[:opt,opt]`) is not one the engine takes, or undefined. */
export function tmpfsProblem(entry: string): string | undefined {
  const colon = entry.indexOf(":");
  const target = colon < 0 ? entry : entry.slice(0, colon);
  if (!target.startsWith("/")) return `mount target '${target.slice(0, 80)}' must be an absolute path in the container`;
  if (colon < 0) return undefined;
  for (const opt of entry.slice(colon + 1).split(",")) {
    const [k, v] = opt.split("=", 2) as [string, string | undefined];
    if (k === "size" && (v === undefined || parseBytes(v) === undefined)) return `size '${v ?? ""}' is not a size (e.g. 64m, 1g)`;
    if (k === "mode" && (v === undefined || !/^[0-7]{3,4}$/.test(v))) return `mode '${v ?? ""}' is not an octal mode (e.g. 1777)`;
  }
  return undefined;
}

export function checkFieldValues(name: string, svc: Service, diags: Diags): void {
  const sp = ["services", name];
  // A `${…}` left in place is an interpolation already reported as an error.
  if (svc.image !== undefined && !svc.image.includes("${")) {
    const why = imageRefProblem(svc.image);
    if (why) diags.error([...sp, "image"], "compose.bad_value", `invalid image reference '${svc.image.slice(0, 200)}': ${why}`, "an image is [registry[:port]/]name[:tag][@digest], with a lower-case name");
  }
  if (svc.stop_signal !== undefined) {
    const why = signalProblem(svc.stop_signal);
    if (why) diags.error([...sp, "stop_signal"], "compose.bad_value", why, "use a signal name like SIGTERM, SIGINT or SIGQUIT");
  }
  if (svc.user !== undefined) {
    const why = userProblem(svc.user);
    if (why) diags.error([...sp, "user"], "compose.bad_value", `invalid user: ${why}`, "write user, uid, user:group or uid:gid");
  }
  (svc.tmpfs ?? []).forEach((t, i) => {
    const why = tmpfsProblem(t);
    if (why) diags.error([...sp, "tmpfs", i], "compose.bad_value", `invalid tmpfs '${t.slice(0, 120)}': ${why}`, "write /path or /path:size=64m,mode=1777");
  });
}
