import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { describeLimit, echo, formatAmount, limitMessage, LIMITS, type Limit } from "../../core/limits.ts";

describe("core/limits", () => {
  test("README's Limits table lists every limit with its value", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("## Limits"), readme.indexOf("## Tests"));
    for (const l of Object.values(LIMITS) as Limit[]) {
      expect(section).toContain(`| ${l.label} | ${formatAmount(l.max, l.unit)} |`);
    }
    const rows = section.split("\n").filter((r) => r.startsWith("| ") && !r.startsWith("| limit") && !r.startsWith("|---"));
    expect(rows.length).toBe(Object.keys(LIMITS).length);
  });

  test("a limit message names the limit and the value", () => {
    expect(limitMessage("fileBytes", "env file /x/big.env", 9_437_184)).toBe("env file /x/big.env is 9437184 bytes, over the file size limit (8 MiB)");
    expect(limitMessage("replicas", "services.web.deploy.replicas", 100_000)).toBe("services.web.deploy.replicas is 100000 replicas, over the replicas limit (1000 replicas)");
    expect(describeLimit("bodyBytes", 1024)).toBe("the request body limit (1 KiB)");
  });

  test("echo keeps short values and cuts long ones with their length", () => {
    expect(echo("web")).toBe("web");
    const long = "x".repeat(1 << 20);
    const e = echo(long);
    expect(e.length).toBeLessThan(200);
    expect(e).toContain(`(${1 << 20} characters)`);
    expect(echo("a\u0000b\nc")).toBe("a\\u0000b\\nc");
  });
});
