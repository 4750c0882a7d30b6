/** How many times a crashed server is started again: pure, the clock is injected. */

/** Allows `maxRestarts` restarts within `windowMs`; pure, clock injected. */
export class RestartPolicy {
  private readonly crashes: number[] = [];

  constructor(
    readonly maxRestarts = 3,
    readonly windowMs = 3 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a crash; true if the server should be started again. */
  crashed(): boolean {
    const t = this.now();
    this.crashes.push(t);
    while (this.crashes.length > 0 && (this.crashes[0] ?? t) < t - this.windowMs) {
      this.crashes.shift();
    }
    return this.crashes.length <= this.maxRestarts;
  }

  get recentCrashes(): number {
    return this.crashes.length;
  }
}
