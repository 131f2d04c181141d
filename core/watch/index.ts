/**
 * `fizz watch` decisions (Compose's develop.watch): which changed files
 * matter to which service, and whether that means syncing files into its
 * containers (then maybe a restart or an exec), restarting it, or rebuilding
 * its image and recreating it. Pure; platform/watch/ watches the files and
 * applies the actions.
 */
export * from "./plan.ts";
