// What the benchmark scripts share: the median they report, and the
// configuration the shared benchmark (../shared/bench) seeds.

/** The median; with an even count, the mean of the two middle values (as the shared bench). */
export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** One provider of the shared bench's configuration. */
export interface BenchProvider {
  type: string;
  name: string;
  keys: string[];
  baseURL: string;
}

/** The shared bench's configuration: `n` openai providers named `bench-openai-<i>`, two keys each. */
export function sharedBenchProviders(n: number): BenchProvider[] {
  return Array.from({ length: n }, (_, i) => ({
    type: "openai",
    name: `bench-openai-${i}`,
    keys: [`sk-bench-${i}-first-0123456789abcdef`, `sk-bench-${i}-second-0123456789abcdef`],
    baseURL: "https://api.openai.com/v1/",
  }));
}
