/**
 * The `api` service the rollback scenarios update: its healthcheck tests
 * /ok, which GOOD's command makes and BAD's does not (the engine fails it).
 * `deploy` is the service's deploy: block, indented under it.
 */
export const GOOD = `sh -c 'touch /ok; exec sleep 3600'`;
export const BAD = `sh -c 'exec sleep 3600'`;

export const healthcheckedApi = (command: string, deploy: string) => ({
  files: [
    {
      name: "compose.yaml",
      content: `services:
  api:
    image: app:1
    command: ${JSON.stringify(command)}
    healthcheck: { test: ["CMD", "test", "-f", "/ok"], interval: 1s }
    deploy:
${deploy}`,
    },
  ],
  workingDir: "/srv/app",
});
