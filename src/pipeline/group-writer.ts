/**
 * Group commit for a sink: while one write is in flight, later batches wait and are then written together
 * in one call. Under light load every batch is written at once (lowest latency); under heavy load writes
 * grow by themselves (fewer transactions, syscalls and messages per tick). Each caller's promise resolves
 * when the write that carried its batch succeeded, so acknowledgements stay truthful.
 *
 * A failed write is retried, whole, by `retry` (which decides the backoff and when to give up); batches
 * that arrive meanwhile wait for the next group.
 */
export class GroupWriter<T> {
  readonly #write: (parts: T[]) => Promise<void>;
  readonly #retry: (attempt: () => Promise<void>) => Promise<void>;
  readonly #maxParts: number;
  #queue: Array<{ part: T; resolve: () => void; reject: (e: unknown) => void }> = [];
  #busy = false;

  constructor(write: (parts: T[]) => Promise<void>, retry: (attempt: () => Promise<void>) => Promise<void>, maxParts = 256) {
    this.#write = write;
    this.#retry = retry;
    this.#maxParts = maxParts;
  }

  add(part: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ part, resolve, reject });
      if (!this.#busy) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#busy = true;
    try {
      while (this.#queue.length > 0) {
        const group = this.#queue.splice(0, this.#maxParts);
        const parts = group.map((g) => g.part);
        try {
          await this.#retry(() => this.#write(parts));
          for (const g of group) g.resolve();
        } catch (err) {
          for (const g of group) g.reject(err);
        }
      }
    } finally {
      this.#busy = false;
    }
  }
}
