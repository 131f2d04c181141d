/**
 * Binary min-heap of simulator events ordered by (time, insertion sequence),
 * so events at the same virtual instant run in a deterministic order.
 */
import { MinHeap } from "../../core/heap.ts";

export interface Timed {
  t: number;
  seq: number;
}

export class EventHeap<E extends Timed> extends MinHeap<E> {
  constructor() {
    super((x, y) => x.t < y.t || (x.t === y.t && x.seq < y.seq));
  }
}
