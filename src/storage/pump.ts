/**
 * Items a producer hands out one at a time (its `emit` resolves when the consumer asks for the
 * next, false when it stopped early), as an async generator: the producer keeps its connection
 * between pages, the consumer reads at its own pace, and an error on either side ends both.
 */
export async function* pump<T>(produce: (emit: (x: T) => Promise<boolean>) => Promise<void>): AsyncGenerator<T> {
  let give: (v: { x: T } | null) => void = () => undefined;
  let next = new Promise<{ x: T } | null>((r) => (give = r));
  let resume: (go: boolean) => void = () => undefined;
  const failure: { err?: unknown; failed: boolean } = { failed: false };
  const done = produce(
    (x) =>
      new Promise<boolean>((r) => {
        resume = r;
        give({ x });
      }),
  ).then(
    () => {
      give(null);
    },
    (err: unknown) => {
      failure.failed = true;
      failure.err = err;
      give(null);
    },
  );
  try {
    for (;;) {
      const item = await next;
      if (item === null) break;
      next = new Promise((r) => (give = r));
      yield item.x;
      resume(true);
    }
  } finally {
    resume(false);
    await done;
  }
  if (failure.failed) throw failure.err;
}
