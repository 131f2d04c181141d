/** `fizz images [services…]`: the images the project's containers use, like `docker compose images`. */
import { usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { ago, table } from "./agent-client.ts";
import { connect, projectOrName, withProjectOptions } from "./project-common.ts";
import { containerName, pickContainers } from "./service-containers.ts";

/** Docker's human sizes: 3 significant digits, decimal units (1.99MB). */
export function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))}${units[i]}`;
}

export const register: RegisterVerb = (cli, action) => {
  withProjectOptions(cli.command("images [...services]", "List the images used by the project's containers"))
    .option("-q, --quiet", "Only print image ids")
    .option("--format <format>", "table (default) or json")
    .example("fizz images")
    .example("fizz images --format json web")
    .action(
      action(async (ctx, services, options) => {
        const format = optString(options, "format") ?? "table";
        if (format !== "table" && format !== "json") throw usageError(`unknown format '${format}'`, "use --format table or --format json");
        const { name } = await projectOrName(options);
        const engine = await connect(options, ctx);
        try {
          const list = await pickContainers(engine, name, { services, all: true, oneoff: "include" });
          const rows = await Promise.all(
            list.map(async (c) => {
              const img = await engine.images.inspect(c.ImageID).catch(() => undefined);
              const tag = img?.RepoTags?.[0] ?? c.Image;
              const [repo, t] = tag.startsWith("sha256:") ? ["<none>", "<none>"] : splitRepoTag(tag);
              return {
                ID: c.ImageID,
                ContainerName: containerName(c),
                Repository: repo,
                Tag: t,
                Platform: img ? `${img.Os}/${img.Architecture}` : "",
                Size: img?.Size ?? 0,
                ...(img?.Created ? { Created: img.Created } : {}),
              };
            }),
          );
          if (options.quiet) {
            ctx.out([...new Set(rows.map((r) => r.ID))].map((id) => `${id}\n`).join(""));
          } else if (format === "json") ctx.out(`${JSON.stringify(rows, null, 2)}\n`);
          else {
            const short = (id: string) => id.replace(/^sha256:/, "").slice(0, 12);
            ctx.out(
              table([
                ["CONTAINER", "REPOSITORY", "TAG", "PLATFORM", "IMAGE ID", "SIZE", "CREATED"],
                ...rows.map((r) => [r.ContainerName, r.Repository, r.Tag, r.Platform, short(r.ID), humanSize(r.Size), r.Created ? ago(Date.parse(r.Created)) : ""]),
              ]),
            );
          }
          return 0;
        } finally {
          await engine.close();
        }
      }),
    );
};

function splitRepoTag(ref: string): [string, string] {
  const colon = ref.lastIndexOf(":");
  return colon > ref.lastIndexOf("/") ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, "latest"];
}
