/** "1 container", "2 containers", "0 volumes": a count and its noun (nouns whose plural adds an s). */
export function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
