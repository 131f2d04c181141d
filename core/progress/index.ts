/**
 * Progress of multi-step operations as data (view.ts): what each object is
 * doing, pull bytes per layer, build output, elapsed time; and the lines a
 * terminal shows for it. cmd/progress.ts feeds it from executor events and
 * renders it as --progress tty|plain|json|quiet asks.
 */
export * from "./view.ts";
