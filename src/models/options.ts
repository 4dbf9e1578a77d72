/** What every built-in model needs to know about its data. */
export interface ModelOptions {
  /** Shape of one sample, without the batch dimension: [H, W, C] images or [features]. */
  inputShape: number[];
  numClasses: number;
  /** Seed of every initializer in the model (default 0): same seed, same initial weights. */
  seed?: number;
}

/** Throws a RangeError naming the model when the options cannot build it. */
export function checkOptions(model: string, opts: ModelOptions, rank?: number): void {
  const { inputShape, numClasses } = opts;
  if (inputShape.length === 0 || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new RangeError(`${model}: bad input shape [${inputShape.join(', ')}]`);
  }
  if (rank !== undefined && inputShape.length !== rank) {
    throw new RangeError(
      `${model}: needs a rank-${rank} input shape, got [${inputShape.join(', ')}]`,
    );
  }
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new RangeError(`${model}: numClasses must be an integer >= 2, got ${numClasses}`);
  }
}
