/**
 * Sizes in config: PostgreSQL's for the WAL budget (`64MB`, `10GB`, `1TB`, or `-1` for none), and
 * Kubernetes quantities for volumes (`1Gi`, `500M`). Pure.
 */

/** `64MB` → 64, `10GB` → 10240, `-1` → -1 (no budget); undefined when it is neither. */
export function walBudgetMB(text: string): number | undefined {
  if (text.trim() === '-1') return -1;
  const match = /^(\d+)\s*(MB|GB|TB)$/.exec(text.trim());
  if (match === null) return undefined;
  const factor = { MB: 1, GB: 1024, TB: 1024 * 1024 }[match[2] as 'MB' | 'GB' | 'TB'];
  const mb = Number(match[1]) * factor;
  return mb > 0 && mb <= 2 ** 31 - 1 ? mb : undefined;
}

/** The budget as PostgreSQL's `max_slot_wal_keep_size` setting: `256MB`, or `-1`. */
export function walBudgetSetting(mb: number): string {
  return mb < 0 ? '-1' : `${mb}MB`;
}

const QUANTITY_FACTORS: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The bytes a Kubernetes quantity (`1Gi`, `500M`, `1.5Gi`) stands for. */
export function quantityBytes(quantity: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.exec(quantity);
  if (match === null) throw new Error(`not a Kubernetes quantity: ${quantity}`);
  return Number(match[1]) * (QUANTITY_FACTORS[match[2] ?? ''] ?? 1);
}

/** A PostgreSQL interval setting such as `2d`, `36h`, `90min`; `0` (or empty) turns it off. */
export const INTERVAL = /^(0|[1-9][0-9]*\s*(min|h|d))$/;
