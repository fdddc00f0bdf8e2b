/**
 * Kubernetes resource quantities (`500m`, `1.5Gi`, `1e3`): the one parser of the code base. Core's
 * status (QoS) and config (`resourceFieldRef`) rules need exact arithmetic, as `resource.Quantity`
 * has, so the parser yields an exact rational; providers want plain numbers, so
 * {@link parseQuantity} converts. The grammar is apimachinery's `ParseQuantity`: an optional sign,
 * digits with an optional fraction, then one suffix — binary `Ki`…`Ei`, decimal `n u m k M G T P E`,
 * or a decimal exponent `e<n>`/`E<n>`.
 */
import { InvalidInputError } from "../errors.js";

/** A quantity as an exact rational `num / den` (`den` > 0), so `0.1`, `100m` and `1Gi` compare exactly. */
export interface ExactQuantity {
  num: bigint;
  /** Always positive. */
  den: bigint;
}

// One pattern for the whole grammar; the exponent suffix is tried before `E` (exa), so `1E3` is 1000.
const QUANTITY = /^([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:([KMGTPE]i)|[eE]([+-]?\d{1,4})|([numkMGTPE]))?$/;
const BINARY_POWER: Readonly<Record<string, bigint>> = {
  Ki: 10n,
  Mi: 20n,
  Gi: 30n,
  Ti: 40n,
  Pi: 50n,
  Ei: 60n,
};
const DECIMAL_POWER: Readonly<Record<string, number>> = {
  n: -9,
  u: -6,
  m: -3,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

/**
 * Parses a Kubernetes quantity exactly; `undefined` when it is not one. Surrounding whitespace is
 * ignored; exponents are limited to four digits (larger ones are no resource anyone requests).
 */
export function parseExactQuantity(text: string): ExactQuantity | undefined {
  const match = QUANTITY.exec(text.trim());
  if (match === null) return undefined;
  const [, sign, whole, fraction, bareFraction, binary, exponent, decimal] = match;
  const fractionDigits = fraction ?? bareFraction ?? "";
  const digits = (whole ?? "") + fractionDigits;
  let num = BigInt(digits === "" ? "0" : digits);
  let den = 10n ** BigInt(fractionDigits.length);
  if (binary !== undefined) num *= 2n ** (BINARY_POWER[binary] ?? 0n);
  const power =
    decimal !== undefined ? (DECIMAL_POWER[decimal] ?? 0) : exponent !== undefined ? Number(exponent) : 0;
  if (power >= 0) num *= 10n ** BigInt(power);
  else den *= 10n ** BigInt(-power);
  return { num: sign === "-" ? -num : num, den };
}

/** The sum of two exact quantities. */
export function addExactQuantities(a: ExactQuantity, b: ExactQuantity): ExactQuantity {
  return { num: a.num * b.den + b.num * a.den, den: a.den * b.den };
}

/** -1, 0 or 1 as `a` is less than, equal to or greater than `b`. */
export function compareExactQuantities(a: ExactQuantity, b: ExactQuantity): number {
  const diff = a.num * b.den - b.num * a.den;
  return diff === 0n ? 0 : diff > 0n ? 1 : -1;
}

/** `Quantity.Value()`: the quantity rounded up to an integer. */
export function exactQuantityValue(q: ExactQuantity): bigint {
  return ceilDiv(q.num, q.den);
}

/** `Quantity.MilliValue()`: the quantity in thousandths, rounded up. */
export function exactQuantityMilliValue(q: ExactQuantity): bigint {
  return ceilDiv(q.num * 1000n, q.den);
}

function ceilDiv(num: bigint, den: bigint): bigint {
  const quotient = num / den; // truncates toward zero: already the ceiling for negatives
  return num % den !== 0n && num > 0n ? quotient + 1n : quotient;
}

/**
 * A Kubernetes quantity as a number: `"500m"` → 0.5, `"1Gi"` → 1073741824, `"1e3"` → 1000. A number
 * is returned as it is. CPU comes out in cores and memory in bytes because that is what the
 * quantity means; precision is that of a double (exact for every realistic cpu and memory size).
 *
 * @throws InvalidInputError when `value` is not a quantity or not a finite number.
 */
export function parseQuantity(value: string | number): number {
  if (typeof value === "number") {
    if (Number.isFinite(value)) return value;
    throw new InvalidInputError(`invalid quantity ${String(value)}: not a finite number`);
  }
  const exact = parseExactQuantity(value);
  if (exact === undefined) {
    throw new InvalidInputError(
      `invalid quantity ${JSON.stringify(value)}: expected a number with an optional suffix ` +
        "(n, u, m, k, M, G, T, P, E, Ki…Ei or an exponent such as e3)",
    );
  }
  const result = exactToNumber(exact);
  if (!Number.isFinite(result)) {
    throw new InvalidInputError(`invalid quantity ${JSON.stringify(value)}: out of range`);
  }
  return result;
}

/** Division done on bigints first, so `123456789n` stays exact and only the last step rounds. */
function exactToNumber(q: ExactQuantity): number {
  const whole = q.num / q.den;
  const rest = q.num % q.den;
  return Number(whole) + Number(rest) / Number(q.den);
}

/** How {@link formatQuantity} writes a value: cpu (cores), bytes, or plain decimal SI. */
export type QuantityUnit = "cpu" | "bytes";

/**
 * A number as the canonical Kubernetes quantity the API server would store:
 * - `"cpu"`: whole cores as an integer (`"2"`), otherwise millicores rounded up (`0.25` → `"250m"`);
 * - `"bytes"`: an integer number of bytes (rounded up) with the largest binary suffix that divides
 *   it (`1610612736` → `"1536Mi"`), or plain digits;
 * - none: decimal SI with the largest exact suffix (`1500` → `"1500"`, `2000` → `"2k"`, `0.5` →
 *   `"500m"`), rounded up to nano units.
 *
 * Float noise below one part in 10⁹ is ignored when rounding up (`0.1 + 0.2` → `"300m"`).
 *
 * @throws InvalidInputError when `value` is not finite.
 */
export function formatQuantity(value: number, unit?: QuantityUnit): string {
  if (!Number.isFinite(value)) throw new InvalidInputError(`cannot format ${String(value)} as a quantity`);
  const sign = value < 0 ? "-" : "";
  const magnitude = Math.abs(value);
  if (unit === "cpu") {
    const millis = ceilTolerant(magnitude * 1000);
    if (millis === 0n) return "0";
    return sign + (millis % 1000n === 0n ? String(millis / 1000n) : `${String(millis)}m`);
  }
  if (unit === "bytes") {
    const bytes = ceilTolerant(magnitude);
    if (bytes === 0n) return "0";
    for (const suffix of ["Ei", "Pi", "Ti", "Gi", "Mi", "Ki"] as const) {
      const size = 2n ** (BINARY_POWER[suffix] ?? 0n);
      if (bytes % size === 0n) return `${sign}${String(bytes / size)}${suffix}`;
    }
    return sign + String(bytes);
  }
  const nanos = ceilTolerant(magnitude * 1e9);
  if (nanos === 0n) return "0";
  // Largest power of 1000 that divides the nano value exactly.
  const suffixes = ["n", "u", "m", "", "k", "M", "G", "T", "P", "E"] as const;
  let scaled = nanos;
  let index = 0;
  while (index < suffixes.length - 1 && scaled % 1000n === 0n) {
    scaled /= 1000n;
    index += 1;
  }
  return `${sign}${String(scaled)}${suffixes[index] ?? ""}`;
}

/** Rounds up, but treats a value within 10⁻⁹ (relative) of an integer as that integer. */
function ceilTolerant(x: number): bigint {
  const nearest = Math.round(x);
  if (Math.abs(x - nearest) <= 1e-9 * Math.max(1, Math.abs(x))) return BigInt(nearest);
  return BigInt(Math.ceil(x));
}
