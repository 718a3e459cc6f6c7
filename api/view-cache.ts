// Fresh-enough cluster views for the readers that fan out over every cluster
// (the list endpoint, /metrics): at most one query per cluster per `maxAgeMs`
// however many dashboards and scrapers ask at once, and concurrent readers
// share the query in flight. A change made through this API drops the
// cluster's entry; single-cluster reads never go through it.
export class ViewCache<T> {
  private readonly entries = new Map<string, { at: number; value: Promise<T> }>();

  constructor(
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string, load: () => Promise<T>): Promise<T> {
    const held = this.entries.get(key);
    if (held && this.now() - held.at < this.maxAgeMs) return held.value;
    const entry = { at: this.now(), value: load() };
    this.entries.set(key, entry);
    // A failed reading is not kept: the next reader asks again.
    entry.value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return entry.value;
  }

  drop(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets every key but these (the clusters listed now). */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.entries.keys()) if (!keys.has(key)) this.entries.delete(key);
  }
}
