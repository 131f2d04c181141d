/** FizzError.where(): what the CLI prints after `error:`. */
import { describe, expect, test } from "bun:test";
import { FizzError } from "../../core/errors.ts";
import { badInput } from "../../platform/api/validate.ts";

describe("FizzError.where", () => {
  test("an API input error names its path once (it read 'body.name: body.name: required…')", () => {
    const e = badInput("body.name", "required: the secret's name");
    expect(e.where()).toBe("body.name: required: the secret's name");
    // As the CLI rebuilds it from the JSON error body (platform/api/client.ts): message and path both.
    const fromBody = new FizzError({ code: "api.bad_request", ...(JSON.parse(JSON.stringify(e)) as { message: string; path: string }) });
    expect(fromBody.where()).toBe("body.name: required: the secret's name");
  });

  test("a message without its path gets the path in front; a location comes first", () => {
    const e = new FizzError({ code: "compose.bad_value", message: "expected a number", path: "services.web.cpus", location: { file: "compose.yaml", line: 3, column: 5 } });
    expect(e.where()).toBe("compose.yaml:3:5: services.web.cpus: expected a number");
  });
});
