/** One measured number of `npm run bench`. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** The goal in words, e.g. "≤ 1.15" or "< 2 s". */
  goal?: string;
  /** Whether the measured value meets the goal (undefined: no goal). */
  ok?: boolean;
}
