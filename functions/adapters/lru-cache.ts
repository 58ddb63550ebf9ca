/**
 * What the bundles carry for `mnemonist/lru-cache` (infra/bundle.ts alias): the one LRU map the AWS SDK
 * makes (its endpoint-discovery cache, built with every DynamoDB client and used only when endpoint
 * discovery is on) as a Map kept in recency order, instead of mnemonist's typed-array LRU and the
 * iterator library under it (7 KiB every module init read). The methods EndpointCache calls, with mnemonist's meaning.
 */
export default class LRUCache<K, V> {
  private readonly items = new Map<K, V>();
  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.items.size;
  }

  /** the value, now the most recently used */
  get(key: K): V | undefined {
    if (!this.items.has(key)) return undefined;
    const value = this.items.get(key)!;
    this.items.delete(key);
    this.items.set(key, value);
    return value;
  }

  /** the value, its recency unchanged */
  peek(key: K): V | undefined {
    return this.items.get(key);
  }

  has(key: K): boolean {
    return this.items.has(key);
  }

  /** sets the value as the most recently used, evicting the least recently used past capacity */
  set(key: K, value: V): this {
    this.items.delete(key);
    this.items.set(key, value);
    if (this.items.size > this.capacity) this.items.delete(this.items.keys().next().value as K);
    return this;
  }

  clear(): void {
    this.items.clear();
  }
}
