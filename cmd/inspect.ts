/** `fizz inspect deployment | deployment/service | container`: the full state, as JSON. */
import { FizzError, usageError } from "../core/errors.ts";
import type { RegisterVerb } from "./command.ts";
import { agentClient } from "./agent-client.ts";

export const register: RegisterVerb = (cli, action) => {
  cli.command("inspect <target>", "Print the full state of a deployment, a service (deployment/service) or a container, as JSON").action(
    action(async (ctx, [target]) => {
      if (!target) throw usageError("fizz inspect needs a deployment, deployment/service or container");
      const client = await agentClient(ctx);
      let out: unknown;
      if (target.includes("/")) {
        const [deployment, service] = target.split("/", 2) as [string, string];
        out = await client.inspectService(deployment, service);
      } else {
        try {
          out = await client.getDeployment(target);
        } catch (e) {
          if (!(e instanceof FizzError && e.status === 404)) throw e;
          try {
            out = await client.inspectContainer(target);
          } catch (e2) {
            if (e2 instanceof FizzError && e2.status === 404) {
              throw new FizzError({ code: "inspect.not_found", message: `no deployment or container named '${target}'`, hint: "see 'fizz ls' and 'fizz ps'" });
            }
            throw e2;
          }
        }
      }
      ctx.out(`${JSON.stringify(out, null, 2)}\n`);
      return 0;
    }),
  );
};
