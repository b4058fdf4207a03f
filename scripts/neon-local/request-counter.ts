/** Counts SQL requests per database, counting a batch as one request. */
export class RequestCounter {
  #total = 0;
  #byDatabase = new Map<string, number>();

  count(database: string): void {
    this.#total += 1;
    this.#byDatabase.set(database, (this.#byDatabase.get(database) ?? 0) + 1);
  }

  total(database?: string): number {
    return database === undefined ? this.#total : (this.#byDatabase.get(database) ?? 0);
  }

  snapshot(): { total: number; byDatabase: Record<string, number> } {
    return { total: this.#total, byDatabase: Object.fromEntries(this.#byDatabase) };
  }

  reset(): void {
    this.#total = 0;
    this.#byDatabase.clear();
  }
}
