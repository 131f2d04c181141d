/**
 * `--help` examples for the verbs that do not declare their own (newer verbs
 * call `.example()` in their file). Applied in cli.ts; a test checks every
 * verb ends up with at least one.
 */
export const EXAMPLES: Record<string, readonly string[]> = {
  up: ["fizz up -d --wait", "fizz up --build web", "fizz up -d --scale worker=3", "fizz up --dry-run"],
  down: ["fizz down", "fizz down -v --remove-orphans", "fizz -p shop down   # without the compose file"],
  ps: ["fizz ps", "fizz ps -a --format json", "fizz ps -q web"],
  logs: ["fizz logs -f", "fizz logs --tail 100 -t api", "fizz logs --since 10m --no-prefix worker"],
  start: ["fizz start", "fizz start api"],
  stop: ["fizz stop", "fizz stop -t 30 worker"],
  restart: ["fizz restart", "fizz restart --no-deps api"],
  exec: ["fizz exec web sh", "fizz exec -T api ./healthcheck", "fizz exec -u 0 -e DEBUG=1 --index 2 worker env"],
  pull: ["fizz pull", "fizz pull --ignore-buildable"],
  build: ["fizz build", "fizz build --no-cache --pull api"],
  scale: ["fizz scale web=3", "fizz scale -p shop web=3 worker=0"],
  rollback: ["fizz rollback web", "fizz rollback -p shop api"],
  why: ["fizz why web", "fizz why -p shop --format json api"],
  inspect: ["fizz inspect shop", "fizz inspect shop/web", "fizz inspect shop-web-1"],
  events: ["fizz events", "fizz events --json --filter deployment=shop", "fizz events --since 0 --no-follow"],
  init: ["fizz init", "fizz init --advertise 10.0.0.1"],
  join: ["fizz join 10.0.0.1 --token fizz1…", "fizz join 10.0.0.1:7946 --token \"$(cat token)\""],
  leave: ["fizz leave"],
  cluster: ["fizz cluster keys list", "fizz cluster keys install <key>", "fizz cluster keys use <id>"],
  validate: ["fizz validate", "fizz validate -f compose.yaml -f compose.prod.yaml", "fizz validate --format json"],
  doctor: ["fizz doctor", "fizz doctor --engine podman --format json"],
  agent: ["fizz agent", "fizz agent --api unix:/run/fizz/fizz.sock --api 0.0.0.0:7070 --tls-cert c.pem --tls-key k.pem"],
};
