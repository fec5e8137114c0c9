/**
 * Group commit for a sink: while `concurrency` writes are in flight, later batches wait and are then
 * written together in one call. Under light load every batch is written at once (lowest latency); under
 * heavy load writes grow by themselves (fewer transactions, syscalls and messages per tick). Each
 * caller's promise resolves when the write that carried its batch succeeded, so acknowledgements stay
 * truthful (the bus acknowledges in delivery order whatever order groups finish in).
 *
 * A failed write is retried, whole, by `retry` (which decides the backoff and when to give up); batches
 * that arrive meanwhile wait for the next group.
 */
export class GroupWriter<T> {
  readonly #write: (parts: T[]) => Promise<void>;
  readonly #retry: (attempt: () => Promise<void>) => Promise<void>;
  readonly #maxParts: number;
  readonly #concurrency: number;
  #queue: Array<{ part: T; resolve: () => void; reject: (e: unknown) => void }> = [];
  #inFlight = 0;

  constructor(
    write: (parts: T[]) => Promise<void>,
    retry: (attempt: () => Promise<void>) => Promise<void>,
    opts: { maxParts?: number; concurrency?: number } = {},
  ) {
    this.#write = write;
    this.#retry = retry;
    this.#maxParts = opts.maxParts ?? 256;
    this.#concurrency = Math.max(1, opts.concurrency ?? 1);
  }

  add(part: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ part, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#inFlight < this.#concurrency && this.#queue.length > 0) {
      const group = this.#queue.splice(0, this.#maxParts);
      this.#inFlight++;
      void this.#retry(() => this.#write(group.map((g) => g.part)))
        .then(
          () => group.forEach((g) => g.resolve()),
          (err: unknown) => group.forEach((g) => g.reject(err)),
        )
        .finally(() => {
          this.#inFlight--;
          this.#pump();
        });
    }
  }
}
